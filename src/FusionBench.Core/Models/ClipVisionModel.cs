using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FusionBench.Core.Models;

/// <summary>
/// A CLIP-style vision transformer with a functional forward, under Hugging Face <c>CLIPVisionModel</c>'s parameter
/// names (<c>vision_model.embeddings.patch_embedding.weight</c>, <c>vision_model.encoder.layers.0.self_attn.q_proj.weight</c>,
/// <c>vision_model.pre_layrnorm</c> with CLIP's spelling, …), so real checkpoints of that shape load by name.
/// </summary>
/// <remarks>
/// Patch embedding (convolution without bias), class token, learned position embeddings, pre-LayerNorm, encoder
/// layers (LayerNorm → multi-head self-attention → residual, LayerNorm → MLP with quick-GELU → residual), and the
/// post-LayerNorm of the class token as the pooled output (<c>pooler_output</c>).
/// </remarks>
public sealed class ClipVisionModel : ILinearInputModel, ILayerMlpModel
{
    /// <summary>The prefix of every parameter name, as in <c>CLIPVisionModel.state_dict()</c>.</summary>
    public const string Prefix = "vision_model.";

    private readonly Dictionary<string, TensorInfo> _parameters;

    /// <summary>Creates the architecture for a configuration.</summary>
    public ClipVisionModel(ClipVisionConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        _parameters = BuildParameterTable(config);
    }

    /// <summary>The configuration.</summary>
    public ClipVisionConfig Config { get; }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, TensorInfo> Parameters => _parameters;

    /// <summary>The name of encoder layer <paramref name="index"/>'s parameters start with.</summary>
    public static string LayerPrefix(int index) => $"{Prefix}encoder.layers.{index}.";

    string ILayerMlpModel.LayerPrefix(int index) => LayerPrefix(index);

    /// <inheritdoc />
    public int CountLayers(IReadOnlyDictionary<string, Tensor> weights)
    {
        int n = 0;
        while (weights.ContainsKey(LayerPrefix(n) + "layer_norm1.weight")) n++;
        return n;
    }

    /// <inheritdoc />
    public IReadOnlyList<string> MlpTensorNames { get; } = new[] { "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias" };

    private static Dictionary<string, TensorInfo> BuildParameterTable(ClipVisionConfig c)
    {
        var f = ScalarType.Float32;
        long d = c.HiddenSize, m = c.IntermediateSize;
        var t = new Dictionary<string, TensorInfo>(StringComparer.Ordinal)
        {
            [$"{Prefix}embeddings.class_embedding"] = new(f, new[] { d }),
            [$"{Prefix}embeddings.patch_embedding.weight"] = new(f, new[] { d, c.NumChannels, c.PatchSize, c.PatchSize }),
            [$"{Prefix}embeddings.position_embedding.weight"] = new(f, new[] { (long)c.NumPositions, d }),
            [$"{Prefix}embeddings.position_ids"] = new(ScalarType.Int64, new[] { 1L, c.NumPositions }),
            [$"{Prefix}pre_layrnorm.weight"] = new(f, new[] { d }),
            [$"{Prefix}pre_layrnorm.bias"] = new(f, new[] { d }),
        };
        for (int i = 0; i < c.NumHiddenLayers; i++)
        {
            string p = LayerPrefix(i);
            foreach (var proj in new[] { "k_proj", "v_proj", "q_proj", "out_proj" })
            {
                t[$"{p}self_attn.{proj}.weight"] = new(f, new[] { d, d });
                t[$"{p}self_attn.{proj}.bias"] = new(f, new[] { d });
            }
            t[$"{p}layer_norm1.weight"] = new(f, new[] { d });
            t[$"{p}layer_norm1.bias"] = new(f, new[] { d });
            t[$"{p}mlp.fc1.weight"] = new(f, new[] { m, d });
            t[$"{p}mlp.fc1.bias"] = new(f, new[] { m });
            t[$"{p}mlp.fc2.weight"] = new(f, new[] { d, m });
            t[$"{p}mlp.fc2.bias"] = new(f, new[] { d });
            t[$"{p}layer_norm2.weight"] = new(f, new[] { d });
            t[$"{p}layer_norm2.bias"] = new(f, new[] { d });
        }
        t[$"{Prefix}post_layernorm.weight"] = new(f, new[] { d });
        t[$"{Prefix}post_layernorm.bias"] = new(f, new[] { d });
        return t;
    }

    /// <summary>
    /// Fresh weights initialised as Hugging Face initialises CLIP (normal with CLIP's per-tensor standard deviations,
    /// LayerNorms at identity, biases zero), drawn from <paramref name="generator"/>.
    /// </summary>
    public StateDict InitializeWeights(Generator generator)
    {
        var c = Config;
        double d = c.HiddenSize;
        double inProjStd = Math.Pow(d, -0.5) * Math.Pow(2 * c.NumHiddenLayers, -0.5);
        double outProjStd = Math.Pow(d, -0.5);
        double fcStd = Math.Pow(2 * d, -0.5);
        var weights = new StateDict("clip_vision_init");
        foreach (var (name, info) in _parameters)
        {
            Tensor t;
            if (name.EndsWith("position_ids", StringComparison.Ordinal)) t = arange(c.NumPositions, dtype: ScalarType.Int64).unsqueeze(0);
            else if (name.EndsWith(".bias", StringComparison.Ordinal)) t = zeros(info.Shape);
            else if (name.Contains("layer_norm", StringComparison.Ordinal) || name.Contains("layrnorm", StringComparison.Ordinal) || name.Contains("post_layernorm", StringComparison.Ordinal))
                t = ones(info.Shape);
            else
            {
                double std = name switch
                {
                    _ when name.EndsWith("class_embedding", StringComparison.Ordinal) => Math.Pow(d, -0.5),
                    _ when name.Contains("patch_embedding", StringComparison.Ordinal) => 0.02,
                    _ when name.Contains("position_embedding", StringComparison.Ordinal) => 0.02,
                    _ when name.Contains("out_proj", StringComparison.Ordinal) => outProjStd,
                    _ when name.Contains("fc1", StringComparison.Ordinal) => fcStd,
                    _ => inProjStd, // q, k, v projections and fc2
                };
                t = randn(info.Shape, generator: generator).mul_(std);
            }
            weights.Add(name, t);
        }
        return weights;
    }

    /// <summary>The pooled output (post-LayerNorm of the class token), [N, hidden_size].</summary>
    /// <param name="weights">The weights by name.</param>
    /// <param name="input">Pixel values [N, num_channels, image_size, image_size].</param>
    public Tensor Forward(IReadOnlyDictionary<string, Tensor> weights, Tensor input) => Forward(weights, input, (Action<string, Tensor>?)null);

    /// <summary>The pooled output, calling <paramref name="observeLinearInput"/> with every linear layer's weight name and input.</summary>
    public Tensor Forward(IReadOnlyDictionary<string, Tensor> weights, Tensor input, Action<string, Tensor>? observeLinearInput)
    {
        _observer = observeLinearInput;
        try
        {
            return ForwardCore(weights, input);
        }
        finally
        {
            _observer = null;
        }
    }

    [ThreadStatic]
    private static Action<string, Tensor>? _observer;

    private Tensor ForwardCore(IReadOnlyDictionary<string, Tensor> weights, Tensor input)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(input);
        var c = Config;
        using var scope = NewDisposeScope();
        var hidden = Embed(weights, input);
        // Variable depth: run every encoder layer the weights hold (depth upscaling changes the count).
        for (int i = 0; weights.ContainsKey(LayerPrefix(i) + "layer_norm1.weight"); i++)
        {
            // A scope per layer frees the layer's intermediates now rather than at the end of the forward;
            // autograd keeps its own references to what backward needs.
            using var layerScope = NewDisposeScope();
            hidden = EncoderLayer(weights, i, hidden).MoveToOuterDisposeScope();
        }
        var cls = hidden.select(1, 0);
        var pooled = F.layer_norm(cls, new long[] { c.HiddenSize }, W(weights, $"{Prefix}post_layernorm.weight"), W(weights, $"{Prefix}post_layernorm.bias"), c.LayerNormEps);
        return pooled.MoveToOuterDisposeScope();
    }

    private Tensor Embed(IReadOnlyDictionary<string, Tensor> w, Tensor x)
    {
        var c = Config;
        long n = x.shape[0];
        if (x.dim() != 4 || x.shape[1] != c.NumChannels || x.shape[2] != c.ImageSize || x.shape[3] != c.ImageSize)
            throw new ArgumentException($"Expected pixel values [N, {c.NumChannels}, {c.ImageSize}, {c.ImageSize}], got [{string.Join(", ", x.shape)}].", nameof(x));
        var patches = F.conv2d(x, W(w, $"{Prefix}embeddings.patch_embedding.weight"), null, strides: new long[] { c.PatchSize, c.PatchSize })
            .flatten(2).transpose(1, 2);                                       // [N, g², D]
        var cls = W(w, $"{Prefix}embeddings.class_embedding").view(1, 1, -1).expand(n, 1, c.HiddenSize);
        var tokens = cat(new[] { cls, patches }, 1);
        var positions = W(w, $"{Prefix}embeddings.position_embedding.weight");  // rows in position_ids order 0..T-1
        var h = tokens + positions.unsqueeze(0);
        return F.layer_norm(h, new long[] { c.HiddenSize }, W(w, $"{Prefix}pre_layrnorm.weight"), W(w, $"{Prefix}pre_layrnorm.bias"), c.LayerNormEps);
    }

    private Tensor EncoderLayer(IReadOnlyDictionary<string, Tensor> w, int index, Tensor h)
    {
        var c = Config;
        string p = LayerPrefix(index);
        long[] norm = { c.HiddenSize };
        var x = F.layer_norm(h, norm, W(w, p + "layer_norm1.weight"), W(w, p + "layer_norm1.bias"), c.LayerNormEps);
        h = h + Attention(w, p + "self_attn.", x);
        x = F.layer_norm(h, norm, W(w, p + "layer_norm2.weight"), W(w, p + "layer_norm2.bias"), c.LayerNormEps);
        if (_mlpOverride?.Invoke(index, x) is IReadOnlyDictionary<string, Tensor> mlp)
            return h + Mlp(mlp, "mlp.", x);                                      // input-conditioned MLP (WEMoE)
        if (w.ContainsKey(p + "mlp.gate.weight"))
            return h + MixtureRouting.Mix(w, p + "mlp.", x, e => Mlp(w, $"{p}mlp.experts.{e}.", x));
        return h + Mlp(w, p + "mlp.", x);
    }

    private static Tensor Mlp(IReadOnlyDictionary<string, Tensor> w, string p, Tensor x)
    {
        x = Linear(w, p + "fc1", x);
        x = x * sigmoid(x * 1.702);                                              // CLIP's quick_gelu
        return Linear(w, p + "fc2", x);
    }

    [ThreadStatic]
    private static Func<int, Tensor, IReadOnlyDictionary<string, Tensor>?>? _mlpOverride;

    /// <summary>
    /// Runs the forward with each encoder layer's MLP weights chosen from that layer's input
    /// (<paramref name="mlpWeights"/> returns <c>fc1.weight</c>, <c>fc1.bias</c>, <c>fc2.weight</c>, <c>fc2.bias</c> for a
    /// layer index and its normalised hidden states, or null to use the weights' own MLP).
    /// </summary>
    public Tensor Forward(IReadOnlyDictionary<string, Tensor> weights, Tensor input, Func<int, Tensor, IReadOnlyDictionary<string, Tensor>?> mlpWeights)
    {
        _mlpOverride = mlpWeights;
        try
        {
            return ForwardCore(weights, input);
        }
        finally
        {
            _mlpOverride = null;
        }
    }

    private Tensor Attention(IReadOnlyDictionary<string, Tensor> w, string p, Tensor x)
    {
        var c = Config;
        long n = x.shape[0], t = x.shape[1];
        long heads = c.NumAttentionHeads, headDim = c.HiddenSize / c.NumAttentionHeads;
        Tensor Heads(Tensor y) => y.view(n, t, heads, headDim).transpose(1, 2);   // [N, H, T, hd]
        var q = Heads(Linear(w, p + "q_proj", x) * Math.Pow(headDim, -0.5));
        var k = Heads(Linear(w, p + "k_proj", x));
        var v = Heads(Linear(w, p + "v_proj", x));
        var attn = F.softmax(q.matmul(k.transpose(-1, -2)), -1);
        var o = attn.matmul(v).transpose(1, 2).reshape(n, t, c.HiddenSize);
        return Linear(w, p + "out_proj", o);
    }

    private static Tensor Linear(IReadOnlyDictionary<string, Tensor> w, string module, Tensor x)
    {
        _observer?.Invoke(module + ".weight", x);
        return F.linear(x, W(w, module + ".weight"), W(w, module + ".bias"));
    }

    private static Tensor W(IReadOnlyDictionary<string, Tensor> w, string name) =>
        w.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"The weights have no tensor '{name}' (ClipVisionModel needs every name in Parameters).");
}

using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FusionBench.Core.Models;

/// <summary>
/// A BERT encoder under Hugging Face <c>BertModel</c>'s parameter names (<c>embeddings.*</c>,
/// <c>encoder.layer.N.*</c>, <c>pooler.*</c>) with a functional forward: input ids [B, T] (int64, padded with
/// <see cref="BertConfig.PadTokenId"/>, which is masked out) to the mean of the last hidden states over the real tokens,
/// as sentence-transformers pools all-MiniLM-L6-v2. Token types are all 0. It runs every layer the weights hold
/// (depth upscaling changes the count), reports each linear layer's input (RegMean), runs the mixture-of-experts layout of the MoE methods and takes per-layer feed-forward
/// weights chosen from the layer's input (WEMoE: <see cref="MlpTensorNames"/>).
/// </summary>
public sealed class BertModel : ILinearInputModel, ILayerMlpModel
{
    private readonly Dictionary<string, TensorInfo> _parameters;

    /// <summary>Creates the architecture for a configuration.</summary>
    public BertModel(BertConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        _parameters = BuildParameterTable(config);
    }

    /// <summary>The configuration.</summary>
    public BertConfig Config { get; }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, TensorInfo> Parameters => _parameters;

    /// <summary>The name prefix of encoder layer <paramref name="index"/>.</summary>
    public static string LayerPrefix(int index) => $"encoder.layer.{index}.";

    string ILayerMlpModel.LayerPrefix(int index) => LayerPrefix(index);

    /// <inheritdoc />
    public int CountLayers(IReadOnlyDictionary<string, Tensor> weights)
    {
        int n = 0;
        while (weights.ContainsKey(LayerPrefix(n) + "attention.self.query.weight")) n++;
        return n;
    }

    /// <summary>The feed-forward block of a layer (BERT's "MLP"): the intermediate and output dense layers.</summary>
    public IReadOnlyList<string> MlpTensorNames { get; } = new[] { "intermediate.dense.weight", "intermediate.dense.bias", "output.dense.weight", "output.dense.bias" };

    /// <inheritdoc />
    public Tensor Forward(IReadOnlyDictionary<string, Tensor> weights, Tensor input, Func<int, Tensor, IReadOnlyDictionary<string, Tensor>?> mlpWeights)
    {
        ArgumentNullException.ThrowIfNull(mlpWeights);
        using var scope = NewDisposeScope();
        var hidden = LastHiddenState(weights, input, null, mlpWeights);
        return Pool(weights, hidden, input, null).MoveToOuterDisposeScope();
    }

    private static readonly string[] Linear = { "attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense", "intermediate.dense", "output.dense" };

    private static Dictionary<string, TensorInfo> BuildParameterTable(BertConfig c)
    {
        var f = ScalarType.Float32;
        long d = c.HiddenSize, m = c.IntermediateSize;
        var t = new Dictionary<string, TensorInfo>(StringComparer.Ordinal)
        {
            ["embeddings.word_embeddings.weight"] = new(f, new[] { (long)c.VocabSize, d }),
            ["embeddings.position_embeddings.weight"] = new(f, new[] { (long)c.MaxPositionEmbeddings, d }),
            ["embeddings.token_type_embeddings.weight"] = new(f, new[] { (long)c.TypeVocabSize, d }),
            ["embeddings.LayerNorm.weight"] = new(f, new[] { d }),
            ["embeddings.LayerNorm.bias"] = new(f, new[] { d }),
        };
        for (int i = 0; i < c.NumHiddenLayers; i++)
        {
            string p = LayerPrefix(i);
            foreach (var l in Linear)
            {
                long outDim = l == "intermediate.dense" ? m : d, inDim = l == "output.dense" ? m : d;
                t[$"{p}{l}.weight"] = new(f, new[] { outDim, inDim });
                t[$"{p}{l}.bias"] = new(f, new[] { outDim });
            }
            foreach (var n in new[] { "attention.output.LayerNorm", "output.LayerNorm" })
            {
                t[$"{p}{n}.weight"] = new(f, new[] { d });
                t[$"{p}{n}.bias"] = new(f, new[] { d });
            }
        }
        t["pooler.dense.weight"] = new(f, new[] { d, d });
        t["pooler.dense.bias"] = new(f, new[] { d });
        return t;
    }

    /// <inheritdoc />
    public Tensor Forward(IReadOnlyDictionary<string, Tensor> weights, Tensor input) => Forward(weights, input, (Action<string, Tensor>?)null);

    /// <inheritdoc />
    public Tensor Forward(IReadOnlyDictionary<string, Tensor> weights, Tensor input, Action<string, Tensor>? observeLinearInput)
    {
        using var scope = NewDisposeScope();
        var hidden = LastHiddenState(weights, input, observeLinearInput);
        return Pool(weights, hidden, input, observeLinearInput).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// sentence-transformers' mean pooling (the average of the hidden states of the real, unpadded tokens), or BERT's
    /// pooler on the first token (<see cref="BertPooling.Pooler"/>), whose dense layer RegMean sees too.
    /// </summary>
    private Tensor Pool(IReadOnlyDictionary<string, Tensor> w, Tensor hidden, Tensor inputIds, Action<string, Tensor>? observe)
    {
        if (Config.Pooling == BertPooling.Pooler) return Lin(w, "pooler.dense", hidden.select(1, 0), observe).tanh();
        var m = inputIds.ne(Config.PadTokenId).unsqueeze(-1).to(hidden.dtype);
        return (hidden * m).sum(1) / m.sum(1).clamp_min(1e-9);
    }

    /// <summary>The last hidden states [B, T, D] for input ids [B, T] (pad positions masked out of attention).</summary>
    public Tensor LastHiddenState(IReadOnlyDictionary<string, Tensor> w, Tensor inputIds, Action<string, Tensor>? observeLinearInput = null) =>
        LastHiddenState(w, inputIds, observeLinearInput, null);

    private Tensor LastHiddenState(IReadOnlyDictionary<string, Tensor> w, Tensor inputIds, Action<string, Tensor>? observeLinearInput,
        Func<int, Tensor, IReadOnlyDictionary<string, Tensor>?>? mlpWeights)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(inputIds);
        if (inputIds.dim() != 2 || inputIds.dtype != ScalarType.Int64)
            throw new ArgumentException($"Expected int64 input ids [B, T], got {inputIds.dtype} [{string.Join(", ", inputIds.shape)}].", nameof(inputIds));
        var c = Config;
        long t = inputIds.shape[1];
        if (t > c.MaxPositionEmbeddings)
            throw new ArgumentException($"Sequences of {t} tokens exceed max_position_embeddings {c.MaxPositionEmbeddings}.", nameof(inputIds));
        using var scope = NewDisposeScope();
        long[] norm = { c.HiddenSize };
        var h = W(w, "embeddings.word_embeddings.weight").index_select(0, inputIds.flatten()).view(inputIds.shape[0], t, c.HiddenSize)
              + W(w, "embeddings.position_embeddings.weight").narrow(0, 0, t).unsqueeze(0)
              + W(w, "embeddings.token_type_embeddings.weight")[0];
        h = F.layer_norm(h, norm, W(w, "embeddings.LayerNorm.weight"), W(w, "embeddings.LayerNorm.bias"), c.LayerNormEps);
        // Additive attention mask: 0 for tokens, a large negative number for padding (as BERT's extended mask).
        var additive = inputIds.eq(c.PadTokenId).to(h.dtype).mul(-1e9).view(inputIds.shape[0], 1, 1, t);
        for (int i = 0; w.ContainsKey(LayerPrefix(i) + "attention.self.query.weight"); i++)
        {
            using var layerScope = NewDisposeScope();
            h = Layer(w, i, h, additive, observeLinearInput, mlpWeights).MoveToOuterDisposeScope();
        }
        return h.MoveToOuterDisposeScope();
    }

    private Tensor Layer(IReadOnlyDictionary<string, Tensor> w, int index, Tensor h, Tensor additive, Action<string, Tensor>? observe,
        Func<int, Tensor, IReadOnlyDictionary<string, Tensor>?>? mlpWeights)
    {
        var c = Config;
        string p = LayerPrefix(index);
        long[] norm = { c.HiddenSize };
        long b = h.shape[0], t = h.shape[1], heads = c.NumAttentionHeads, dh = c.HiddenSize / heads;
        Tensor Heads(Tensor x) => x.view(b, t, heads, dh).transpose(1, 2);
        var q = Heads(Lin(w, p + "attention.self.query", h, observe));
        var k = Heads(Lin(w, p + "attention.self.key", h, observe));
        var v = Heads(Lin(w, p + "attention.self.value", h, observe));
        var scores = q.matmul(k.transpose(-1, -2)).div(Math.Sqrt(dh)) + additive;
        var context = F.softmax(scores, -1).matmul(v).transpose(1, 2).reshape(b, t, c.HiddenSize);
        var attn = Lin(w, p + "attention.output.dense", context, observe);
        h = F.layer_norm(attn + h, norm, W(w, p + "attention.output.LayerNorm.weight"), W(w, p + "attention.output.LayerNorm.bias"), c.LayerNormEps);
        // The feed-forward weights: the layer's own, or ones chosen from its input (WEMoE), named as MlpTensorNames.
        // A mixture of experts (moe_upscaling / moe_merging) routes each token to its top experts' feed-forward blocks.
        Tensor output;
        if (mlpWeights?.Invoke(index, h) is IReadOnlyDictionary<string, Tensor> chosen) output = FeedForward(chosen, "", h, observe);
        else if (w.ContainsKey(p + "mlp.gate.weight")) output = MixtureRouting.Mix(w, p + "mlp.", h, e => FeedForward(w, $"{p}mlp.experts.{e}.", h, null));
        else output = FeedForward(w, p, h, observe);
        return F.layer_norm(output + h, norm, W(w, p + "output.LayerNorm.weight"), W(w, p + "output.LayerNorm.bias"), c.LayerNormEps);
    }

    private static Tensor FeedForward(IReadOnlyDictionary<string, Tensor> w, string p, Tensor h, Action<string, Tensor>? observe) =>
        Lin(w, p + "output.dense", F.gelu(Lin(w, p + "intermediate.dense", h, observe)), observe); // BERT's exact (erf) GELU

    private static Tensor Lin(IReadOnlyDictionary<string, Tensor> w, string name, Tensor x, Action<string, Tensor>? observe)
    {
        observe?.Invoke(name + ".weight", x);
        return F.linear(x, W(w, name + ".weight"), W(w, name + ".bias"));
    }

    private static Tensor W(IReadOnlyDictionary<string, Tensor> w, string name) =>
        w.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"BERT weights have no tensor '{name}'.");
}

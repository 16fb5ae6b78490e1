using FusionBench.Core.Models;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FusionBench.Core.Algorithms.Mixing.WeightEnsemblingMoe;

/// <summary>
/// The WEMoE model: non-MLP weights merged by task arithmetic; each layer's MLP weights are W₀ + Σᵢ rᵢ(h) τᵢ with
/// routing weights r(h) from a small router on that layer's input, averaged over tokens (and over the batch when
/// batch-reduced), not softmax-normalised.
/// </summary>
internal sealed class WeightEnsemblingMoeModel : IFusedModel
{
    private readonly ILayerMlpModel _architecture;
    private readonly StateDict _base;
    private readonly List<Dictionary<string, Tensor>> _pretrainedMlp = new();   // per layer: name → W₀
    private readonly List<Dictionary<string, Tensor>> _taskVectors = new();     // per layer: name → [N, ...]
    private readonly bool _batchReduce;

    public WeightEnsemblingMoeModel(ILayerMlpModel architecture, StateDict mergedBase, IReadOnlyDictionary<string, Tensor> pretrained,
        IReadOnlyList<IReadOnlyDictionary<string, Tensor>> models, WeightEnsemblingMoeOptions options, Generator generator)
    {
        _architecture = architecture;
        _base = mergedBase;
        _batchReduce = options.BatchReduce;
        int layers = architecture.CountLayers(pretrained);
        long width = -1;
        for (int l = 0; l < layers; l++)
        {
            string p = architecture.LayerPrefix(l);
            var w0 = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            var tv = new Dictionary<string, Tensor>(StringComparer.Ordinal);
            foreach (var name in architecture.MlpTensorNames)
            {
                var pre = pretrained[p + name].to(ScalarType.Float32).detach().clone();
                w0[name] = pre;
                tv[name] = stack(models.Select(m => m[p + name].to(ScalarType.Float32) - pre)).detach();
                if (name.EndsWith(".weight", StringComparison.Ordinal) && width < 0) width = pre.shape[1];
            }
            _pretrainedMlp.Add(w0);
            _taskVectors.Add(tv);
        }
        Routers = new StateDict("routers");
        int n = models.Count;
        for (int l = 0; l < layers; l++)
        {
            string r = $"layers.{l}.router.";
            switch (options.RouterHiddenLayers)
            {
                case 0:
                    Add(r + "constant", full(n, options.InitLambda, dtype: ScalarType.Float32));
                    break;
                case 1:
                    Add(r + "fc.weight", randn(new[] { (long)n, width }, generator: generator).mul_(0.01));
                    Add(r + "fc.bias", full(n, options.InitLambda, dtype: ScalarType.Float32));
                    break;
                default:
                    Add(r + "fc1.weight", randn(new[] { width, width }, generator: generator).mul_(0.01));
                    Add(r + "fc1.bias", zeros(width));
                    Add(r + "fc2.weight", randn(new[] { (long)n, width }, generator: generator).mul_(0.01));
                    Add(r + "fc2.bias", full(n, options.InitLambda, dtype: ScalarType.Float32));
                    break;
            }
        }
        Layers = layers;

        // Routers are Parameters from the start, so an optimizer can train them in place.
        void Add(string name, Tensor value) => Routers.Add(name, new TorchSharp.Modules.Parameter(value, requires_grad: false));
    }

    /// <summary>The routers as trainable parameters.</summary>
    public IReadOnlyList<TorchSharp.Modules.Parameter> RouterParameters => Routers.Values.Cast<TorchSharp.Modules.Parameter>().ToList();

    /// <summary>The router parameters (trained in place), by name.</summary>
    public StateDict Routers { get; }

    public int Layers { get; }

    private Tensor Route(int l, Tensor h) => WeightEnsemblingMoeKernel.Route(Routers, $"layers.{l}.router.", h);

    private IReadOnlyDictionary<string, Tensor> MlpWeights(int l, Tensor routing) =>
        WeightEnsemblingMoeKernel.MergeMlp(_pretrainedMlp[l], _taskVectors[l], routing);

    public Tensor Forward(Tensor input)
    {
        if (!_batchReduce && input.shape[0] > 1)
        {
            // Per-sample routing: each sample gets its own merged MLPs, so run the samples one by one.
            var outputs = new List<Tensor>();
            for (long i = 0; i < input.shape[0]; i++) outputs.Add(ForwardBatch(input.narrow(0, i, 1)));
            return cat(outputs, 0);
        }
        return ForwardBatch(input);
    }

    private Tensor ForwardBatch(Tensor input) =>
        _architecture.Forward(_base, input, (l, h) => l < Layers ? MlpWeights(l, Route(l, h).mean(new long[] { 0 })) : null);

    public void Dispose()
    {
        _base.Dispose();
        Routers.Dispose();
        foreach (var d in _pretrainedMlp.Concat(_taskVectors))
            foreach (var t in d.Values) t.Dispose();
    }
}

/// <summary>WEMoE's router and its weight ensembling, as FusionBench's <c>WeightEnsemblingMoE</c> computes them.</summary>
internal static class WeightEnsemblingMoeKernel
{
    /// <summary>
    /// The routing weights for hidden states [B, T, D]: the router's raw outputs (no softmax) averaged over the tokens,
    /// [B, N]; a depth-0 router (<c>constant</c>) returns its vector for every sample.
    /// </summary>
    public static Tensor Route(IReadOnlyDictionary<string, Tensor> routers, string prefix, Tensor h)
    {
        if (routers.TryGetValue(prefix + "constant", out var c)) return c.unsqueeze(0).expand(h.shape[0], -1);
        Tensor logits = routers.ContainsKey(prefix + "fc.weight")
            ? F.linear(h, routers[prefix + "fc.weight"], routers[prefix + "fc.bias"])
            : F.linear(F.relu(F.linear(h, routers[prefix + "fc1.weight"], routers[prefix + "fc1.bias"])), routers[prefix + "fc2.weight"], routers[prefix + "fc2.bias"]);
        return logits.mean(new long[] { 1 });
    }

    /// <summary>W₀ + Σᵢ rᵢ τᵢ for every MLP tensor; <paramref name="routing"/> is [N], task vectors are [N, ...].</summary>
    public static IReadOnlyDictionary<string, Tensor> MergeMlp(IReadOnlyDictionary<string, Tensor> w0, IReadOnlyDictionary<string, Tensor> taskVectors, Tensor routing)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var (name, w) in w0)
        {
            var tv = taskVectors[name];
            var shape = new long[tv.dim()];
            shape[0] = tv.shape[0];
            for (int d = 1; d < shape.Length; d++) shape[d] = 1;
            result[name] = w + (tv * routing.view(shape)).sum(dim: 0);
        }
        return result;
    }
}

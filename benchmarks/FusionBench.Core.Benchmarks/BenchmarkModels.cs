using FusionBench.Core.ModelPools;
using static TorchSharp.torch;

namespace FusionBench.Core.Benchmarks;

/// <summary>Synthetic in-memory model pools of a given size, split into layer-sized tensors like a real checkpoint.</summary>
internal static class BenchmarkModels
{
    public static StateDict Random(long parameters, long tensorSize, int seed, StateDict? basedOn = null, float delta = 0.01f)
    {
        using var g = new Generator((ulong)seed);
        var d = new StateDict($"model{seed}");
        long done = 0;
        for (int i = 0; done < parameters; i++)
        {
            long n = Math.Min(tensorSize, parameters - done);
            using var scope = NewDisposeScope();
            var t = basedOn is null ? randn(new[] { n }, generator: g) : basedOn[$"layers.{i}.weight"] + randn(new[] { n }, generator: g) * delta;
            d.Add($"layers.{i}.weight", t);
            done += n;
        }
        return d;
    }

    public static (StateDict Pretrained, StateDict[] FineTuned, ModelPool Pool) Pool(int models, long parameters, long tensorSize)
    {
        var pre = Random(parameters, tensorSize, 0);
        var fts = Enumerable.Range(1, models).Select(i => Random(parameters, tensorSize, i, pre)).ToArray();
        var pool = new ModelPool(pre, fts.Select((f, i) => new KeyValuePair<string, IWeightSource>($"task{i}", f)), ownsSources: false);
        return (pre, fts, pool);
    }
}

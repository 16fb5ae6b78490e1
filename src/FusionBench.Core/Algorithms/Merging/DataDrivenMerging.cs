using static TorchSharp.torch;

namespace FusionBench.Core.Algorithms.Merging;

/// <summary>What the data-driven merges (Fisher, RegMean) share: the pool check and a seeded sample of training inputs.</summary>
internal static class DataDrivenMerging
{
    public static IDataModelPool RequireData(IModelPool pool, string method) =>
        PoolRequirements.Data(pool, method, "runs the models on training inputs");

    /// <summary>Up to <paramref name="count"/> training inputs of a task, drawn without replacement from a seeded permutation.</summary>
    public static Tensor SampleTrainInputs(IDataModelPool pool, string task, int count, long seed)
    {
        var inputs = pool.TrainInputs(task);
        using var g = new Generator((ulong)seed);
        using var order = randperm(inputs.shape[0], generator: g);
        using var idx = order.narrow(0, 0, Math.Min(count, inputs.shape[0]));
        return inputs.index_select(0, idx);
    }

    /// <summary>The models' state as trainable leaves (float tensors) plus plain buffers.</summary>
    public static Dictionary<string, Tensor> Leaves(IWeightSource source, out List<Tensor> floats)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        floats = new List<Tensor>();
        foreach (var name in source.TensorNames)
        {
            var t = source.Read(name);
            if (is_floating_point(t.dtype))
            {
                var leaf = t.to(ScalarType.Float32).detach().clone().requires_grad_(true);
                t.Dispose();
                floats.Add(leaf);
                result[name] = leaf;
            }
            else result[name] = t;
        }
        return result;
    }
}

using static TorchSharp.torch;

namespace FusionBench.Core.Algorithms.Merging;

/// <summary>What the data-driven merges (Fisher, RegMean) share: the pool check and a seeded sample of training inputs.</summary>
internal static class DataDrivenMerging
{
    public static IDataModelPool RequireData(IModelPool pool, string method) =>
        PoolRequirements.Data(pool, method, "runs the models on training inputs");

    /// <summary>
    /// The training batches FusionBench's Fisher and RegMean loops consume: a task's training inputs in dataset order, in
    /// batches of <paramref name="batchSize"/>, until at least <paramref name="count"/> inputs were used (so the last
    /// batch is whole even when <paramref name="count"/> is not a multiple of the batch size), or the data ends.
    /// Batches come from <see cref="IDataModelPool.TrainBatch"/>, so a streaming pool reads only what is used.
    /// </summary>
    public static IEnumerable<Tensor> TrainBatches(IDataModelPool pool, string task, int count, int batchSize)
    {
        long n = pool.TrainCount(task);
        for (long off = 0; off < n && off < count; off += batchSize)
            yield return pool.TrainBatch(task, off, Math.Min(batchSize, n - off));
    }

    /// <summary>
    /// Python's <c>re.match</c> for FusionBench's <c>exclude_param_names_regex</c>: each pattern anchored at the start of
    /// the name (not at its end).
    /// </summary>
    public static Func<string, bool> ExcludeMatcher(IReadOnlyList<string>? patterns)
    {
        var regexes = (patterns ?? Array.Empty<string>())
            .Select(p => new System.Text.RegularExpressions.Regex(@"\A(?:" + p + ")", System.Text.RegularExpressions.RegexOptions.CultureInvariant))
            .ToList();
        return name => regexes.Any(r => r.IsMatch(name));
    }

    /// <summary>
    /// The matcher of <c>exclude_param_names_regex</c> for a plan: excluded float tensors keep the pretrained model's
    /// values (FusionBench loads the merge into the pretrained model), so a pool without one is an error naming them.
    /// </summary>
    public static Func<string, bool> Exclusions(MergePlan plan, IReadOnlyList<string>? patterns, string method)
    {
        var excluded = ExcludeMatcher(patterns);
        var names = plan.TensorNames.Where(n => plan.IsFloat(n) && excluded(n)).ToList();
        if (names.Count > 0 && plan.Pretrained is null)
            throw new FusionParameterException(method, "exclude_param_names_regex",
                $"Excluded parameters keep the pretrained model's values, but the pool has no pretrained model (excluded: {string.Join(", ", names)}).");
        return excluded;
    }

    /// <summary>The models' state as trainable leaves (float tensors) plus plain buffers.</summary>
    public static Dictionary<string, Tensor> Leaves(IWeightSource source)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var name in source.TensorNames)
        {
            var t = source.Read(name);
            if (is_floating_point(t.dtype))
            {
                var leaf = t.to(ScalarType.Float32).detach().clone().requires_grad_(true);
                t.Dispose();
                result[name] = leaf;
            }
            else result[name] = t;
        }
        return result;
    }
}

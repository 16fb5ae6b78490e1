using Microsoft.Extensions.Logging;
using FusionBench.Core.TaskVectors;
using static TorchSharp.torch;

namespace FusionBench.Core.Algorithms.Merging.TaskSingularVector;

/// <summary>
/// <c>task_singular_vector</c> (TSV-M, Gargiulo et al., CVPR 2025, as FusionBench computes it): for every 2-D tensor, each
/// task vector keeps its top ⌊r/T⌋ singular directions; the stacked singular vectors are decorrelated (orthogonal polar
/// factors) and recombined with the stacked singular values; other tensors take the mean task vector; θ = θ₀ + α·merged.
/// With <c>return_single_task_models</c> the result also carries each task's own rank block (per-task parts).
/// Tensor by tensor: one tensor of every model in memory.
/// </summary>
public sealed class TaskSingularVectorAlgorithm(TaskSingularVectorOptions options, ILogger<TaskSingularVectorAlgorithm>? logger = null)
    : TaskSpecificFusionAlgorithm<TaskSingularVectorOptions>(options, logger)
{
    /// <inheritdoc />
    public override FusionAlgorithmInfo Info { get; } = new("task_singular_vector", "Task Singular Vectors (TSV-M)", FusionCategory.Merging,
        "https://arxiv.org/abs/2412.00081", "Low-rank task matrices per layer, decorrelated by their polar factors and summed.");

    /// <inheritdoc />
    protected override TaskSpecificWeights FuseCore(IModelPool modelPool, FusionContext context)
    {
        var plan = MergePlan.Create(modelPool, Info.Name, requirePretrained: true);
        int tasks = plan.Count;
        if (Options.Alpha.Count != 1 && Options.Alpha.Count != tasks)
            throw new FusionParameterException(Info.Name, "alpha", $"Parameter 'alpha' of '{Info.Name}' has {Options.Alpha.Count} values for {tasks} models; give one, or one per model.");
        bool perTaskAlpha = Options.Alpha.Count == tasks && tasks > 1;
        var excluded = new HashSet<string>(Options.ExcludeKeys, StringComparer.Ordinal);
        var single = Options.ReturnSingleTaskModels ? plan.ModelNames.ToDictionary(n => n, n => new StateDict(n)) : null;
        try
        {
            return TaskSpecificWeights.Builder.Collect(plan, context.CancellationToken, (builder, name, p, raw) =>
            {
                var tvs = perTaskAlpha ? raw.Select((tv, i) => tv.mul(Options.Alpha[i])).ToList() : raw;
                Tensor merged;
                if (p.dim() == 2 && !excluded.Contains(name))
                {
                    var (m, pf, s, q, k) = TaskSingularVectorKernel.Merge(tvs);
                    merged = m;
                    if (single is not null)
                        for (int t = 0; t < tasks; t++)
                        {
                            var block = k == 0 ? zeros_like(p) : pf.narrow(1, t * k, k).mul(s.narrow(0, t * k, k).unsqueeze(0)).matmul(q.narrow(0, t * k, k));
                            single[plan.ModelNames[t]].Add(name, block.MoveToOuterDisposeScope());
                        }
                }
                else
                {
                    // FusionBench's running mean; the single-task models get it too.
                    merged = TaskVectorKernels.RunningMean(tvs);
                    if (single is not null)
                        foreach (var task in plan.ModelNames) single[task].Add(name, merged.clone().MoveToOuterDisposeScope());
                }
                if (!perTaskAlpha) merged = merged.mul(Options.Alpha[0]);
                builder.Add(name, p, merged);
            }, builder =>
            {
                if (single is not null)
                    foreach (var (task, vector) in single) builder.SetTaskVector(task, vector);
                single = null; // owned by the builder now
            });
        }
        catch
        {
            if (single is not null) foreach (var d in single.Values) d.Dispose();
            throw;
        }
    }
}

using Microsoft.Extensions.Logging;
using FusionBench.Core.Algorithms.Merging.GeneralizedTaskArithmetic;

namespace FusionBench.Core.Algorithms.Merging.TaskArithmetic;

/// <summary>
/// <c>task_arithmetic</c> (Ilharco et al.): θ* = θ₀ + λ Σᵢ τᵢ with task vectors τᵢ = θᵢ − θ₀ (a sum, not a mean).
/// Streams one tensor group at a time, accumulating in place in cache-sized blocks.
/// </summary>
public sealed class TaskArithmeticAlgorithm(TaskArithmeticOptions options, ILogger<TaskArithmeticAlgorithm>? logger = null) : FusionAlgorithm<TaskArithmeticOptions>(options, logger)
{
    /// <inheritdoc />
    public override FusionAlgorithmInfo Info { get; } = new("task_arithmetic", "Task Arithmetic", FusionCategory.Merging,
        "https://arxiv.org/abs/2212.04089", "Adds the scaled sum of the task vectors (fine-tuned minus pretrained) to the pretrained model.");

    /// <inheritdoc />
    protected override StateDict FuseCore(IModelPool modelPool, FusionContext context)
    {
        var plan = MergePlan.Create(modelPool, Info.Name, requirePretrained: true);
        return GeneralizedTaskArithmeticMerger.Merge(plan, Options.ScalingFactor, dare: null, ties: null, Array.Empty<string>(), context.CancellationToken);
    }

    /// <inheritdoc />
    protected override IWeightSource? StreamCore(IModelPool modelPool, FusionContext context) =>
        GeneralizedTaskArithmeticMerger.Stream(MergePlan.Create(modelPool, Info.Name, requirePretrained: true), Options.ScalingFactor, dare: null, Array.Empty<string>());
}

using Microsoft.Extensions.Logging;
using FusionBench.Core.Algorithms.Merging.GeneralizedTaskArithmetic;

namespace FusionBench.Core.Algorithms.Merging.DareTaskArithmetic;

/// <summary>
/// <c>dare_task_arithmetic</c> (Yu et al.): each task-vector entry is dropped with probability <c>sparsity_ratio</c>
/// (survivors rescaled by 1/(1 − p) when <c>rescale</c>), then task arithmetic. Masks come from a generator seeded
/// per model and tensor from <c>seed</c>, so results do not depend on the order tensors are read in.
/// </summary>
public sealed class DareTaskArithmeticAlgorithm(DareTaskArithmeticOptions options, ILogger<DareTaskArithmeticAlgorithm>? logger = null) : FusionAlgorithm<DareTaskArithmeticOptions>(options, logger)
{
    /// <inheritdoc />
    public override FusionAlgorithmInfo Info { get; } = new("dare_task_arithmetic", "DARE Task Arithmetic", FusionCategory.Merging,
        "https://arxiv.org/abs/2311.03099", "Randomly drops and rescales task-vector entries, then applies task arithmetic.");

    /// <inheritdoc />
    protected override StateDict FuseCore(IModelPool modelPool, FusionContext context)
    {
        var plan = MergePlan.Create(modelPool, Info.Name, requirePretrained: true);
        return GeneralizedTaskArithmeticMerger.Merge(plan, Options.ScalingFactor,
            new DareStep(Options.SparsityRatio, Options.Rescale, Options.Seed, Options.OnlyOnLinearWeights), ties: null, Array.Empty<string>(), context.CancellationToken);
    }

    /// <inheritdoc />
    protected override IWeightSource? StreamCore(IModelPool modelPool, FusionContext context) =>
        GeneralizedTaskArithmeticMerger.Stream(MergePlan.Create(modelPool, Info.Name, requirePretrained: true), Options.ScalingFactor,
            new DareStep(Options.SparsityRatio, Options.Rescale, Options.Seed, Options.OnlyOnLinearWeights), Array.Empty<string>());
}

using Microsoft.Extensions.Logging;
using FusionBench.Core.Algorithms.Merging.GeneralizedTaskArithmetic;

namespace FusionBench.Core.Algorithms.Merging.DareTiesMerging;

/// <summary><c>dare_ties_merging</c>: DARE's random drop and rescale of each task vector, then TIES merging on the result.</summary>
public sealed class DareTiesMergingAlgorithm(DareTiesMergingOptions options, ILogger<DareTiesMergingAlgorithm>? logger = null) : FusionAlgorithm<DareTiesMergingOptions>(options, logger)
{
    /// <inheritdoc />
    public override FusionAlgorithmInfo Info { get; } = new("dare_ties_merging", "DARE Ties-Merging", FusionCategory.Merging,
        "https://arxiv.org/abs/2311.03099", "Randomly drops and rescales task-vector entries, then applies TIES merging.");

    /// <inheritdoc />
    protected override StateDict FuseCore(IModelPool modelPool, FusionContext context)
    {
        var plan = MergePlan.Create(modelPool, Info.Name, requirePretrained: true);
        return GeneralizedTaskArithmeticMerger.Merge(plan, Options.ScalingFactor,
            new DareStep(Options.SparsityRatio, Options.Rescale, Options.Seed, Options.OnlyOnLinearWeights),
            new TiesStep(Options.Threshold, Options.MergeFunc), Options.RemoveKeys ?? Array.Empty<string>(), context.CancellationToken);
    }

    /// <inheritdoc />
    protected override IWeightSource? StreamCore(IModelPool modelPool, FusionContext context) =>
        GeneralizedTaskArithmeticMerger.StreamTies(MergePlan.Create(modelPool, Info.Name, requirePretrained: true), Options.ScalingFactor,
            new DareStep(Options.SparsityRatio, Options.Rescale, Options.Seed, Options.OnlyOnLinearWeights),
            new TiesStep(Options.Threshold, Options.MergeFunc), Options.RemoveKeys ?? Array.Empty<string>(), context.CancellationToken);
}

using Microsoft.Extensions.Logging;
using FusionBench.Core.Algorithms.Merging.GeneralizedTaskArithmetic;

namespace FusionBench.Core.Algorithms.Merging.TiesMerging;

/// <summary>
/// <c>ties_merging</c> (Yadav et al.), with FusionBench's semantics: trim each task vector to its top
/// <c>threshold</c>% magnitudes over the whole model, elect each entry's sign by the summed mass (zeros take the
/// model-wide majority sign), merge the agreeing entries with <c>merge_func</c>, then θ* = θ₀ + λ·τ_merged.
/// </summary>
/// <remarks>
/// Unlike FusionBench, which flattens all N models into one N×P matrix, this streams: one pass per model to find its
/// threshold (one model's task vector in memory), then one pass over the tensor groups.
/// </remarks>
public sealed class TiesMergingAlgorithm(TiesMergingOptions options, ILogger<TiesMergingAlgorithm>? logger = null) : FusionAlgorithm<TiesMergingOptions>(options, logger)
{
    /// <inheritdoc />
    public override FusionAlgorithmInfo Info { get; } = new("ties_merging", "Ties-Merging", FusionCategory.Merging,
        "https://arxiv.org/abs/2306.01708", "Trims each task vector, elects a sign per entry and merges only the entries that agree with it.");

    /// <inheritdoc />
    protected override StateDict FuseCore(IModelPool modelPool, FusionContext context)
    {
        var plan = MergePlan.Create(modelPool, Info.Name, requirePretrained: true);
        return GeneralizedTaskArithmeticMerger.Merge(plan, Options.ScalingFactor, dare: null,
            new TiesStep(Options.Threshold, Options.MergeFunc), Options.RemoveKeys ?? Array.Empty<string>(), context.CancellationToken);
    }

    /// <inheritdoc />
    protected override IWeightSource? StreamCore(IModelPool modelPool, FusionContext context) =>
        GeneralizedTaskArithmeticMerger.StreamTies(MergePlan.Create(modelPool, Info.Name, requirePretrained: true), Options.ScalingFactor, dare: null,
            new TiesStep(Options.Threshold, Options.MergeFunc), Options.RemoveKeys ?? Array.Empty<string>(), context.CancellationToken);
}

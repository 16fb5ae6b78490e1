using Microsoft.Extensions.Logging;
using FusionBench.Core.Algorithms.Merging.GeneralizedTaskArithmetic;

namespace FusionBench.Core.Algorithms.Merging.Della;

/// <summary><c>della_linear</c> (MergeKit): DELLA's MagPrune and rescaling, then a plain weighted sum (no sign election).</summary>
public sealed class DellaLinearAlgorithm(DellaOptions options, ILogger<DellaLinearAlgorithm>? logger = null)
    : MergeKitTaskArithmeticAlgorithm<DellaOptions>(MergeKitVariant.Presets["della_linear"], options, logger)
{
    /// <inheritdoc />
    public override FusionAlgorithmInfo Info { get; } = new("della_linear", "DELLA (linear)", FusionCategory.Merging,
        "https://arxiv.org/abs/2406.11617", "DELLA's MagPrune with rescaling, then a weighted sum of the task vectors.");
}

using Microsoft.Extensions.Logging;
using FusionBench.Core.Algorithms.Merging.GeneralizedTaskArithmetic;

namespace FusionBench.Core.Algorithms.Merging.Della;

/// <summary>
/// <c>della</c> (DELLA-Merging, Deep et al. 2024, as MergeKit computes it): each task-vector entry is kept with a
/// probability from density − ε to density + ε by its magnitude rank within its row (MagPrune), the kept entries rescaled
/// to the tensor's L1 norm, then TIES's sign election and a normalised sum, times λ.
/// </summary>
public sealed class DellaAlgorithm(DellaOptions options, ILogger<DellaAlgorithm>? logger = null)
    : MergeKitTaskArithmeticAlgorithm<DellaOptions>(MergeKitVariant.Presets["della"], options, logger)
{
    /// <inheritdoc />
    public override FusionAlgorithmInfo Info { get; } = new("della", "DELLA", FusionCategory.Merging,
        "https://arxiv.org/abs/2406.11617", "Magnitude-ranked random pruning (MagPrune) with rescaling, then TIES sign election.");
}

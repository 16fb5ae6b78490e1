using Microsoft.Extensions.Logging;
using FusionBench.Core.Algorithms.Merging.GeneralizedTaskArithmetic;

namespace FusionBench.Core.Algorithms.Merging.Breadcrumbs;

/// <summary>
/// <c>breadcrumbs</c> (Model Breadcrumbs, Davari &amp; Belilovsky 2024, as MergeKit computes it): each task vector loses its
/// <c>gamma</c> largest-magnitude outliers and its smallest entries so that <c>density</c> stays; the weighted task
/// vectors are summed (no sign election), optionally normalised, times λ, added to θ₀.
/// </summary>
public sealed class BreadcrumbsAlgorithm(BreadcrumbsOptions options, ILogger<BreadcrumbsAlgorithm>? logger = null)
    : MergeKitTaskArithmeticAlgorithm<BreadcrumbsOptions>(MergeKitVariant.Presets["breadcrumbs"], options, logger)
{
    /// <inheritdoc />
    public override FusionAlgorithmInfo Info { get; } = new("breadcrumbs", "Model Breadcrumbs", FusionCategory.Merging,
        "https://arxiv.org/abs/2312.06795", "Task arithmetic on task vectors stripped of their largest outliers and smallest entries.");
}

using Microsoft.Extensions.Logging;
using FusionBench.Core.Algorithms.Merging.GeneralizedTaskArithmetic;

namespace FusionBench.Core.Algorithms.Merging.Breadcrumbs;

/// <summary>
/// <c>breadcrumbs_ties</c> (MergeKit): Breadcrumbs' outlier-and-small pruning followed by TIES's sign election (entries
/// must agree with the sign of Σᵢ wᵢδᵢ).
/// </summary>
public sealed class BreadcrumbsTiesAlgorithm(BreadcrumbsOptions options, ILogger<BreadcrumbsTiesAlgorithm>? logger = null)
    : MergeKitTaskArithmeticAlgorithm<BreadcrumbsOptions>(MergeKitVariant.Presets["breadcrumbs_ties"], options, logger)
{
    /// <inheritdoc />
    public override FusionAlgorithmInfo Info { get; } = new("breadcrumbs_ties", "Model Breadcrumbs + TIES", FusionCategory.Merging,
        "https://arxiv.org/abs/2312.06795", "Breadcrumbs pruning with TIES sign election.");
}

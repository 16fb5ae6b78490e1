using Microsoft.Extensions.Configuration;
using System.ComponentModel;
using FusionBench.Core.Algorithms.Merging.GeneralizedTaskArithmetic;

namespace FusionBench.Core.Algorithms.Merging.Breadcrumbs;

/// <summary>Options of <c>breadcrumbs</c> and <c>breadcrumbs_ties</c> (MergeKit's names and defaults).</summary>
public sealed class BreadcrumbsOptions : MergeKitTaskArithmeticOptions
{
    /// <summary>Per-model fraction of largest-magnitude entries dropped as outliers. Default 0.01.</summary>
    [Description("Per-model fraction of the largest-magnitude task-vector entries dropped as outliers (one per model, or one for all).")]
    [ConfigurationKeyName("gamma")]
    public IReadOnlyList<double> Gamma { get; set; } = new[] { 0.01 };

    internal override IReadOnlyDictionary<string, IReadOnlyList<double>> PerModel() =>
        new Dictionary<string, IReadOnlyList<double>>(base.PerModel()) { ["gamma"] = Gamma };
}

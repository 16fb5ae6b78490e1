using Microsoft.Extensions.Configuration;
using System.ComponentModel;
using FusionBench.Core.Algorithms.Merging.GeneralizedTaskArithmetic;

namespace FusionBench.Core.Algorithms.Merging.Della;

/// <summary>Options of <c>della</c> and <c>della_linear</c> (MergeKit's names and defaults).</summary>
public sealed class DellaOptions : MergeKitTaskArithmeticOptions
{
    /// <summary>Per-model half-width ε of the keep probabilities, density ± ε by magnitude rank. Default 0.15.</summary>
    [Description("Per-model spread of the keep probability around density, by magnitude rank (one per model, or one for all).")]
    [ConfigurationKeyName("epsilon")]
    public IReadOnlyList<double> Epsilon { get; set; } = new[] { 0.15 };

    internal override IReadOnlyDictionary<string, IReadOnlyList<double>> PerModel() =>
        new Dictionary<string, IReadOnlyList<double>>(base.PerModel()) { ["epsilon"] = Epsilon };
}

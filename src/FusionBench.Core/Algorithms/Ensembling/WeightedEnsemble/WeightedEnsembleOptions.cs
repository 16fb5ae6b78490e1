using Microsoft.Extensions.Configuration;
using System.ComponentModel;

namespace FusionBench.Core.Algorithms.Ensembling.WeightedEnsemble;

/// <summary>Options of <c>weighted_ensemble</c> (FusionBench's defaults).</summary>
public sealed class WeightedEnsembleOptions
{
    /// <summary>One weight per fine-tuned model; null means 1/N each, an average with or without <c>normalize</c> (FusionBench's default).</summary>
    [Description("One weight per fine-tuned model, in pool order; null for uniform weights.")]
    [ConfigurationKeyName("weights")]
    public IReadOnlyList<double>? Weights { get; set; }

    /// <summary>Whether to divide the weights by their sum. Default true.</summary>
    [Description("Divide the weights by their sum so they add up to 1.")]
    [ConfigurationKeyName("normalize")]
    public bool Normalize { get; set; } = true;
}

using Microsoft.Extensions.Configuration;
using System.ComponentModel;

namespace FusionBench.Core.Algorithms.Merging.WeightedAverage;

/// <summary>Options of <c>weighted_average</c> (FusionBench's defaults).</summary>
public sealed class WeightedAverageOptions
{
    /// <summary>One weight per fine-tuned model, in pool order. Default <c>[0.5, 0.5]</c> (FusionBench's), so set it for N ≠ 2.</summary>
    [Description("One weight per fine-tuned model, in pool order (FusionBench's default [0.5,0.5] fits two models).")]
    [ConfigurationKeyName("weights")]
    public IReadOnlyList<double> Weights { get; set; } = new[] { 0.5, 0.5 };

    /// <summary>Whether to divide the weights by their sum. Default <c>true</c>.</summary>
    [Description("Divide the weights by their sum so they add up to 1.")]
    [ConfigurationKeyName("normalize")]
    public bool Normalize { get; set; } = true;
}

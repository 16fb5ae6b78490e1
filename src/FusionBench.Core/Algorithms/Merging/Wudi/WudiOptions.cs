using Microsoft.Extensions.Configuration;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;

namespace FusionBench.Core.Algorithms.Merging.Wudi;

/// <summary>Options of <c>wudi</c> (FusionBench's names and defaults).</summary>
public sealed class WudiOptions
{
    /// <summary>Adam steps per linear layer. Default 400.</summary>
    [Description("Adam steps of the per-layer interference objective.")]
    [Range(0, 1_000_000)]
    [ConfigurationKeyName("iter_num")]
    public int IterNum { get; set; } = 400;

    /// <summary>2-D tensors that get the plain mean of the task vectors instead of the optimisation.</summary>
    [Description("2-D tensors merged as the plain mean of the task vectors.")]
    [ConfigurationKeyName("exclude_keys")]
    public IReadOnlyList<string> ExcludeKeys { get; set; } = Array.Empty<string>();

    /// <summary>Adam's learning rate. Default 1e-5 (FusionBench's, fixed in its code).</summary>
    [Description("Adam's learning rate (FusionBench fixes 1e-5).")]
    [Range(0.0, 1.0)]
    [ConfigurationKeyName("learning_rate")]
    public double LearningRate { get; set; } = 1e-5;
}

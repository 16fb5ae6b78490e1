using Microsoft.Extensions.Configuration;
using System.ComponentModel;

namespace FusionBench.Core.Algorithms.Merging.MagMax;

/// <summary>Options of <c>magmax</c> (FusionBench's names and defaults).</summary>
public sealed class MagMaxOptions
{
    /// <summary>λ in θ₀ + λ·τ_max. Default 0.5 (FusionBench's, from MagMax's 8-task script).</summary>
    [Description("Factor of the maximum-magnitude task vector added to the pretrained model.")]
    [ConfigurationKeyName("scaling_factor")]
    public double ScalingFactor { get; set; } = 0.5;

    /// <summary>FusionBench's in-place switch; accepted for configuration compatibility (the result is the same).</summary>
    [Description("FusionBench's in-place switch (accepted; no effect on the result).")]
    [ConfigurationKeyName("inplace")]
    public bool Inplace { get; set; } = true;
}

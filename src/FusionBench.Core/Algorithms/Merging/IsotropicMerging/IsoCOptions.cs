using Microsoft.Extensions.Configuration;
using System.ComponentModel;

namespace FusionBench.Core.Algorithms.Merging.IsotropicMerging;

/// <summary>Options of <c>iso_c</c> (FusionBench's names and defaults).</summary>
public class IsoCOptions
{
    /// <summary>λ in θ₀ + λ·merged. Default 1.</summary>
    [Description("Factor of the merged task vector added to the pretrained model.")]
    [ConfigurationKeyName("scaling_factor")]
    public double ScalingFactor { get; set; } = 1.0;

    /// <summary>2-D tensors that get the plain mean of the task vectors instead of the isotropic merge.</summary>
    [Description("2-D tensors merged as the plain mean of the task vectors.")]
    [ConfigurationKeyName("exclude_keys")]
    public IReadOnlyList<string> ExcludeKeys { get; set; } = Array.Empty<string>();
}

/// <summary>Options of <c>iso_cts</c> (FusionBench's names and defaults).</summary>
public sealed class IsoCtsOptions : IsoCOptions
{
    /// <summary>Fraction of each layer's singular directions taken from the common (summed) subspace. Default 0.8.</summary>
    [Description("Fraction of each layer's rank spent on the common subspace of the summed task matrix; the rest is split among tasks.")]
    [System.ComponentModel.DataAnnotations.Range(0.0, 1.0)]
    [ConfigurationKeyName("common_space_fraction")]
    public double CommonSpaceFraction { get; set; } = 0.8;
}

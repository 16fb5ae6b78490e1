using Microsoft.Extensions.Configuration;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using FusionBench.Core.TaskVectors;

namespace FusionBench.Core.Algorithms.Merging.TiesMerging;

/// <summary>Options of <c>ties_merging</c> (FusionBench's defaults: sum with λ = 0.3, not the paper's mean with λ = 1).</summary>
public sealed class TiesMergingOptions
{
    /// <summary>λ in θ₀ + λ·τ_merged. Default 0.3.</summary>
    [Description("λ in θ₀ + λ·τ_merged.")]
    [ConfigurationKeyName("scaling_factor")]
    public double ScalingFactor { get; set; } = 0.3;

    /// <summary>Percent of each task vector kept by magnitude, chosen over the whole model (values ≤ 1 are read as fractions, as in FusionBench). Default 20.</summary>
    [Description("Percent of each task vector's entries kept, by magnitude over the whole model (ties at the cut all stay; values <= 1 are fractions, as in FusionBench).")]
    [Range(0.0, 100.0)]
    [ConfigurationKeyName("threshold")]
    public double Threshold { get; set; } = 20;

    /// <summary>How agreeing entries are aggregated. Default sum.</summary>
    [Description("How entries that agree with the elected sign are aggregated: sum, mean (the TIES paper) or max magnitude.")]
    [ConfigurationKeyName("merge_func")]
    public MergeFunction MergeFunc { get; set; } = MergeFunction.Sum;

    /// <summary>Tensor names left out of TIES: they keep the pretrained values. Default none.</summary>
    [Description("Tensor names left out of the merge; they keep the pretrained model's values.")]
    [ConfigurationKeyName("remove_keys")]
    public IReadOnlyList<string> RemoveKeys { get; set; } = Array.Empty<string>();
}

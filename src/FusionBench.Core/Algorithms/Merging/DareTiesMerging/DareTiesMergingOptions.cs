using Microsoft.Extensions.Configuration;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using FusionBench.Core.TaskVectors;

namespace FusionBench.Core.Algorithms.Merging.DareTiesMerging;

/// <summary>Options of <c>dare_ties_merging</c> (FusionBench's defaults, plus a seed).</summary>
public sealed class DareTiesMergingOptions
{
    /// <summary>λ in θ₀ + λ·τ_merged. Default 0.5.</summary>
    [Description("λ in θ₀ + λ·τ_merged.")]
    [ConfigurationKeyName("scaling_factor")]
    public double ScalingFactor { get; set; } = 0.5;

    /// <summary>Probability p of dropping each task-vector entry before TIES. Default 0.5.</summary>
    [Description("Probability of dropping each task-vector entry before TIES.")]
    [Range(0.0, 0.999999)]
    [ConfigurationKeyName("sparsity_ratio")]
    public double SparsityRatio { get; set; } = 0.5;

    /// <summary>Whether survivors are divided by 1 − p. Default true.</summary>
    [Description("Divide the kept entries by 1 - sparsity_ratio.")]
    [ConfigurationKeyName("rescale")]
    public bool Rescale { get; set; } = true;

    /// <summary>Percent of each dropped task vector TIES keeps by magnitude. Default 20.</summary>
    [Description("Percent of each (dropped) task vector's entries TIES keeps, by magnitude over the whole model.")]
    [Range(0.0, 100.0)]
    [ConfigurationKeyName("threshold")]
    public double Threshold { get; set; } = 20;

    /// <summary>How agreeing entries are aggregated. Default sum.</summary>
    [Description("How entries that agree with the elected sign are aggregated: sum, mean or max.")]
    [ConfigurationKeyName("merge_func")]
    public MergeFunction MergeFunc { get; set; } = MergeFunction.Sum;

    /// <summary>Tensor names left out of the merge: they keep the pretrained values.</summary>
    [Description("Tensor names left out of the merge; they keep the pretrained model's values.")]
    [ConfigurationKeyName("remove_keys")]
    public IReadOnlyList<string> RemoveKeys { get; set; } = Array.Empty<string>();

    /// <summary>
    /// Drop entries only of linear-layer weights (2-D <c>*.weight</c> tensors that are not embeddings); every other
    /// task-vector tensor is kept whole. Default false (FusionBench's default).
    /// </summary>
    [Description("Drop only entries of linear-layer weights (2-D *.weight, not embeddings); other tensors are kept whole.")]
    [ConfigurationKeyName("only_on_linear_weights")]
    public bool OnlyOnLinearWeights { get; set; }

    /// <summary>Seed of the random masks. Default 0.</summary>
    [Description("Seed of the random drop masks; the same seed reproduces the same merge.")]
    [ConfigurationKeyName("seed")]
    public long Seed { get; set; }
}

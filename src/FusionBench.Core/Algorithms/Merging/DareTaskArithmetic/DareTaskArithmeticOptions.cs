using Microsoft.Extensions.Configuration;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;

namespace FusionBench.Core.Algorithms.Merging.DareTaskArithmetic;

/// <summary>Options of <c>dare_task_arithmetic</c> (FusionBench's defaults, plus a seed).</summary>
public sealed class DareTaskArithmeticOptions
{
    /// <summary>λ in θ₀ + λ Σᵢ τ̃ᵢ. Default 0.3.</summary>
    [Description("λ in θ₀ + λ·Σᵢ τ̃ᵢ over the dropped task vectors.")]
    [ConfigurationKeyName("scaling_factor")]
    public double ScalingFactor { get; set; } = 0.3;

    /// <summary>Probability p of dropping each task-vector entry. Default 0.5.</summary>
    [Description("Probability of dropping each task-vector entry.")]
    [Range(0.0, 0.999999)]
    [ConfigurationKeyName("sparsity_ratio")]
    public double SparsityRatio { get; set; } = 0.5;

    /// <summary>Whether survivors are divided by 1 − p. Default true.</summary>
    [Description("Divide the kept entries by 1 - sparsity_ratio, so each task vector keeps its expected value.")]
    [ConfigurationKeyName("rescale")]
    public bool Rescale { get; set; } = true;

    /// <summary>
    /// Drop entries only of linear-layer weights (2-D <c>*.weight</c> tensors that are not embeddings); every other
    /// task-vector tensor is kept whole. Default false (FusionBench's default).
    /// </summary>
    [Description("Drop only entries of linear-layer weights (2-D *.weight, not embeddings); other tensors are kept whole.")]
    [ConfigurationKeyName("only_on_linear_weights")]
    public bool OnlyOnLinearWeights { get; set; }

    /// <summary>Seed of the random masks; the same seed gives the same merge. Default 0.</summary>
    [Description("Seed of the random drop masks; the same seed reproduces the same merge.")]
    [ConfigurationKeyName("seed")]
    public long Seed { get; set; }
}

using Microsoft.Extensions.Configuration;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;

namespace FusionBench.Core.Algorithms.Merging.TallMask;

/// <summary>Options of <c>tall_mask_task_arithmetic</c> (FusionBench's names and defaults).</summary>
public class TallMaskOptions
{
    /// <summary>λ of the TALL-mask rule: an entry is kept for task t where |a| &gt; λ·|τ_MTL − τₜ|. Default 0.6.</summary>
    [Description("λ of the TALL-mask rule: keep an entry for a task where it exceeds λ·|τ_MTL − τ_t|.")]
    [Range(0.0, 1000.0)]
    [ConfigurationKeyName("tall_mask_lambda")]
    public double TallMaskLambda { get; set; } = 0.6;

    /// <summary>
    /// Compare the task vector itself, |τₜ| &gt; λ|τ_MTL − τₜ| (the TALL-masks paper's rule). Default false: FusionBench's code,
    /// which compares the pretrained weights minus the task vector, |θ₀ − τₜ| &gt; λ|τ_MTL − τₜ|.
    /// </summary>
    [Description("Use the paper's mask rule |τ_t| > λ|τ_MTL − τ_t| instead of FusionBench's |θ0 − τ_t| > λ|τ_MTL − τ_t|.")]
    [ConfigurationKeyName("paper_rule")]
    public bool PaperRule { get; set; }
}

/// <summary>Options of <c>tall_mask_consensus</c> (Consensus Merging: the TALL masks' consensus applied to task arithmetic).</summary>
public sealed class TallMaskConsensusOptions : TallMaskOptions
{
    /// <summary>Keep an entry only where at least this many tasks' TALL masks keep it. Default 2 (the paper's).</summary>
    [Description("Keep an entry only where at least k tasks' TALL masks keep it (1 drops weights no task uses, 2 also those only one task uses).")]
    [Range(0, 1000)]
    [ConfigurationKeyName("prun_thre_k")]
    public int PrunThreK { get; set; } = 2;

    /// <summary>λ of the task arithmetic the consensus mask is applied to. Default 0.3 (task arithmetic's).</summary>
    [Description("λ of the masked task arithmetic θ0 + λ·(consensus ⊙ Σ τ_t).")]
    [ConfigurationKeyName("scaling_factor")]
    public double ScalingFactor { get; set; } = 0.3;
}

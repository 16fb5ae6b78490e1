using System.ComponentModel;
using System.ComponentModel.DataAnnotations;

namespace FusionBench.Core.Algorithms.Merging.AdaMerging;

/// <summary>Options of <c>task_wise_adamerging</c> and <c>layer_wise_adamerging</c> (FusionBench's CLIP defaults).</summary>
public sealed class AdaMergingOptions
{
    /// <summary>Adam learning rate of the merging coefficients. Default 1e-3.</summary>
    [Description("Adam learning rate of the merging coefficients.")]
    [Range(0.0, 10.0)]
    public double Lr { get; set; } = 1e-3;

    /// <summary>Initial value of every coefficient λ. Default 0.3.</summary>
    [Description("Initial value of every merging coefficient λ.")]
    public double InitValues { get; set; } = 0.3;

    /// <summary>Clamp the coefficients to [0, 1] after each step. Default false.</summary>
    [Description("Clamp the coefficients to [0, 1] after each step.")]
    public bool ClampWeights { get; set; }

    /// <summary>Unlabeled test images per task per step. Default 16.</summary>
    [Description("Unlabeled test inputs per task per step.")]
    [Range(1, 100_000)]
    public int BatchSize { get; set; } = 16;

    /// <summary>Training steps (each: one batch per task, one Adam step). Default 1000.</summary>
    [Description("Training steps; each takes one batch of every task and one Adam step. 0 keeps the initial coefficients.")]
    [Range(0, 10_000_000)]
    public int MaxSteps { get; set; } = 1000;

    /// <summary>Seed of the batch sampling. Default 0.</summary>
    [Description("Seed of the batch sampling.")]
    public long Seed { get; set; }

    /// <summary>A coefficients file saved by an earlier run (<c>save_merging_weights</c>); when set, training is skipped.</summary>
    [Description("A merging-weights file saved by an earlier run; when given, training is skipped.")]
    public string? Weights { get; set; }

    /// <summary>Where to save the learned coefficients (safetensors), or null.</summary>
    [Description("Where to save the learned coefficients (a .safetensors file), to reuse them with weights=PATH.")]
    public string? SaveMergingWeights { get; set; }
}

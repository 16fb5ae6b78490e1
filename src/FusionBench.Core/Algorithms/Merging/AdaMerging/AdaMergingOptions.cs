using Microsoft.Extensions.Configuration;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;

namespace FusionBench.Core.Algorithms.Merging.AdaMerging;

/// <summary>Options of <c>task_wise_adamerging</c> and <c>layer_wise_adamerging</c> (FusionBench's CLIP defaults).</summary>
public sealed class AdaMergingOptions
{
    /// <summary>Adam learning rate of the merging coefficients. Default 1e-3.</summary>
    [Description("Adam learning rate of the merging coefficients.")]
    [Range(0.0, 10.0)]
    [ConfigurationKeyName("lr")]
    public double Lr { get; set; } = 1e-3;

    /// <summary>Initial value of every coefficient λ. Default 0.3.</summary>
    [Description("Initial value of every merging coefficient λ.")]
    [ConfigurationKeyName("init_values")]
    public double InitValues { get; set; } = 0.3;

    /// <summary>
    /// Clamp the coefficients to [0, 1] where the model is merged (FusionBench's semantics: inside the forward, so a
    /// coefficient outside the interval gets no gradient; the raw coefficients are what is saved and reported). Default false.
    /// </summary>
    [Description("Clamp the coefficients to [0, 1] inside the forward (no gradient outside); the raw coefficients are saved.")]
    [ConfigurationKeyName("clamp_weights")]
    public bool ClampWeights { get; set; }

    /// <summary>Unlabeled test images per task per step. Default 16.</summary>
    [Description("Unlabeled test inputs per task per step.")]
    [Range(1, 100_000)]
    [ConfigurationKeyName("batch_size")]
    public int BatchSize { get; set; } = 16;

    /// <summary>Training steps (each: one batch per task, one Adam step). Default 1000.</summary>
    [Description("Training steps; each takes one batch of every task and one Adam step. 0 keeps the initial coefficients.")]
    [Range(0, 10_000_000)]
    [ConfigurationKeyName("max_steps")]
    public int MaxSteps { get; set; } = 1000;

    /// <summary>Seed of the shuffling of each task's test inputs (epochs without replacement, as FusionBench's shuffled loader). Default 0.</summary>
    [Description("Seed of the shuffling of each task's test inputs (epochs without replacement).")]
    [ConfigurationKeyName("seed")]
    public long Seed { get; set; }

    /// <summary>A coefficients file saved by an earlier run (<c>save_merging_weights</c>); when set, training is skipped.</summary>
    [Description("A merging-weights file saved by an earlier run; when given, training is skipped.")]
    [ConfigurationKeyName("weights")]
    public string? Weights { get; set; }

    /// <summary>Where to save the learned coefficients (safetensors), or null.</summary>
    [Description("Where to save the learned coefficients (a .safetensors file), to reuse them with weights=PATH.")]
    [ConfigurationKeyName("save_merging_weights")]
    public string? SaveMergingWeights { get; set; }
}

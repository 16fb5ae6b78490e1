using Microsoft.Extensions.Configuration;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;

namespace FusionBench.Core.Algorithms.Merging.FisherMerging;

/// <summary>Options of <c>fisher_merging</c> (FusionBench's CLIP defaults).</summary>
public sealed class FisherMergingOptions
{
    /// <summary>Training inputs per model for its Fisher information. Default 256.</summary>
    [Description("Training inputs per model used to estimate its diagonal Fisher information.")]
    [Range(1, 10_000_000)]
    [ConfigurationKeyName("num_fisher_examples")]
    public int NumFisherExamples { get; set; } = 256;

    /// <summary>Batch size of the Fisher estimate (the estimator squares batch gradients). Default 32.</summary>
    [Description("Batch size of the Fisher estimate (FusionBench squares each batch's gradient).")]
    [Range(1, 100_000)]
    [ConfigurationKeyName("batch_size")]
    public int BatchSize { get; set; } = 32;

    /// <summary>ε added to every Fisher value. Default 1e-6.</summary>
    [Description("ε added to every Fisher value, so parameters with no information still get a weight.")]
    [ConfigurationKeyName("minimal_fisher_weight")]
    public double MinimalFisherWeight { get; set; } = 1e-6;

    /// <summary>Scale each model's Fisher by 1/‖Fᵢ‖₂. Default true.</summary>
    [Description("Scale each model's Fisher by the inverse of its global L2 norm.")]
    [ConfigurationKeyName("normalize_fisher_weight")]
    public bool NormalizeFisherWeight { get; set; } = true;

    /// <summary>Regular expressions of tensor names averaged instead (none by default).</summary>
    [Description("Regular expressions of tensor names that are simply averaged instead.")]
    [ConfigurationKeyName("exclude_param_names_regex")]
    public IReadOnlyList<string> ExcludeParamNamesRegex { get; set; } = Array.Empty<string>();

    /// <summary>Seed of the choice of training inputs. Default 0.</summary>
    [Description("Seed of the choice of training inputs.")]
    [ConfigurationKeyName("seed")]
    public long Seed { get; set; }
}

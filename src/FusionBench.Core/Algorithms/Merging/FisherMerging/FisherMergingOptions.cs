using Microsoft.Extensions.Configuration;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;

namespace FusionBench.Core.Algorithms.Merging.FisherMerging;

/// <summary>Options of <c>fisher_merging</c> (FusionBench's CLIP defaults).</summary>
public sealed class FisherMergingOptions
{
    /// <summary>Training inputs per model for its Fisher information, taken in dataset order in whole batches (FusionBench's loop). Default 256.</summary>
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

    /// <summary>
    /// Regular expressions of tensor names left out of the merge (none by default): matched as Python's <c>re.match</c>
    /// does (anchored at the start of the name), they keep the pretrained model's values and are not part of the Fisher norm.
    /// </summary>
    [Description("Regular expressions (anchored at the start, as re.match) of parameters that keep the pretrained values.")]
    [ConfigurationKeyName("exclude_param_names_regex")]
    public IReadOnlyList<string> ExcludeParamNamesRegex { get; set; } = Array.Empty<string>();
}

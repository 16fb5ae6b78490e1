using Microsoft.Extensions.Configuration;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;

namespace FusionBench.Core.Algorithms.Merging.RegMean;

/// <summary>Options of <c>regmean</c> (FusionBench's CLIP defaults).</summary>
public sealed class RegMeanOptions
{
    /// <summary>Training inputs per model for the Gram matrices, in dataset order in whole batches (FusionBench's loop). Default 256.</summary>
    [Description("Training inputs per model over which each linear layer's input Gram matrix is accumulated.")]
    [Range(1, 10_000_000)]
    [ConfigurationKeyName("num_regmean_examples")]
    public int NumRegmeanExamples { get; set; } = 256;

    /// <summary>r in G̃ = r·G + (1 − r)·Diag(G). Default 0.95 (FusionBench's vision setting).</summary>
    [Description("Off-diagonal shrinkage r in r·G + (1 - r)·Diag(G); 1 keeps the Gram matrices as they are.")]
    [Range(0.0, 1.0)]
    [ConfigurationKeyName("reduce_non_diagonal_ratio")]
    public double ReduceNonDiagonalRatio { get; set; } = 0.95;

    /// <summary>Batch size of the forward passes. Default 32.</summary>
    [Description("Batch size of the forward passes that collect the Gram matrices.")]
    [Range(1, 100_000)]
    [ConfigurationKeyName("batch_size")]
    public int BatchSize { get; set; } = 32;

    /// <summary>
    /// Regular expressions of parameter names left out of the merge (none by default): matched as Python's
    /// <c>re.match</c> does (anchored at the start of the name), they keep the pretrained model's values.
    /// </summary>
    [Description("Regular expressions (anchored at the start, as re.match) of parameters that keep the pretrained values.")]
    [ConfigurationKeyName("exclude_param_names_regex")]
    public IReadOnlyList<string> ExcludeParamNamesRegex { get; set; } = Array.Empty<string>();

    /// <summary>
    /// Whether linear weights are stored out × in (PyTorch's <c>nn.Linear</c>, transposed for the solve and back; the
    /// default, as FusionBench's CLIP setting) rather than in × out (GPT-2's <c>Conv1D</c>: <c>false</c>).
    /// </summary>
    [Description("Linear weights are stored out x in (nn.Linear) and transposed for the solve; false for in x out (Conv1D).")]
    [ConfigurationKeyName("weight_transpose")]
    public bool WeightTranspose { get; set; } = true;
}

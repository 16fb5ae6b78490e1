using Microsoft.Extensions.Configuration;
using System.ComponentModel;

namespace FusionBench.Core.Algorithms.Mixing.ModelRecombination;

/// <summary>Options of <c>model_recombination</c>.</summary>
public sealed class ModelRecombinationOptions
{
    /// <summary>Seed of the permutations. Default 0.</summary>
    [Description("Seed of the random permutations.")]
    [ConfigurationKeyName("seed")]
    public long Seed { get; set; }

    /// <summary>Which recombined model to return (0 … N−1). Default 0, FusionBench's return_modelpool=false.</summary>
    [Description("Which of the N recombined models to return (FusionBench returns the first when return_modelpool is false).")]
    [ConfigurationKeyName("model_index")]
    public int ModelIndex { get; set; }
}

using Microsoft.Extensions.Configuration;
using System.ComponentModel;

namespace FusionBench.Core.Algorithms.Mixing.ModelRecombination;

/// <summary>What <c>model_recombination</c> shuffles across the models.</summary>
public enum RecombinationUnit
{
    /// <summary>Each state-dict tensor on its own: FusionBench's path for <c>nn.Module</c> models, the default for checkpoints.</summary>
    Tensor,

    /// <summary>Each whole layer (<c>….layers.N.…</c>), and each tensor outside the layers: FusionBench's <c>nn.ModuleList</c> path.</summary>
    Layer,
}

/// <summary>Options of <c>model_recombination</c>.</summary>
public sealed class ModelRecombinationOptions
{
    /// <summary>Seed of the permutations: the recombination FusionBench makes after Python's <c>random.seed(seed)</c>. Default 0.</summary>
    [Description("Seed of the permutations (Python's random.seed, so FusionBench's result for the same seed).")]
    [ConfigurationKeyName("seed")]
    public long Seed { get; set; }

    /// <summary>Which recombined model to return (0 … N−1). Default 0, FusionBench's return_modelpool=false.</summary>
    [Description("Which of the N recombined models to return (FusionBench returns the first when return_modelpool is false).")]
    [ConfigurationKeyName("model_index")]
    public int ModelIndex { get; set; }

    /// <summary>What is shuffled: <c>tensor</c> (default, FusionBench's nn.Module path) or <c>layer</c> (its ModuleList path).</summary>
    [Description("What is shuffled across the models: tensor (each state-dict entry, FusionBench's nn.Module path) or layer (whole layers, its ModuleList path).")]
    [ConfigurationKeyName("unit")]
    public RecombinationUnit Unit { get; set; } = RecombinationUnit.Tensor;
}

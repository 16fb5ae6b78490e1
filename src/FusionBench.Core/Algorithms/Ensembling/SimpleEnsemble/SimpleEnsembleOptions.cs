namespace FusionBench.Core.Algorithms.Ensembling.SimpleEnsemble;

/// <summary>Options of <c>simple_ensemble</c>: none.</summary>
public sealed class SimpleEnsembleOptions
{
}

using FusionBench.Core.Algorithms.Ensembling.MaxModelPredictor;
using FusionBench.Core.Algorithms.Ensembling.SimpleEnsemble;
using FusionBench.Core.Algorithms.Ensembling.WeightedEnsemble;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the built-in ensembling methods.</summary>
public static class FusionBenchEnsemblingBuilderExtensions
{
    /// <summary>Registers <c>simple_ensemble</c>.</summary>
    public static IFusionBenchBuilder AddSimpleEnsemble(this IFusionBenchBuilder builder, string name = "simple_ensemble", Action<SimpleEnsembleOptions>? configure = null) =>
        builder.AddAlgorithm<SimpleEnsembleAlgorithm, SimpleEnsembleOptions>(name, configure);

    /// <summary>Registers <c>weighted_ensemble</c>.</summary>
    public static IFusionBenchBuilder AddWeightedEnsemble(this IFusionBenchBuilder builder, string name = "weighted_ensemble", Action<WeightedEnsembleOptions>? configure = null) =>
        builder.AddAlgorithm<WeightedEnsembleAlgorithm, WeightedEnsembleOptions>(name, configure);

    /// <summary>Registers <c>max_model_predictor</c>.</summary>
    public static IFusionBenchBuilder AddMaxModelPredictor(this IFusionBenchBuilder builder, string name = "max_model_predictor", Action<MaxModelPredictorOptions>? configure = null) =>
        builder.AddAlgorithm<MaxModelPredictorAlgorithm, MaxModelPredictorOptions>(name, configure);
}

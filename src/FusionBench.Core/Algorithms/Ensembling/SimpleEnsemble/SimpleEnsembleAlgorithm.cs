using Microsoft.Extensions.Logging;
namespace FusionBench.Core.Algorithms.Ensembling.SimpleEnsemble;

/// <summary><c>simple_ensemble</c>: F(x) = (1/N) Σᵢ fᵢ(x) over the fine-tuned models' encoder outputs.</summary>
public sealed class SimpleEnsembleAlgorithm(SimpleEnsembleOptions options, ILogger<SimpleEnsembleAlgorithm>? logger = null) : ModelFusionAlgorithm<SimpleEnsembleOptions>(options, logger)
{
    /// <summary>Creates the method with its (empty) options.</summary>
    public SimpleEnsembleAlgorithm() : this(new SimpleEnsembleOptions()) { }

    /// <inheritdoc />
    public override FusionAlgorithmInfo Info { get; } = new("simple_ensemble", "Simple Ensemble", FusionCategory.Ensembling,
        "https://doi.org/10.1007/3-540-45014-9_1", "Averages the fine-tuned models' outputs; every model runs at inference.");

    /// <inheritdoc />
    protected override IFusedModel FuseCore(IModelPool modelPool, FusionContext context) =>
        EnsembleModel.Create(modelPool, Info.Name, null, EnsembleAggregation.WeightedSum, context.CancellationToken);
}

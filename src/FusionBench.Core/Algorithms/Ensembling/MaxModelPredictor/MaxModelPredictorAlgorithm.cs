using Microsoft.Extensions.Logging;
namespace FusionBench.Core.Algorithms.Ensembling.MaxModelPredictor;

/// <summary><c>max_model_predictor</c>: F(x) = maxᵢ fᵢ(x), element-wise over the fine-tuned models' encoder outputs.</summary>
public sealed class MaxModelPredictorAlgorithm(MaxModelPredictorOptions options, ILogger<MaxModelPredictorAlgorithm>? logger = null) : ModelFusionAlgorithm<MaxModelPredictorOptions>(options, logger)
{
    /// <summary>Creates the method with its (empty) options.</summary>
    public MaxModelPredictorAlgorithm() : this(new MaxModelPredictorOptions()) { }

    /// <inheritdoc />
    public override FusionAlgorithmInfo Info { get; } = new("max_model_predictor", "Max-Model Predictor", FusionCategory.Ensembling,
        "https://arxiv.org/abs/2406.03280", "The element-wise maximum of the fine-tuned models' outputs.");

    /// <inheritdoc />
    protected override IFusedModel FuseCore(IModelPool modelPool, FusionContext context) =>
        EnsembleModel.Create(modelPool, Info.Name, null, EnsembleAggregation.Max, context.CancellationToken);
}

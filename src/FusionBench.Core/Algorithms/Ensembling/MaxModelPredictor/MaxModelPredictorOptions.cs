namespace FusionBench.Core.Algorithms.Ensembling.MaxModelPredictor;

/// <summary>Options of <c>max_model_predictor</c>: none.</summary>
public sealed class MaxModelPredictorOptions
{
}

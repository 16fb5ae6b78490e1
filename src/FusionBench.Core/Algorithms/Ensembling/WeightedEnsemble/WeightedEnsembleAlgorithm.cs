using Microsoft.Extensions.Logging;
namespace FusionBench.Core.Algorithms.Ensembling.WeightedEnsemble;

/// <summary><c>weighted_ensemble</c>: F(x) = Σᵢ wᵢ fᵢ(x), with w ← w / Σw when <c>normalize</c>.</summary>
public sealed class WeightedEnsembleAlgorithm(WeightedEnsembleOptions options, ILogger<WeightedEnsembleAlgorithm>? logger = null) : ModelFusionAlgorithm<WeightedEnsembleOptions>(options, logger)
{
    /// <inheritdoc />
    public override FusionAlgorithmInfo Info { get; } = new("weighted_ensemble", "Weighted Ensemble", FusionCategory.Ensembling,
        "https://doi.org/10.1007/3-540-45014-9_1", "A weighted sum of the fine-tuned models' outputs.");

    /// <inheritdoc />
    protected override IFusedModel FuseCore(IModelPool modelPool, FusionContext context)
    {
        int n = modelPool.ModelNames.Count;
        // No weights: FusionBench uses 1/N each, so the ensemble averages whether or not normalize is set.
        double[] w = Options.Weights?.ToArray() ?? Enumerable.Repeat(1.0 / n, n).ToArray();
        if (w.Length != n)
            throw new FusionParameterException(Info.Name, "weights", $"Parameter 'weights' of 'weighted_ensemble' has {w.Length} entries but the pool has {n} models.");
        if (Options.Normalize)
        {
            double sum = w.Sum();
            if (Math.Abs(sum) < 1e-12) throw new FusionParameterException(Info.Name, "weights", "Parameter 'weights' of 'weighted_ensemble' sums to 0 and cannot be normalized.");
            w = w.Select(x => x / sum).ToArray();
        }
        return EnsembleModel.Create(modelPool, Info.Name, w, EnsembleAggregation.WeightedSum, context.CancellationToken);
    }
}

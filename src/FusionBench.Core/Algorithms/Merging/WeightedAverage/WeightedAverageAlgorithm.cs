using Microsoft.Extensions.Logging;
namespace FusionBench.Core.Algorithms.Merging.WeightedAverage;

/// <summary><c>weighted_average</c>: θ* = Σᵢ wᵢ θᵢ, with w ← w / Σw when <c>normalize</c>.</summary>
public sealed class WeightedAverageAlgorithm(WeightedAverageOptions options, ILogger<WeightedAverageAlgorithm>? logger = null) : FusionAlgorithm<WeightedAverageOptions>(options, logger)
{
    /// <inheritdoc />
    public override FusionAlgorithmInfo Info { get; } = new("weighted_average", "Weighted Average", FusionCategory.Merging,
        "https://arxiv.org/abs/2203.05482", "A weighted sum of the fine-tuned models' weights.");

    /// <inheritdoc />
    protected override StateDict FuseCore(IModelPool modelPool, FusionContext context)
    {
        var (plan, weights, divisor) = Prepare(modelPool);
        return LinearCombination.Merge(plan, weights, divisor, context.CancellationToken);
    }

    /// <inheritdoc />
    protected override IWeightSource? StreamCore(IModelPool modelPool, FusionContext context)
    {
        var (plan, weights, divisor) = Prepare(modelPool);
        return LinearCombination.Stream(plan, weights, divisor);
    }

    private (MergePlan Plan, double[] Weights, double Divisor) Prepare(IModelPool modelPool)
    {
        var plan = MergePlan.Create(modelPool, Info.Name, requirePretrained: false);
        var w = Options.Weights ?? throw new FusionParameterException(Info.Name, "weights", "Parameter 'weights' of 'weighted_average' is required.");
        if (w.Count != plan.Count)
            throw new FusionParameterException(Info.Name, "weights",
                $"Parameter 'weights' of 'weighted_average' has {w.Count} entries but the pool has {plan.Count} models ({string.Join(", ", plan.ModelNames)}).");
        double sum = w.Sum();
        if (Options.Normalize && Math.Abs(sum) < 1e-12)
            throw new FusionParameterException(Info.Name, "weights", "Parameter 'weights' of 'weighted_average' sums to 0 and cannot be normalized.");
        return (plan, w.ToArray(), Options.Normalize ? sum : 1.0);
    }
}

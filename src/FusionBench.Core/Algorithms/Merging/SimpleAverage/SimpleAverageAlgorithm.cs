using Microsoft.Extensions.Logging;
using static TorchSharp.torch;

namespace FusionBench.Core.Algorithms.Merging.SimpleAverage;

/// <summary>
/// <c>simple_average</c>: θ* = (1/N) Σᵢ θᵢ over the fine-tuned models (the pretrained model is not averaged in; its
/// integer buffers are copied). Streams one tensor of every model at a time.
/// </summary>
public sealed class SimpleAverageAlgorithm(SimpleAverageOptions options, ILogger<SimpleAverageAlgorithm>? logger = null) : FusionAlgorithm<SimpleAverageOptions>(options, logger)
{
    /// <summary>Creates the method with its (empty) options.</summary>
    public SimpleAverageAlgorithm() : this(new SimpleAverageOptions()) { }

    /// <inheritdoc />
    public override FusionAlgorithmInfo Info { get; } = new("simple_average", "Simple Average", FusionCategory.Merging,
        "https://arxiv.org/abs/2203.05482", "The element-wise mean of the fine-tuned models' weights.");

    /// <inheritdoc />
    protected override StateDict FuseCore(IModelPool modelPool, FusionContext context)
    {
        var plan = MergePlan.Create(modelPool, Info.Name, requirePretrained: false);
        var weights = Enumerable.Repeat(1.0, plan.Count).ToArray();
        return LinearCombination.Merge(plan, weights, divisor: plan.Count, context.CancellationToken);
    }

    /// <inheritdoc />
    protected override IWeightSource? StreamCore(IModelPool modelPool, FusionContext context)
    {
        var plan = MergePlan.Create(modelPool, Info.Name, requirePretrained: false);
        return LinearCombination.Stream(plan, Enumerable.Repeat(1.0, plan.Count).ToArray(), divisor: plan.Count);
    }
}

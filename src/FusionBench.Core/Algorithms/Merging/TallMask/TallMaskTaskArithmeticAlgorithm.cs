using Microsoft.Extensions.Logging;
using static TorchSharp.torch;

namespace FusionBench.Core.Algorithms.Merging.TallMask;

/// <summary>
/// <c>tall_mask_task_arithmetic</c> (TALL masks, Wang et al., ICML 2024, as FusionBench computes it): the shared model is
/// θ₀ + τ_MTL with τ_MTL = Σₜ τₜ (unscaled, as in FusionBench), and each task gets a binary mask, kept where
/// |θ₀ − τₜ| &gt; λ·|τ_MTL − τₜ| (FusionBench's rule; <c>paper_rule</c> for |τₜ| on the left): task t's model is
/// θ₀ + maskₜ ⊙ τ_MTL. The result's <see cref="FusionResult.TaskWeights"/> holds the masks; the task pool evaluates each
/// task with its own.
/// </summary>
public sealed class TallMaskTaskArithmeticAlgorithm(TallMaskOptions options, ILogger<TallMaskTaskArithmeticAlgorithm>? logger = null)
    : TaskSpecificFusionAlgorithm<TallMaskOptions>(options, logger)
{
    /// <inheritdoc />
    public override FusionAlgorithmInfo Info { get; } = new("tall_mask_task_arithmetic", "TALL masks (task arithmetic)", FusionCategory.Merging,
        "https://arxiv.org/abs/2405.07813", "Summed task vectors with one binary mask per task that localises its information.");

    /// <inheritdoc />
    protected override TaskSpecificWeights FuseCore(IModelPool modelPool, FusionContext context)
    {
        var plan = MergePlan.Create(modelPool, Info.Name, requirePretrained: true);
        return TaskSpecificWeights.Builder.Collect(plan, context.CancellationToken, (builder, name, p, taskVectors) =>
        {
            var (sum, masks) = TallMaskKernel.Masks(p, taskVectors, Options.TallMaskLambda, Options.PaperRule);
            builder.Add(name, p, sum);
            for (int t = 0; t < plan.Count; t++) builder.SetMask(plan.ModelNames[t], name, masks[t]);
        });
    }
}

using Microsoft.Extensions.Logging;
using FusionBench.Core.TaskVectors;
using static TorchSharp.torch;

namespace FusionBench.Core.Algorithms.Merging.EmrMerging;

/// <summary>
/// <c>emr_merging</c> (Elect, Mask &amp; Rescale, Huang et al., NeurIPS 2024, as FusionBench computes it): the elected sign
/// s = sign(Σₜ τₜ) (0 counts as −1), the unified vector τ_u = s·maxₜ |τₜ| over the tasks that agree with s, per-task masks
/// mₜ = (τₜ·s &gt; 0) and rescalers rₜ = Σ mean|τₜ| / Σ mean|mₜ ⊙ τ_u| (sums over tensors); task t's model is
/// θ₀ + rₜ·(mₜ ⊙ τ_u). The shared model is θ₀ + τ_u; <see cref="FusionResult.TaskWeights"/> holds the masks and rescalers.
/// </summary>
public sealed class EmrMergingAlgorithm(EmrMergingOptions options, ILogger<EmrMergingAlgorithm>? logger = null)
    : TaskSpecificFusionAlgorithm<EmrMergingOptions>(options, logger)
{
    /// <inheritdoc />
    public override FusionAlgorithmInfo Info { get; } = new("emr_merging", "EMR-Merging", FusionCategory.Merging,
        "https://arxiv.org/abs/2405.17461", "A unified task vector plus a binary mask and a rescaler per task.");

    /// <inheritdoc />
    protected override TaskSpecificWeights FuseCore(IModelPool modelPool, FusionContext context)
    {
        var plan = MergePlan.Create(modelPool, Info.Name, requirePretrained: true);
        int tasks = plan.Count;
        // FusionBench accumulates both sums in float32 tensors, tensor by tensor in state-dict order.
        using var scales = zeros(tasks, dtype: ScalarType.Float32);
        using var newScales = zeros(tasks, dtype: ScalarType.Float32);
        return TaskSpecificWeights.Builder.Collect(plan, context.CancellationToken, (builder, name, p, tvs) =>
        {
            var flag = TaskVectorKernels.Sum(tvs).gt(0).to(tvs[0].dtype).mul_(2).sub_(1);
            var best = zeros_like(tvs[0]);
            var masks = new Tensor[tasks];
            for (int t = 0; t < tasks; t++)
            {
                masks[t] = tvs[t].mul(flag).gt(0);
                var a = tvs[t].mul(masks[t]).abs_();
                best = where(a.gt(best), a, best);
                scales[t].add_(tvs[t].abs().mean().to(ScalarType.Float32));
            }
            var unified = best.mul_(flag);
            for (int t = 0; t < tasks; t++)
            {
                newScales[t].add_(unified.mul(masks[t]).abs_().mean().to(ScalarType.Float32));
                builder.SetMask(plan.ModelNames[t], name, masks[t]);
            }
            builder.Add(name, p, unified);
        }, builder =>
        {
            using var rescalers = scales.div(newScales);
            var values = rescalers.data<float>().ToArray();
            for (int t = 0; t < tasks; t++) builder.SetScale(plan.ModelNames[t], values[t]);
        });
    }
}

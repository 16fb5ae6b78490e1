using Microsoft.Extensions.Logging;
using static TorchSharp.torch;

namespace FusionBench.Core.Algorithms.Merging.TallMask;

/// <summary>
/// <c>tall_mask_consensus</c> (Consensus Merging, Wang et al., ICML 2024): the TALL masks of every task (FusionBench's
/// <c>construct_consensus_mask</c>: entries kept by at least <c>prun_thre_k</c> tasks' masks), applied to task arithmetic:
/// θ = θ₀ + λ·(consensus ⊙ Σₜ τₜ). One model for all tasks; streams tensor by tensor.
/// </summary>
public sealed class TallMaskConsensusAlgorithm(TallMaskConsensusOptions options, ILogger<TallMaskConsensusAlgorithm>? logger = null)
    : TensorwiseMergeAlgorithm<TallMaskConsensusOptions>(options, logger)
{
    /// <inheritdoc />
    public override FusionAlgorithmInfo Info { get; } = new("tall_mask_consensus", "Consensus Merging (TALL masks)", FusionCategory.Merging,
        "https://arxiv.org/abs/2405.07813", "Task arithmetic without the weights that fewer than k tasks' TALL masks keep.");

    /// <summary>The consensus mask of one tensor: entries kept by at least k of the task masks.</summary>
    internal static Tensor Consensus(IReadOnlyList<Tensor> masks, int k)
    {
        var count = zeros_like(masks[0], dtype: ScalarType.Float32);
        foreach (var m in masks) count.add_(m.to(ScalarType.Float32));
        return count.ge(k);
    }

    /// <inheritdoc />
    protected override Func<string, Tensor> Step(MergePlan plan) => name =>
    {
        var p = plan.ReadCompute(plan.Pretrained!, name);
        var (sum, masks) = TallMaskKernel.Masks(p, plan.TaskVectors(name, p), Options.TallMaskLambda, Options.PaperRule);
        return sum.mul_(Consensus(masks, Options.PrunThreK)).mul_(Options.ScalingFactor).add_(p);
    };
}

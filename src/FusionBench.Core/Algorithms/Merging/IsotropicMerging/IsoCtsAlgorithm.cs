using Microsoft.Extensions.Logging;
using FusionBench.Core.TaskVectors;
using static TorchSharp.torch;

namespace FusionBench.Core.Algorithms.Merging.IsotropicMerging;

/// <summary>
/// <c>iso_cts</c> (Isotropic merging in common and task-specific subspaces, Marczak et al. 2025, as FusionBench computes
/// it): per 2-D tensor, <c>common_space_fraction</c> of the rank from the summed task matrix and the rest split among the
/// tasks' residual directions, orthogonalised, with a flat spectrum; other tensors the running mean; θ = θ₀ + λ·merged.
/// Streams tensor by tensor.
/// </summary>
public sealed class IsoCtsAlgorithm(IsoCtsOptions options, ILogger<IsoCtsAlgorithm>? logger = null) : TensorwiseMergeAlgorithm<IsoCtsOptions>(options, logger)
{
    /// <inheritdoc />
    public override FusionAlgorithmInfo Info { get; } = new("iso_cts", "Iso-CTS", FusionCategory.Merging,
        "https://arxiv.org/abs/2502.04959", "Common plus task-specific singular subspaces with a flat spectrum.");

    /// <inheritdoc />
    protected override Func<string, Tensor> Step(MergePlan plan)
    {
        var excluded = new HashSet<string>(Options.ExcludeKeys, StringComparer.Ordinal);
        return name =>
        {
            var p = plan.ReadCompute(plan.Pretrained!, name);
            var tvs = plan.TaskVectors(name, p);
            var merged = p.dim() == 2 && !excluded.Contains(name)
                ? IsotropicMergingKernels.IsoCts(tvs, Options.CommonSpaceFraction)
                : TaskVectorKernels.RunningMean(tvs);
            return merged.mul(Options.ScalingFactor).add_(p);
        };
    }
}

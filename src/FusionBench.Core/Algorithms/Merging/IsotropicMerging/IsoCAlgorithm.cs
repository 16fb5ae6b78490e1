using Microsoft.Extensions.Logging;
using static TorchSharp.torch;

namespace FusionBench.Core.Algorithms.Merging.IsotropicMerging;

/// <summary>
/// <c>iso_c</c> (Isotropic merging in the common subspace, Marczak et al. 2025, as FusionBench computes it): every 2-D
/// tensor's summed task matrix with a flat singular spectrum (its mean), other tensors the mean task vector;
/// θ = θ₀ + λ·merged. Streams tensor by tensor.
/// </summary>
public sealed class IsoCAlgorithm(IsoCOptions options, ILogger<IsoCAlgorithm>? logger = null) : TensorwiseMergeAlgorithm<IsoCOptions>(options, logger)
{
    /// <inheritdoc />
    public override FusionAlgorithmInfo Info { get; } = new("iso_c", "Iso-C", FusionCategory.Merging,
        "https://arxiv.org/abs/2502.04959", "Flattens the singular spectrum of each layer's summed task matrix.");

    /// <inheritdoc />
    protected override Func<string, Tensor> Step(MergePlan plan)
    {
        var excluded = new HashSet<string>(Options.ExcludeKeys, StringComparer.Ordinal);
        return name =>
        {
            var p = plan.ReadCompute(plan.Pretrained!, name);
            // FusionBench: Python's sum() of the task vectors, divided by T (and multiplied back for matrices).
            var mean = plan.ReadCompute(plan.Models[0], name).sub(p);
            for (int t = 1; t < plan.Count; t++) mean.add_(plan.ReadCompute(plan.Models[t], name).sub(p));
            mean.div_(plan.Count);
            var merged = p.dim() == 2 && !excluded.Contains(name) ? IsotropicMergingKernels.IsoC(mean.mul(plan.Count)) : mean;
            return merged.mul(Options.ScalingFactor).add_(p);
        };
    }
}

using Microsoft.Extensions.Logging;
using FusionBench.Core.TaskVectors;
using static TorchSharp.torch;

namespace FusionBench.Core.Algorithms.Merging.Wudi;

/// <summary>
/// <c>wudi</c> (data-free interference minimisation, as FusionBench computes it): for every 2-D tensor the merged task
/// vector W minimises Σₜ ‖(W − τₜ)τₜᵀ‖²/‖τₜ‖² by <c>iter_num</c> Adam steps from Σₜ τₜ; other tensors take the mean task
/// vector; θ = θ₀ + W. Streams tensor by tensor.
/// </summary>
public sealed class WudiAlgorithm(WudiOptions options, ILogger<WudiAlgorithm>? logger = null) : TensorwiseMergeAlgorithm<WudiOptions>(options, logger)
{
    /// <inheritdoc />
    public override FusionAlgorithmInfo Info { get; } = new("wudi", "WUDI Merging", FusionCategory.Merging,
        "https://arxiv.org/abs/2503.08099", "Optimises each layer's merged task vector to minimise interference with every task, without data.");

    /// <inheritdoc />
    protected override Func<string, Tensor> Step(MergePlan plan)
    {
        var excluded = new HashSet<string>(Options.ExcludeKeys, StringComparer.Ordinal);
        return name =>
        {
            var p = plan.ReadCompute(plan.Pretrained!, name);
            var tvs = plan.TaskVectors(name, p);
            if (p.dim() == 2 && !excluded.Contains(name))
                return WudiKernel.Optimise(tvs, Options.IterNum, Options.LearningRate).add_(p);
            return TaskVectorKernels.Sum(tvs).div_(tvs.Count).add_(p);
        };
    }
}

using FusionBench.Core.TaskVectors;
using static TorchSharp.torch;

namespace FusionBench.Core.Algorithms.Merging.TallMask;

/// <summary>TALL masks (Wang et al., ICML 2024) for one tensor.</summary>
internal static class TallMaskKernel
{
    /// <summary>τ_MTL = Σₜ τₜ (from zero, in order) and each task's mask (strict &gt;) by FusionBench's or the paper's rule.</summary>
    public static (Tensor Sum, Tensor[] Masks) Masks(Tensor pretrained, IReadOnlyList<Tensor> taskVectors, double lambda, bool paperRule)
    {
        var sum = TaskVectorKernels.Sum(taskVectors);
        var masks = taskVectors.Select(tv =>
        {
            var left = paperRule ? tv.abs() : pretrained.sub(tv).abs();
            return left.gt(sum.sub(tv).abs().mul_(lambda));
        }).ToArray();
        return (sum, masks);
    }
}

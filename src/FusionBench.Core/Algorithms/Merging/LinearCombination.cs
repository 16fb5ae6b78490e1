using static TorchSharp.torch;

namespace FusionBench.Core.Algorithms.Merging;

/// <summary>θ* = (Σᵢ wᵢ θᵢ) / divisor per tensor, accumulated in place; non-float tensors are copied.</summary>
internal static class LinearCombination
{
    public static StateDict Merge(MergePlan plan, double[] weights, double divisor, CancellationToken ct) =>
        plan.MergeEachTensor(Step(plan, weights, divisor), ct);

    /// <summary>The same merge, computed tensor by tensor as it is read (<see cref="MergePlan.Lazily"/>).</summary>
    public static IWeightSource Stream(MergePlan plan, double[] weights, double divisor) => plan.Lazily(Step(plan, weights, divisor));

    private static Func<string, Tensor> Step(MergePlan plan, double[] weights, double divisor) => name =>
    {
        Tensor? acc = null;
        for (int i = 0; i < plan.Count; i++)
        {
            var t = plan.ReadCompute(plan.Models[i], name);
            if (acc is null) acc = t.mul(weights[i]);
            else acc.add_(t, alpha: weights[i]);
        }
        return divisor != 1.0 ? acc!.div_(divisor) : acc!;
    };
}

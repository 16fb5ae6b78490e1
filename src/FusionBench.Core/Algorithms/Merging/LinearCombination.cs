using static TorchSharp.torch;

namespace FusionBench.Core.Algorithms.Merging;

/// <summary>θ* = (Σᵢ wᵢ θᵢ) / divisor per tensor, accumulated in place; non-float tensors are copied.</summary>
internal static class LinearCombination
{
    public static StateDict Merge(MergePlan plan, double[] weights, double divisor, CancellationToken ct) =>
        plan.MergeEachTensor(Step(plan, weights, divisor), ct);

    /// <summary>The same merge, computed tensor by tensor as it is read (<see cref="MergePlan.Lazily"/>).</summary>
    public static IWeightSource Stream(MergePlan plan, double[] weights, double divisor) => plan.LazilyInRowBlocks(Step(plan, weights, divisor));

    /// <summary>One tensor, merged row block by row block (<see cref="MergePlan.MergeRows"/>).</summary>
    private static Func<string, Tensor> Step(MergePlan plan, double[] weights, double divisor) => name => plan.MergeRows(name, (_, models) =>
    {
        Tensor? acc = null;
        for (int i = 0; i < models.Count; i++)
        {
            if (acc is null) acc = models[i].mul(weights[i]);
            else acc.add_(models[i], alpha: weights[i]);
        }
        return divisor != 1.0 ? acc!.div_(divisor) : acc!;
    });
}

using FusionBench.Core.Algorithms;
using FusionBench.Core.Algorithms.Merging.GeneralizedTaskArithmetic;
using FusionBench.Core.TaskVectors;

namespace FusionBench.Core.Tests.TaskVectors;

/// <summary>
/// TIES by the tensor-op path (a model-sized magnitude buffer and kth value for the thresholds, [N, n] task-vector
/// matrices, the zero-sign fix-ups afterwards): the independent reference for the fused kernels, which <c>Fuse</c> and
/// the streamed merge use. (Not in TestSupport: that folder is shared with test projects that cannot see internals.)
/// </summary>
internal static class TiesReference
{
    public static StateDict ByTensorOps(IModelPool pool, double threshold = 20, MergeFunction mergeFunction = MergeFunction.Sum, double scalingFactor = 0.3) =>
        GeneralizedTaskArithmeticMerger.Merge(MergePlan.Create(pool, "ties_merging", requirePretrained: true), scalingFactor, dare: null,
            new TiesStep(threshold, mergeFunction), Array.Empty<string>(), default, tensorOps: true);
}

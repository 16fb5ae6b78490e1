using TorchSharp;
using static TorchSharp.torch;

namespace FusionBench.Core.Algorithms.Merging.TaskSingularVector;

/// <summary>TSV-M for one matrix (FusionBench's <c>compute_and_sum_svd_mem_reduction</c>).</summary>
internal static class TaskSingularVectorKernel
{
    /// <summary>The orthogonal polar factor U·Vᴴ of a matrix (its reduced SVD's).</summary>
    public static Tensor Polar(Tensor a)
    {
        var (u, _, vh) = linalg.svd(a, fullMatrices: false);
        return u.matmul(vh);
    }

    /// <summary>
    /// Each task vector's top k = ⌊r/T⌋ singular triplets (r = min(m, n)) placed side by side into Σu (m × r), Σs (r) and
    /// Σvh (r × n); U and Vh are decorrelated by their polar factors P, Q; merged = P·diag(Σs)·Q. Also returns P, Σs, Q and k,
    /// from which each task's own block P[:, tk:(t+1)k]·diag(Σs[tk:(t+1)k])·Q[tk:(t+1)k, :] is read.
    /// </summary>
    public static (Tensor Merged, Tensor P, Tensor S, Tensor Q, long K) Merge(IReadOnlyList<Tensor> taskVectors)
    {
        int tasks = taskVectors.Count;
        long m = taskVectors[0].shape[0], n = taskVectors[0].shape[1], r = Math.Min(m, n);
        long k = (long)(r * (1.0 / tasks));
        var dtype = taskVectors[0].dtype;
        var sumU = zeros(m, r, dtype: dtype);
        var sumS = zeros(r, dtype: dtype);
        var sumVh = zeros(r, n, dtype: dtype);
        for (int t = 0; t < tasks && k > 0; t++)
        {
            var (u, s, vh) = linalg.svd(taskVectors[t], fullMatrices: false);
            sumU.narrow(1, t * k, k).copy_(u.narrow(1, 0, k));
            sumS.narrow(0, t * k, k).copy_(s.narrow(0, 0, k));
            sumVh.narrow(0, t * k, k).copy_(vh.narrow(0, 0, k));
        }
        var p = Polar(sumU);
        var q = Polar(sumVh);
        var merged = p.mul(sumS.unsqueeze(0)).matmul(q);
        return (merged, p, sumS, q, k);
    }
}

using FusionBench.Core.Algorithms.Merging.TaskSingularVector;
using TorchSharp;
using static TorchSharp.torch;

namespace FusionBench.Core.Algorithms.Merging.IsotropicMerging;

/// <summary>Isotropic merging of one matrix (FusionBench's <c>iso_c</c> and <c>iso_cts</c>, Marczak et al. 2025).</summary>
internal static class IsotropicMergingKernels
{
    /// <summary>Iso-C: the summed task matrix with its singular spectrum flattened to its mean: mean(S)·U·Vᴴ.</summary>
    public static Tensor IsoC(Tensor summed)
    {
        var (u, s, vh) = linalg.svd(summed, fullMatrices: false);
        return u.mul(s.mean().expand(s.shape).unsqueeze(0)).matmul(vh);
    }

    /// <summary>
    /// Iso-CTS: c common directions (top singular vectors of Σₜτₜ, c rounded so the rest splits evenly into T blocks of n)
    /// plus each task's top n directions of its residual τₜ − UcUcᵀτₜ; the stacked bases orthogonalised (polar factors) and
    /// the spectrum flattened to the mean of all stacked singular values.
    /// </summary>
    public static Tensor IsoCts(IReadOnlyList<Tensor> taskVectors, double commonSpaceFraction)
    {
        int tasks = taskVectors.Count;
        long rows = taskVectors[0].shape[0], cols = taskVectors[0].shape[1], mn = Math.Min(rows, cols);
        long c = (long)(mn * commonSpaceFraction);
        // Python's round() is half-to-even, as Math.Round's default.
        c = mn - (long)Math.Round((double)(mn - c) / tasks) * tasks;
        if (c < 0 || c > mn)
            throw new FusionException($"iso_cts: common_space_fraction {commonSpaceFraction} gives {c} common directions for a {rows}×{cols} matrix and {tasks} tasks; choose a larger fraction.");
        long n = (long)((double)(mn - c) / tasks);
        var summed = taskVectors[0].clone();
        for (int t = 1; t < tasks; t++) summed.add_(taskVectors[t]);
        var (u, s, v) = linalg.svd(summed, fullMatrices: false);
        var cu = u.narrow(1, 0, c);
        var dtype = summed.dtype;
        var combinedU = zeros(rows, mn, dtype: dtype);
        var combinedS = zeros(mn, dtype: dtype);
        var combinedV = zeros(mn, cols, dtype: dtype);
        for (int t = 0; t < tasks && n > 0; t++)
        {
            var residual = taskVectors[t].sub(cu.matmul(cu.t()).matmul(taskVectors[t]));
            var (ut, st, vt) = linalg.svd(residual, fullMatrices: false);
            combinedU.narrow(1, t * n, n).copy_(ut.narrow(1, 0, n));
            combinedS.narrow(0, t * n, n).copy_(st.narrow(0, 0, n));
            combinedV.narrow(0, t * n, n).copy_(vt.narrow(0, 0, n));
        }
        if (c > 0)
        {
            combinedU.narrow(1, tasks * n, c).copy_(cu);
            combinedS.narrow(0, tasks * n, c).copy_(s.narrow(0, 0, c));
            combinedV.narrow(0, tasks * n, c).copy_(v.narrow(0, 0, c));
        }
        var pu = TaskSingularVectorKernel.Polar(combinedU);
        var pv = TaskSingularVectorKernel.Polar(combinedV);
        var flat = combinedS.mean().expand(combinedS.shape);
        return pu.mul(flat.unsqueeze(0)).matmul(pv);
    }
}

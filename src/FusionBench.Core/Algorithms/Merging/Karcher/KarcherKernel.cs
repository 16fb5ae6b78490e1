using TorchSharp;
using static TorchSharp.torch;

namespace FusionBench.Core.Algorithms.Merging.Karcher;

/// <summary>MergeKit's <c>karcher_merge_tensors</c>: the weighted Riemannian mean of unit directions, times the weighted mean norm.</summary>
internal static class KarcherKernel
{
    public static Tensor Merge(IReadOnlyList<Tensor> tensors, IReadOnlyList<double> alphas, int maxIter, double tol)
    {
        if (tensors.Count == 1) return tensors[0].clone();
        using var scope = NewDisposeScope();
        var norms = new double[tensors.Count];
        var units = new Tensor[tensors.Count];
        for (int i = 0; i < tensors.Count; i++)
        {
            var n = tensors[i].to(ScalarType.Float32).norm();
            norms[i] = n.ToDouble();
            units[i] = norms[i] == 0 ? zeros_like(tensors[i]) : tensors[i].div(n).to(tensors[i].dtype);
        }
        var valid = Enumerable.Range(0, tensors.Count).Where(i => norms[i] > tol).ToList();
        if (valid.Count == 0) return zeros_like(tensors[0]).MoveToOuterDisposeScope();
        double alphaSum = valid.Sum(i => alphas[i]);
        var a = valid.Select(i => alphas[i] / alphaSum).ToList();
        var u = zeros_like(units[valid[0]]);
        for (int k = 0; k < valid.Count; k++) u.add_(units[valid[k]].mul(a[k]));
        double normU = u.to(ScalarType.Float32).norm().ToDouble();
        u = normU < tol ? units[valid[0]].clone() : u.div(normU).to(u.dtype);
        for (int iter = 0; iter < maxIter; iter++)
        {
            var tangent = zeros_like(u);
            for (int k = 0; k < valid.Count; k++)
            {
                var ui = units[valid[k]];
                var dot = u.flatten().dot(ui.flatten()).clamp(-1.0, 1.0);
                var theta = dot.arccos();
                if (theta.ToDouble() < tol) continue;
                tangent.add_(theta.div(theta.sin()).mul(ui.sub(dot.mul(u))).mul(a[k]));
            }
            var normT = tangent.to(ScalarType.Float32).norm();
            if (normT.ToDouble() < tol) break;
            u = normT.cos().mul(u).add_(normT.sin().mul(tangent.div(normT))).to(u.dtype);
            var uNorm = u.to(ScalarType.Float32).norm();
            if (uNorm.ToDouble() > tol) u = u.div(uNorm).to(u.dtype);
        }
        double s = 0;
        for (int i = 0; i < tensors.Count; i++) s += alphas[i] * norms[i];
        return u.mul(s).MoveToOuterDisposeScope();
    }
}

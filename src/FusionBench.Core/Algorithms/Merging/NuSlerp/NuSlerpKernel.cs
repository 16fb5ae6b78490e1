using TorchSharp;
using static TorchSharp.torch;

namespace FusionBench.Core.Algorithms.Merging.NuSlerp;

/// <summary>MergeKit's <c>nuslerp</c> function: spherical interpolation of whole tensors or of their row/column vectors.</summary>
internal static class NuSlerpKernel
{
    /// <summary>
    /// û = v/max(‖v‖, 1e-7) per vector; θ = acos(clamp(⟨û₀, û₁⟩, −1, 1)); (sin((1−t)θ)v₀ + sin(tθ)v₁)/sin θ, and
    /// (1 − t)v₀ + t·v₁ for vectors with |sin θ| &lt; 1e-8. Vectors are the flattened tensor, or slices along the last dim
    /// (<paramref name="dim"/> −1) or dim 0.
    /// </summary>
    public static Tensor Interpolate(double t, Tensor v0, Tensor v1, int dim, bool flatten, double eps = 1e-8)
    {
        using var scope = NewDisposeScope();
        var shape = v0.shape;
        if (flatten)
        {
            v0 = v0.reshape(-1);
            v1 = v1.reshape(-1);
        }
        else if (dim != -1)
        {
            v0 = v0.transpose(dim, -1);
            v1 = v1.transpose(dim, -1);
        }
        Tensor Unit(Tensor x) => x.div(x.norm(-1, keepdim: true).clamp_min(1e-7));
        var cos = Unit(v0).mul(Unit(v1)).sum(-1, keepdim: true);
        var theta = cos.clamp(-1, 1).acos();
        var sin = theta.sin();
        var result = theta.mul(1 - t).sin().mul(v0).add_(theta.mul(t).sin().mul(v1)).div_(sin);
        var colinear = sin.abs().lt(eps).expand_as(result);
        result = where(colinear, v0.mul(1 - t).add(v1.mul(t)), result);
        if (dim != -1 && !flatten) result = result.transpose(dim, -1);
        return result.reshape(shape).MoveToOuterDisposeScope();
    }

    /// <summary>MergeKit's t from the two weights.</summary>
    public static double Factor(double w0, double w1) => Math.Abs(w0 + w1) < 1e-6 ? 0.5 : w1 / (w0 + w1);
}

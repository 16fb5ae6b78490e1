using TorchSharp;
using static TorchSharp.torch;

namespace FusionBench.Core.Algorithms.Merging.Wudi;

/// <summary>WUDI's data-free objective for one matrix, minimised with Adam from the summed task vectors.</summary>
internal static class WudiKernel
{
    /// <summary>
    /// Minimises Σₜ ‖(W − τₜ)·τₜᵀ‖²_F / ‖τₜ‖²_F over W from W = Σₜ τₜ with <paramref name="steps"/> Adam steps (β 0.9, 0.999,
    /// ε 1e-8, no weight decay: torch's defaults, written out so each step is torch 1.13's single-tensor Adam). The gradient
    /// comes from autograd, as in FusionBench.
    /// </summary>
    public static Tensor Optimise(IReadOnlyList<Tensor> taskVectors, int steps, double lr)
    {
        using var scope = NewDisposeScope();
        var x = stack(taskVectors);
        var norms = x.reshape(taskVectors.Count, -1).norm(-1).square().detach();
        var w = x.sum(dim: 0).detach().requires_grad_(true);
        var m = zeros_like(w);
        var v = zeros_like(w);
        const double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
        for (int step = 1; step <= steps; step++)
        {
            using var stepScope = NewDisposeScope();
            Tensor loss;
            using (enable_grad())
            {
                var diff = w.unsqueeze(0).sub(x);
                var inner = diff.matmul(x.transpose(1, 2));
                loss = inner.square().sum(new long[] { 1, 2 }).div(norms).sum();
                w.grad?.zero_();
                loss.backward();
            }
            using (no_grad())
            {
                var g = w.grad!;
                m.mul_(beta1).add_(g, alpha: 1 - beta1);
                v.mul_(beta2).addcmul_(g, g, value: 1 - beta2);
                double bias1 = 1 - Math.Pow(beta1, step), bias2 = 1 - Math.Pow(beta2, step);
                var denom = v.sqrt().div_(Math.Sqrt(bias2)).add_(eps);
                w.addcdiv_(m, denom, value: -lr / bias1);
            }
        }
        return w.detach().clone().MoveToOuterDisposeScope();
    }
}

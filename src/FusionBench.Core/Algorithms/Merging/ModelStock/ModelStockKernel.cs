using TorchSharp;
using static TorchSharp.torch;

namespace FusionBench.Core.Algorithms.Merging.ModelStock;

/// <summary>
/// Model Stock for one tensor: offsets oᵢ = θᵢ − θ₀, cos θ from the pairs of offsets, t = N·cos θ / ((N − 1)·cos θ + 1),
/// θ = t·mean(θᵢ) + (1 − t)·θ₀ — with FusionBench's or MergeKit's constants, as each writes them.
/// </summary>
internal static class ModelStockKernel
{
    /// <summary>FusionBench's <c>compute_angle</c>/<c>compute_ratio</c>/<c>merge_weights</c>: one ratio per tensor, ε = 1e-8.</summary>
    public static Tensor FusionBench(Tensor pre, IReadOnlyList<Tensor> models)
    {
        using var scope = NewDisposeScope();
        int n = models.Count;
        var offsets = models.Select(m => m.sub(pre).to(ScalarType.Float32)).ToList();
        double angleSum = 0;
        int pairs = 0;
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
            {
                // cos = Σ v1·v2 / (sqrt(Σ v1² · Σ v2²) + 1e-8), float32 sums, clamped; the angle in degrees (float64).
                var dot = offsets[i].mul(offsets[j]).sum();
                double norms = Math.Sqrt(offsets[i].square().sum().ToDouble() * offsets[j].square().sum().ToDouble());
                var cos = dot.div(norms + 1e-8).clamp(-1.0, 1.0);
                angleSum += Math.Acos(cos.ToSingle()) * 180.0 / Math.PI;
                pairs++;
            }
        double angle = angleSum / pairs * Math.PI / 180.0;
        double ratio = n * Math.Cos(angle) / ((n - 1) * Math.Cos(angle) + 1 + 1e-8);
        var average = Average(models);
        return average.mul(ratio).add_(pre.mul(1.0 - ratio)).MoveToOuterDisposeScope();
    }

    /// <summary>The fine-tuned models' mean, summed in pool order then divided (as FusionBench does).</summary>
    public static Tensor Average(IReadOnlyList<Tensor> models)
    {
        var sum = zeros_like(models[0]);
        foreach (var m in models) sum.add_(m);
        return sum.div_(models.Count);
    }

    /// <summary>
    /// MergeKit's <c>ModelStockMergeTask</c>: cos θ per tensor (or per row when <paramref name="filterWise"/>; a 1-D tensor is
    /// one row) as the mean of the pairwise cosines, each Σ oᵢoⱼ / max(‖oᵢ‖‖oⱼ‖, 1e-6) clamped to [−1, 1];
    /// t = N·cos θ / (1 + (N − 1)·cos θ); θ = t·(Σθᵢ/N) + (1 − t)·θ₀.
    /// </summary>
    public static Tensor MergeKit(Tensor pre, IReadOnlyList<Tensor> models, bool filterWise)
    {
        using var scope = NewDisposeScope();
        var shape = pre.shape;
        Tensor Shape(Tensor t) => filterWise ? (t.dim() == 1 ? t.unsqueeze(0) : t) : t.reshape(-1);
        var w0 = Shape(pre);
        var ws = models.Select(Shape).ToList();
        var offsets = ws.Select(w => w.sub(w0)).ToList();
        var cosines = new List<Tensor>();
        for (int i = 0; i < offsets.Count; i++)
            for (int j = i + 1; j < offsets.Count; j++)
            {
                var normProduct = offsets[i].norm(-1).mul(offsets[j].norm(-1));
                cosines.Add(offsets[i].mul(offsets[j]).sum(-1).div(normProduct.clamp_min(1e-6)).clamp(-1, 1));
            }
        var cos = stack(cosines).mean(new long[] { 0 }).unsqueeze(-1);
        int n = ws.Count;
        var t = cos.mul(n).div(cos.mul(n - 1).add(1));
        // Python's sum(ws) starts from 0 and adds in order; / len(ws).
        var avg = ws[0].clone();
        for (int i = 1; i < n; i++) avg.add_(ws[i]);
        avg.div_(n);
        var merged = t.mul(avg).add_(t.neg().add_(1).mul(w0));
        return merged.reshape(shape).MoveToOuterDisposeScope();
    }
}

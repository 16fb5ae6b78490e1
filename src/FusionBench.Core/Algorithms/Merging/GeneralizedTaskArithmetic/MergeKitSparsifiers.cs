using TorchSharp;
using static TorchSharp.torch;

namespace FusionBench.Core.Algorithms.Merging.GeneralizedTaskArithmetic;

/// <summary>How MergeKit's task-vector family prunes each task vector before it is mixed.</summary>
public enum SparsificationMethod
{
    /// <summary>Keep the <c>density</c> fraction of entries with the largest magnitude (TIES's trim).</summary>
    Magnitude,

    /// <summary>Keep each entry with probability <c>density</c> (DARE).</summary>
    Random,

    /// <summary>Drop the <c>gamma</c> fraction of largest-magnitude outliers and then the smallest, keeping <c>density</c> (Model Breadcrumbs).</summary>
    MagnitudeOutliers,

    /// <summary>Keep each entry with a probability that grows with its magnitude rank within its row, from density − ε to density + ε (DELLA's MagPrune).</summary>
    DellaMagprune,
}

/// <summary>
/// MergeKit's sparsifiers (<c>mergekit/sparsify.py</c>), each on one task-vector tensor in the compute dtype. A density
/// of 1 or more returns the tensor unchanged, as in MergeKit. With <c>rescale</c> the kept entries are scaled so that the
/// tensor's L1 norm is what it was (MergeKit's <c>rescale: true</c>), unless either norm is below 1e-7.
/// </summary>
internal static class MergeKitSparsifiers
{
    public static Tensor Sparsify(Tensor delta, SparsificationMethod method, double density, double gamma, double epsilon, bool rescale, Generator? generator)
    {
        if (density >= 1) return delta;
        using var scope = NewDisposeScope();
        Tensor mask = method switch
        {
            SparsificationMethod.Magnitude => MagnitudeMask(delta, density),
            SparsificationMethod.Random => bernoulli(full_like(delta, density), generator),
            SparsificationMethod.MagnitudeOutliers => OutlierMask(delta, density, gamma),
            SparsificationMethod.DellaMagprune => DellaMask(delta, density, epsilon, generator),
            _ => throw new ArgumentOutOfRangeException(nameof(method)),
        };
        return Rescaled(delta, mask, rescale).MoveToOuterDisposeScope();
    }

    /// <summary>The top ⌊density·n⌋ magnitudes (MergeKit asserts that at least one entry stays).</summary>
    private static Tensor MagnitudeMask(Tensor delta, double density)
    {
        long n = delta.numel();
        long k = (long)(density * n);
        if (k <= 0)
            throw new FusionException($"density {density} keeps no entry of a tensor of {n} elements (MergeKit's magnitude sparsifier needs ⌊density·n⌋ > 0).");
        var mask = zeros_like(delta);
        var top = delta.abs().flatten().argsort(descending: true).narrow(0, 0, k);
        mask.view(-1).index_fill_(0, top, 1);
        return mask;
    }

    /// <summary>
    /// Breadcrumbs: sort magnitudes ascending, drop the ⌊γ·n⌋ largest and the smallest so ⌊density·n⌋ stay. As MergeKit's
    /// <c>indices[n_bot:-n_top]</c>, nothing stays when n_top rounds to 0 (an empty slice: the whole task vector is dropped).
    /// </summary>
    private static Tensor OutlierMask(Tensor delta, double density, double gamma)
    {
        long n = delta.numel();
        long target = (long)(density * n);
        long nTop = (long)(gamma * n);
        long nBot = n - target - nTop;
        if (nBot < 0)
        {
            nTop += nBot;
            nBot = 0;
        }
        var mask = zeros_like(delta);
        long keep = n - nTop - nBot;
        if (nTop > 0 && keep > 0)
        {
            var order = delta.abs().flatten().argsort();
            mask.view(-1).index_fill_(0, order.narrow(0, nBot, keep), 1);
        }
        return mask;
    }

    /// <summary>
    /// DELLA MagPrune: per row (a 1-D tensor is one row), rank r ∈ 1..cols of |x|; r̂ = (r − min r)/(max r − min r) clamped
    /// to [0, 1] (½ for a row of one entry, where MergeKit fails); keep with probability (density − ε) + 2ε·r̂. density ≤ 0
    /// drops everything; density ± ε must lie in (0, 1).
    /// </summary>
    private static Tensor DellaMask(Tensor delta, double density, double epsilon, Generator? generator)
    {
        if (density <= 0) return zeros_like(delta);
        if (density + epsilon >= 1 || density - epsilon <= 0)
            throw new FusionException($"DELLA: epsilon {epsilon} must keep density ± epsilon inside (0, 1); density is {density}.");
        var rows = delta.dim() < 2 ? delta.unsqueeze(0) : delta;
        var ranks = rows.abs().argsort(dim: 1).argsort(dim: 1).to(delta.dtype).add_(1);
        var min = ranks.amin(new long[] { 1 }, keepdim: true);
        var max = ranks.amax(new long[] { 1 }, keepdim: true);
        // A row of one entry (max rank = min rank) gives 0/0 in MergeKit, whose bernoulli then fails; here such a row is
        // kept with probability density, the middle of the range.
        var span = max.sub(min);
        var rankNorm = where(span.gt(0), ranks.sub(min).div_(span.clamp_min(1)), full_like(ranks, 0.5)).clamp_(0, 1);
        var probs = rankNorm.mul_(2 * epsilon).add_(density - epsilon);
        return bernoulli(probs, generator).reshape(delta.shape);
    }

    private static Tensor Rescaled(Tensor delta, Tensor mask, bool rescale)
    {
        var masked = delta.mul(mask);
        if (!rescale) return masked;
        double before = delta.abs().sum().ToDouble();
        double after = masked.abs().sum().ToDouble();
        if (before < 1e-7 || after < 1e-7) return masked;
        // MergeKit multiplies by the ratio computed as a tensor of the compute dtype.
        return masked.mul_(delta.abs().sum().div(masked.abs().sum()));
    }
}

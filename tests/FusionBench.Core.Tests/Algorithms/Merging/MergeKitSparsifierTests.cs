using FusionBench.Core.Algorithms.Merging.GeneralizedTaskArithmetic;
using FusionBench.Core.Tests.TestSupport;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FusionBench.Core.Tests.Algorithms.Merging;

/// <summary>MergeKit's sparsifiers on exact numbers, including the edge cases MergeKit's code has.</summary>
public class MergeKitSparsifierTests
{
    [Fact]
    public void Magnitude_KeepsTheTopDensityEntries_AndRescaleKeepsTheL1Norm()
    {
        using var x = tensor(new float[] { 0.1f, -4f, 2f, -0.5f, 3f });
        using var kept = MergeKitSparsifiers.Sparsify(x, SparsificationMethod.Magnitude, 0.6, 0, 0, rescale: false, null);
        Assert.Equal(new[] { 0f, -4f, 2f, 0f, 3f }, TestData.Values(kept));
        using var rescaled = MergeKitSparsifiers.Sparsify(x, SparsificationMethod.Magnitude, 0.6, 0, 0, rescale: true, null);
        Assert.Equal(x.abs().sum().ToSingle(), rescaled.abs().sum().ToSingle(), 5);
    }

    [Fact]
    public void Breadcrumbs_DropsTheLargestOutliersAndTheSmallest_AndNothingStaysWhenGammaRoundsToNoEntry()
    {
        using var x = tensor(Enumerable.Range(1, 10).Select(i => (float)i).ToArray());
        // n_top = ⌊0.1·10⌋ = 1, target = ⌊0.7·10⌋ = 7, n_bot = 2: keep ranks 3..9.
        using var kept = MergeKitSparsifiers.Sparsify(x, SparsificationMethod.MagnitudeOutliers, 0.7, 0.1, 0, false, null);
        Assert.Equal(new[] { 0f, 0f, 3f, 4f, 5f, 6f, 7f, 8f, 9f, 0f }, TestData.Values(kept));
        // γ·n < 1: MergeKit's indices[n_bot:-0] is empty, so the whole task vector goes.
        using var none = MergeKitSparsifiers.Sparsify(x, SparsificationMethod.MagnitudeOutliers, 0.7, 0.05, 0, false, null);
        Assert.All(TestData.Values(none), v => Assert.Equal(0f, v));
    }

    [Fact]
    public void Della_RejectsAnEpsilonOutsideTheDensityRange_AndKeepsSingleEntryRowsWithProbabilityDensity()
    {
        using var x = ones(2000, 1);
        Assert.Throws<FusionException>(() => MergeKitSparsifiers.Sparsify(x, SparsificationMethod.DellaMagprune, 0.9, 0, 0.15, false, new Generator(1)));
        using var g = new Generator(1);
        // One entry per row: MergeKit divides 0 by 0 and fails; here such entries stay with probability density.
        using var kept = MergeKitSparsifiers.Sparsify(x, SparsificationMethod.DellaMagprune, 0.3, 0, 0.1, false, g);
        double fraction = kept.ne(0).sum().ToDouble() / 2000;
        Assert.InRange(fraction, 0.25, 0.35);
    }
}

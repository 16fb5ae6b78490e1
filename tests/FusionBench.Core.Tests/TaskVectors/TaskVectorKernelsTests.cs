using FusionBench.Core.TaskVectors;
using FusionBench.Core.Tests.TestSupport;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FusionBench.Core.Tests.TaskVectors;

/// <summary>The merging kernels on tiny tensors with hand-computed results.</summary>
public class TaskVectorKernelsTests
{
    [Fact]
    public void KeepThreshold_IsTheCutOfFusionBenchsRule()
    {
        using var m = tensor(new float[] { 0.5f, 4, 1, 3, 2, 0 }); // sorted: 0, 0.5, 1, 2, 3, 4
        Assert.Equal(3.0, TaskVectorKernels.KeepThreshold(m, 20));   // ⌊6·0.2⌋ = 1 → 5th smallest
        Assert.Equal(1.0, TaskVectorKernels.KeepThreshold(m, 50));   // ⌊3⌋ → 3rd smallest
        Assert.Equal(1.0, TaskVectorKernels.KeepThreshold(m, 0.5));  // ≤ 1 is a fraction, as in FusionBench
        Assert.Equal(4.0, TaskVectorKernels.KeepThreshold(m, 0));    // keep only the largest
        Assert.Null(TaskVectorKernels.KeepThreshold(m, 100));        // keep everything
        Assert.Equal(new float[] { 0.5f, 4, 1, 3, 2, 0 }, TestData.Values(m)); // input untouched
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void KthSmallest_OfLargeInputs_EqualsFullKthValue_AtEveryRank(int seed)
    {
        // Large enough for the radix path; ties (rounded magnitudes and a block of zeros) and a sorted run stress it.
        long n = TaskVectorKernels.RadixSelectMinimum + 12_345;
        using var g = new Generator((ulong)seed);
        using var values = randn(new[] { n }, generator: g).abs_();
        if (seed == 2) values.mul_(100).round_();
        if (seed == 3) values.narrow(0, 0, n / 2).copy_(arange(n / 2, dtype: ScalarType.Float32).div_(n));
        values.narrow(0, n - 1000, 1000).zero_();
        foreach (long k in new[] { 1L, 2, 1000, 1001, n / 5, n / 2, n - n / 5, n - 1, n })
        {
            double expected = values.kthvalue(k, 0, false).Item1.ToDouble();
            Assert.Equal(expected, TaskVectorKernels.KthSmallest(values, k));
        }
    }

    [Fact]
    public void Trim_ZeroesEntriesBelowEachRowsThreshold()
    {
        using var tv = tensor(new float[,] { { 1, -2, 3 }, { -0.5f, 0.25f, -4 } });
        TaskVectorKernels.Trim(tv, new double?[] { 2.0, null });
        Assert.Equal(new float[] { 0, -2, 3, -0.5f, 0.25f, -4 }, TestData.Values(tv));
    }

    [Fact]
    public void ElectSign_IsSignOfTheSum()
    {
        using var tv = tensor(new float[,] { { 1, -2, 3, 0 }, { -3, 1, 0, 0 } });
        using var s = TaskVectorKernels.ElectSign(tv);
        Assert.Equal(new float[] { -1, -1, 1, 0 }, TestData.Values(s));
    }

    [Theory]
    [InlineData(MergeFunction.Sum, new float[] { -3, -2, 3, -1 })]
    [InlineData(MergeFunction.Mean, new float[] { -3, -2, 3, -1 })]
    [InlineData(MergeFunction.Max, new float[] { -3, -2, 3, 0 })]
    public void DisjointMerge_AggregatesOnlyAgreeingEntries(MergeFunction f, float[] expected)
    {
        // Column 3 has elected sign 0: FusionBench's where(sign > 0, T > 0, T < 0) keeps its negative entry; max × 0 = 0.
        using var tv = tensor(new float[,] { { 1, -2, 3, 2 }, { -3, 1, 0, -1 } });
        using var sign = tensor(new float[] { -1, -1, 1, 0 });
        using var merged = TaskVectorKernels.DisjointMerge(tv, sign, f);
        Assert.Equal(expected, TestData.Values(merged));
    }

    [Fact]
    public void DisjointMerge_Mean_DividesByTheNumberOfAgreeingEntries()
    {
        using var tv = tensor(new float[,] { { 1, 2 }, { 3, -2 }, { 0, 4 } });
        using var sign = tensor(new float[] { 1, 1 });
        using var mean = TaskVectorKernels.DisjointMerge(tv, sign, MergeFunction.Mean);
        Assert.Equal(new float[] { 2, 3 }, TestData.Values(mean));
        using var max = TaskVectorKernels.DisjointMerge(tv, sign, MergeFunction.Max);
        Assert.Equal(new float[] { 3, 4 }, TestData.Values(max));
    }

    [Fact]
    public void TaskArithmetic_IsPrePlusScaledSumOfDifferences_AcrossChunkBoundaries()
    {
        long n = TaskVectorKernels.ChunkElements * 2 + 3;
        using var pre = arange(n, dtype: ScalarType.Float32).remainder_(1024);
        using var a = pre + 1;
        using var b = pre - 0.5;
        using var c = pre + 2;
        using var output = full(n, float.NaN);   // uninitialised output must be fully overwritten
        using var scratch = empty(TaskVectorKernels.ChunkElements);
        TaskVectorKernels.TaskArithmetic(output, pre, new[] { a, b, c }, 0.5, scratch);
        using var expected = pre + 1.25;          // pre + 0.5 · (1 − 0.5 + 2)
        Assert.True(output.eq(expected).all().ToBoolean());
    }

    [Fact]
    public void RandomDrop_KeepsOrZeroes_AndRescalesSurvivors()
    {
        using var tv = ones(100_000);
        using var g = new Generator(3);
        TaskVectorKernels.RandomDrop(tv, 0.25, rescale: true, g);
        using var nonzero = tv.ne(0);
        Assert.True(tv.masked_select(nonzero).eq(1 / 0.75f).all().ToBoolean());
        double keptFraction = nonzero.to(ScalarType.Float64).mean().ToDouble();
        Assert.InRange(keptFraction, 0.745, 0.755); // Bernoulli(0.75) over 1e5 draws: ±0.004 at 3 sigma
    }

    [Fact]
    public void Slerp_OfOrthogonalVectors_FollowsTheArc()
    {
        using var v0 = tensor(new float[] { 2, 0 });
        using var v1 = tensor(new float[] { 0, 2 });
        using var mid = TaskVectorKernels.Slerp(0.5, v0, v1);
        float c = (float)Math.Sqrt(2); // sin(π/4)/sin(π/2) · 2
        Assert.Equal(new[] { c, c }, TestData.Values(mid), new FloatTolerance(1e-6f));
        using var third = TaskVectorKernels.Slerp(1.0 / 3, v0, v1);
        Assert.Equal(new[] { 2 * (float)Math.Cos(Math.PI / 6), 2 * (float)Math.Sin(Math.PI / 6) }, TestData.Values(third), new FloatTolerance(1e-6f));
    }

    [Fact]
    public void Slerp_OfNearlyParallelVectors_IsLinear()
    {
        using var v0 = tensor(new float[] { 1, 0 });
        using var v1 = tensor(new float[] { 3, 0.001f });
        using var r = TaskVectorKernels.Slerp(0.25, v0, v1);
        Assert.Equal(new[] { 1.5f, 0.00025f }, TestData.Values(r), new FloatTolerance(1e-7f));
    }

    private sealed class FloatTolerance(float tolerance) : IEqualityComparer<float>
    {
        public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance;
        public int GetHashCode(float obj) => 0;
    }
}

using FusionBench.Core.Algorithms;
using FusionBench.Core.Algorithms.Merging.TiesMerging;
using FusionBench.Core.ModelPools;
using FusionBench.Core.TaskVectors;
using FusionBench.Core.Tests.TestSupport;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FusionBench.Core.Tests.TaskVectors;

/// <summary>
/// The fused TIES kernels (stored bits in, stored bits out) against the in-memory tensor merge, whose kernels are the
/// ones golden-tested against FusionBench: the same bits for every storage dtype and merge function.
/// </summary>
public class TiesKernelsTests
{
    /// <summary>
    /// A pretrained model and four fine-tunes in <paramref name="dtype"/>: a tensor over MergePlan.BlockElements (several
    /// row blocks), one where models 1 and 2 cancel exactly on some entries, one where every model equals the pretrained
    /// model on some entries, a vector and a scalar.
    /// </summary>
    private static (StateDict Pre, List<StateDict> Models) Pool(ScalarType dtype, int seed)
    {
        using var g = new Generator((ulong)seed);
        var shapes = new (string, long[])[] { ("embed.weight", new long[] { 1031, 1030 }), ("cancel.weight", new long[] { 9, 13 }), ("same.weight", new long[] { 6, 7 }), ("norm.weight", new long[] { 5 }), ("scale", Array.Empty<long>()) };
        var pre = new StateDict("pre");
        foreach (var (name, shape) in shapes) pre.Add(name, randn(shape, generator: g).to(dtype));
        var models = new List<StateDict>();
        for (int i = 0; i < 4; i++)
        {
            var m = new StateDict("m" + i);
            foreach (var (name, shape) in shapes)
            {
                using var p = pre[name].to(ScalarType.Float32);
                using var noise = randn(shape, generator: g).mul_(0.05);
                m.Add(name, p.add(noise).to(dtype));
            }
            models.Add(m);
        }
        // θ₂ − θ₀ = −(θ₁ − θ₀) exactly: mirror model 1 around the pretrained values by small multiples of one step.
        using (var p = pre["cancel.weight"].to(ScalarType.Float64))
        using (var step = randn(new long[] { 9, 13 }, generator: g).sign_().mul_(0.0078125))
        {
            models[0]["cancel.weight"].copy_(p.add(step));
            models[1]["cancel.weight"].copy_(p.sub(step));
        }
        using (var eq = pre["same.weight"].narrow(0, 0, 3))
            foreach (var m in models)
                using (var target = m["same.weight"].narrow(0, 0, 3))
                    target.copy_(eq);
        return (pre, models);
    }

    [Theory]
    [InlineData(ScalarType.BFloat16, "sum", 20.0, 0.3)]
    [InlineData(ScalarType.BFloat16, "mean", 60.0, 1.0)]
    [InlineData(ScalarType.BFloat16, "max", 100.0, -0.7)]
    [InlineData(ScalarType.Float16, "sum", 20.0, 0.3)]
    [InlineData(ScalarType.Float16, "max", 35.0, 0.5)]
    [InlineData(ScalarType.Float32, "sum", 20.0, 0.3)]
    [InlineData(ScalarType.Float32, "mean", 100.0, 0.3)]
    [InlineData(ScalarType.Float32, "max", 50.0, 1.0)]
    public void StreamedTies_OnStoredBits_EqualsTheInMemoryTensorMergeBitForBit(ScalarType dtype, string mergeFunc, double threshold, double lambda)
    {
        var (pre, models) = Pool(dtype, seed: 11);
        using var _ = pre;
        using var pool = new ModelPool(pre, models.Select((m, i) => KeyValuePair.Create($"t{i}", (IWeightSource)m)), ownsSources: false);
        var options = new TiesMergingOptions { Threshold = threshold, ScalingFactor = lambda, MergeFunc = Enum.Parse<MergeFunction>(mergeFunc, ignoreCase: true) };
        var ties = new TiesMergingAlgorithm(options);
        // The tensor-op path (model-sized threshold buffer, [N, n] matrices) is the reference; Fuse uses the kernels too.
        using var inMemory = TiesReference.ByTensorOps(pool, threshold, options.MergeFunc, lambda);
        using var fused = ties.Fuse(pool);
        using var streamed = ((IStreamingFusionAlgorithm)ties).FuseStreaming(pool)!;
        foreach (var name in pre.TensorNames)
        {
            using var s = streamed.Read(name);
            var e = inMemory[name];
            Assert.True(fused.Weights[name].contiguous().bytes.SequenceEqual(e.contiguous().bytes), $"{name}: Fuse differs from the tensor-op merge");
            Assert.Equal(dtype, s.dtype);
            Assert.True(s.contiguous().bytes.SequenceEqual(e.contiguous().bytes), $"{name} differs from the in-memory merge");
        }
        // The merge did something: the scaled, trimmed, elected task vector moved the large tensor.
        Assert.False(inMemory["embed.weight"].equal(pre["embed.weight"]).all().ToBoolean());
        foreach (var m in models) m.Dispose();
    }

    [Theory]
    [InlineData(ScalarType.BFloat16, 20.0)]
    [InlineData(ScalarType.BFloat16, 60.0)]
    [InlineData(ScalarType.Float16, 35.0)]
    [InlineData(ScalarType.Float32, 50.0)]
    public void TheSignTally_GivesTheSignPassTotal_AndTheSecondPassHistograms(ScalarType dtype, double threshold)
    {
        // Task vectors on a coarse grid (a few multiples of 1/64 around a pretrained value of 1, so the magnitudes crowd
        // into few buckets and exact cancellations abound): many entries have one, two or more models in their bucket
        // of rank k. The tally's sign total must be the separate sign pass's, and its low histograms the second pass's.
        using var g = new Generator(23);
        const int N = 5, Rows = 300, Cols = 1000;
        using var pre = ones(Rows, Cols).to(dtype);
        var models = Enumerable.Range(0, N).Select(i =>
        {
            using var steps = randint(-4, 5, new long[] { Rows, Cols }, generator: g).to(ScalarType.Float32).div_(64);
            return steps.add_(1).to(dtype);
        }).ToList();
        using var p = pre.view(-1);
        var m = models.Select(x => x.view(-1)).ToList();
        long d = p.numel(), k = d - (long)Math.Floor(d * threshold / 100);
        var high = m.Select(_ => new long[TiesKernels.HistogramLength]).ToArray();
        TiesKernels.AddHighHistograms(p, m, high);
        var buckets = high.Select(h => TaskVectorKernels.RadixBucket(TiesKernels.Fold(h), k)!.Value).ToArray();
        var bucketOf = buckets.Select(b => b.Bucket).ToArray();
        var low = m.Select(_ => new long[TiesKernels.HistogramLength]).ToArray();
        TiesKernels.AddLowHistograms(p, m, bucketOf, low);

        var tally = new TiesSignTally(bucketOf);
        // In two blocks, as a merge hands them over.
        using (var a = p.narrow(0, 0, d / 2)) tally.Add(a, m.Select(x => x.narrow(0, 0, d / 2)).ToList());
        using (var b = p.narrow(0, d / 2, d - d / 2)) tally.Add(b, m.Select(x => x.narrow(0, d / 2, d - d / 2)).ToList());
        var thresholds = new float[N];
        for (int i = 0; i < N; i++)
        {
            Assert.Equal(TiesKernels.Fold(low[i]), tally.LowHistogram(i));
            thresholds[i] = TaskVectorKernels.RadixValue(bucketOf[i], tally.LowHistogram(i), k - buckets[i].Below);
        }
        long expected = TiesKernels.ElectedSignSum(p, m, thresholds);
        Assert.Equal(expected, tally.SignTotal(thresholds));
        Assert.True(tally.SingleAmbiguousFlips > 0 && tally.Records > 0, $"the data did not exercise the tally ({tally.SingleAmbiguousFlips} flips, {tally.Records} recorded)");
        // Another threshold inside the same buckets gives another total, also the sign pass's: the tally is a function of it.
        var other = thresholds.Select((t, i) => BitConverter.UInt32BitsToSingle((uint)bucketOf[i] << 16)).ToArray();
        Assert.Equal(TiesKernels.ElectedSignSum(p, m, other), tally.SignTotal(other));
        foreach (var x in models) x.Dispose();
    }

    [Fact]
    public void ElectedSignSum_CountsTheSignsOfTheTrimmedSums()
    {
        // τ per entry (models × 4 entries): sums 0.5, −0.2 → trimmed 0 (|−0.2| < 0.3), 0 (cancel), 2 → signs 1, 0, 0, 1.
        using var pre = zeros(4);
        using var m1 = tensor(new float[] { 0.5f, -0.2f, 0.7f, 1f });
        using var m2 = tensor(new float[] { 0f, 0f, -0.7f, 1f });
        Assert.Equal(2, TiesKernels.ElectedSignSum(pre, new[] { m1, m2 }, new[] { 0.3f, float.NegativeInfinity }));
        using var output = empty(4);
        TiesKernels.Merge(output, pre, new[] { m1, m2 }, new[] { 0.3f, float.NegativeInfinity }, majority: -1, MergeFunction.Sum, 2.0);
        // Entry 2: sign 0 → majority −1 keeps −0.7; entry 1: both trimmed or zero → 0.
        Assert.Equal(new[] { 1f, 0f, -1.4f, 4f }, output.data<float>().ToArray());
    }
}

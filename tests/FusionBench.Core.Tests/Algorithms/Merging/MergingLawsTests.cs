using FusionBench.Core.Algorithms.Merging.DareTaskArithmetic;
using FusionBench.Core.Algorithms.Merging.DareTiesMerging;
using FusionBench.Core.Algorithms.Merging.SimpleAverage;
using FusionBench.Core.Algorithms.Merging.Slerp;
using FusionBench.Core.Algorithms.Merging.TaskArithmetic;
using FusionBench.Core.Algorithms.Merging.TiesMerging;
using FusionBench.Core.Algorithms.Merging.WeightedAverage;
using FusionBench.Core.ModelPools;
using FusionBench.Core.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FusionBench.Core.Tests.Algorithms.Merging;

/// <summary>Algebraic laws the merging methods must obey, on random models.</summary>
public class MergingLawsTests
{
    private static StateDict RandomModel(long seed, float scale = 1f, ScalarType dtype = ScalarType.Float32)
    {
        using var g = new Generator((ulong)seed);
        return TestData.Dict(
            ("a.weight", (randn(new long[] { 7, 5 }, generator: g) * scale).to(dtype)),
            ("a.bias", (randn(new long[] { 7 }, generator: g) * scale).to(dtype)),
            ("big.weight", (randn(new long[] { 70_001 }, generator: g) * scale).to(dtype)), // spans several accumulation chunks
            ("position_ids", arange(4, dtype: ScalarType.Int64)));
    }

    private static ModelPool Pool(StateDict? pretrained, params StateDict[] models) =>
        new(pretrained, models.Select((m, i) => new KeyValuePair<string, IWeightSource>($"task{i}", m)), ownsSources: false);

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void SimpleAverage_OfNCopies_IsThatModel(int n)
    {
        using var model = RandomModel(1);
        using var pool = Pool(null, Enumerable.Repeat(model, n).ToArray());
        using var result = new SimpleAverageAlgorithm().Fuse(pool);
        TestData.AssertIdentical(model, result.Weights); // N a power of two: sum and division are exact
    }

    [Fact]
    public void SimpleAverage_OfThreeCopies_IsThatModelToRounding()
    {
        using var model = RandomModel(2);
        using var pool = Pool(null, model, model, model);
        using var result = new SimpleAverageAlgorithm().Fuse(pool);
        TestData.AssertClose(model, result.Weights, atol: 0, rtol: 2.5e-7);
    }

    [Fact]
    public void WeightedAverage_OfCopies_IsThatModel_ForAnyNormalizedWeights()
    {
        using var model = RandomModel(3);
        using var pool = Pool(null, model, model, model);
        using var result = new WeightedAverageAlgorithm(new() { Weights = new[] { 0.1, 0.6, 1.3 } }).Fuse(pool);
        TestData.AssertClose(model, result.Weights, atol: 1e-7, rtol: 1e-6);
    }

    [Fact]
    public void TaskArithmetic_WithZeroScaling_IsPretrained_Exactly()
    {
        using var pre = RandomModel(4);
        using var a = RandomModel(5);
        using var b = RandomModel(6);
        using var pool = Pool(pre, a, b);
        using var result = new TaskArithmeticAlgorithm(new() { ScalingFactor = 0 }).Fuse(pool);
        TestData.AssertIdentical(pre, result.Weights);
    }

    [Fact]
    public void TaskArithmetic_EqualsPretrainedPlusScaledSumOfTaskVectors()
    {
        using var pre = RandomModel(7);
        using var a = RandomModel(8);
        using var b = RandomModel(9);
        using var pool = Pool(pre, a, b);
        using var result = new TaskArithmeticAlgorithm(new() { ScalingFactor = 0.7 }).Fuse(pool);
        using var expected = new StateDict();
        foreach (var n in pre.TensorNames)
            expected.Add(n, n == "position_ids" ? pre[n].clone() : pre[n] + 0.7 * ((a[n] - pre[n]) + (b[n] - pre[n])));
        TestData.AssertClose(expected, result.Weights, atol: 1e-6, rtol: 1e-6);
    }

    [Fact]
    public void Ties_WithNothingTrimmedAndNoSignConflict_EqualsTaskArithmetic()
    {
        using var pre = RandomModel(10);
        using var g = new Generator(11);
        // Task vectors that agree in sign everywhere: |noise| times one shared random sign pattern.
        var sign = TestData.Dict(pre.TensorNames.Where(n => n != "position_ids")
            .Select(n => (n, randn(pre[n].shape, generator: g).sign())).ToArray());
        StateDict FineTuned(float scale)
        {
            var d = new StateDict();
            foreach (var n in pre.TensorNames)
                d.Add(n, n == "position_ids" ? pre[n].clone() : pre[n] + sign[n] * randn(pre[n].shape, generator: g).abs() * scale);
            return d;
        }
        using var a = FineTuned(0.1f);
        using var b = FineTuned(0.3f);
        using var pool = Pool(pre, a, b);
        using var ties = new TiesMergingAlgorithm(new() { Threshold = 100, ScalingFactor = 0.4 }).Fuse(pool);
        using var ta = new TaskArithmeticAlgorithm(new() { ScalingFactor = 0.4 }).Fuse(pool);
        TestData.AssertClose(ta.Weights, ties.Weights, atol: 1e-6, rtol: 1e-6);
        sign.Dispose();
    }

    [Theory]
    // FusionBench's rule: with d entries and fraction K, the cut is the (d − ⌊d·K⌋)-th smallest magnitude and every
    // entry at least that large stays: ⌊d·K⌋ + 1 entries, plus any tied with the cut.
    [InlineData(new float[] { 1, 2, 3, 4, 5 }, 20, new float[] { 0, 0, 0, 4, 5 })]
    [InlineData(new float[] { 1, -3, 3, 3, 5 }, 20, new float[] { 0, -3, 3, 3, 5 })]
    [InlineData(new float[] { 1, 2, 3, 4, 5 }, 0, new float[] { 0, 0, 0, 0, 5 })]
    [InlineData(new float[] { 1, 2, -3, 4, 5 }, 100, new float[] { 1, 2, -3, 4, 5 })]
    public void Ties_TrimsByFusionBenchsRule_KeepingTiesWithTheCut(float[] taskVector, double threshold, float[] expected)
    {
        using var pre = TestData.Dict(("w", zeros(taskVector.Length)));
        using var ft = TestData.Dict(("w", tensor(taskVector)));
        using var pool = Pool(pre, ft);
        using var result = new TiesMergingAlgorithm(new() { Threshold = threshold, ScalingFactor = 1 }).Fuse(pool);
        Assert.Equal(expected, TestData.Values(result.Weights["w"]));
    }

    [Fact]
    public void Dare_WithZeroSparsity_EqualsTaskArithmeticAndTies()
    {
        using var pre = RandomModel(12);
        using var a = RandomModel(13);
        using var b = RandomModel(14);
        using var pool = Pool(pre, a, b);
        using var dareTa = new DareTaskArithmeticAlgorithm(new() { SparsityRatio = 0, ScalingFactor = 0.3 }).Fuse(pool);
        using var ta = new TaskArithmeticAlgorithm(new() { ScalingFactor = 0.3 }).Fuse(pool);
        TestData.AssertClose(ta.Weights, dareTa.Weights, atol: 1e-6, rtol: 1e-6);
        using var dareTies = new DareTiesMergingAlgorithm(new() { SparsityRatio = 0, ScalingFactor = 0.3 }).Fuse(pool);
        using var ties = new TiesMergingAlgorithm(new() { ScalingFactor = 0.3 }).Fuse(pool);
        TestData.AssertClose(ties.Weights, dareTies.Weights, atol: 1e-6, rtol: 1e-6);
    }

    [Fact]
    public void Dare_SameSeedSameResult_OtherSeedOtherResult_AndDropsAboutP()
    {
        using var pre = RandomModel(15);
        using var a = RandomModel(16);
        using var pool = Pool(pre, a);
        DareTaskArithmeticAlgorithm Dare(long seed) => new(new() { Seed = seed, SparsityRatio = 0.7, ScalingFactor = 1, Rescale = false });
        using var r1 = Dare(5).Fuse(pool);
        using var r2 = Dare(5).Fuse(pool);
        using var r3 = Dare(6).Fuse(pool);
        TestData.AssertIdentical(r1.Weights, r2.Weights);
        Assert.False(r1.Weights["big.weight"].eq(r3.Weights["big.weight"]).all().ToBoolean());
        // A dropped entry adds exactly 0, so it equals the pretrained weight; a kept one moves to the fine-tuned weight.
        double kept = r1.Weights["big.weight"].ne(pre["big.weight"]).to(ScalarType.Float64).mean().ToDouble();
        Assert.InRange(kept, 0.29, 0.31); // 70,001 Bernoulli(0.3) draws: 0.3 ± 0.005 at 3 sigma
    }

    [Fact]
    public void Slerp_AtEnds_GivesEachModel()
    {
        using var pre = RandomModel(17);
        using var a = RandomModel(18);
        using var pool = Pool(pre, a);
        using var t0 = new SlerpAlgorithm(new() { T = 0 }).Fuse(pool);
        using var t1 = new SlerpAlgorithm(new() { T = 1 }).Fuse(pool);
        TestData.AssertClose(pre, t0.Weights, atol: 1e-6, rtol: 1e-6);
        TestData.AssertClose(a, t1.Weights, atol: 1e-6, rtol: 1e-6);
    }

    [Fact]
    public void Merge_KeepsEachTensorsDtype_AndCopiesIntegerBuffersFromPretrained()
    {
        using var pre = RandomModel(19, dtype: ScalarType.BFloat16);
        using var a = RandomModel(20, dtype: ScalarType.BFloat16);
        a["position_ids"].fill_(9); // a fine-tuned model's integer buffer must not leak into the merge
        using var pool = Pool(pre, a);
        using var result = new TaskArithmeticAlgorithm(new()).Fuse(pool);
        Assert.Equal(ScalarType.BFloat16, result.Weights["a.weight"].dtype);
        Assert.Equal(new long[] { 0, 1, 2, 3 }, result.Weights["position_ids"].data<long>().ToArray());
    }

    [Fact]
    public void Merge_WithMismatchedShapes_NamesTensorAndModels()
    {
        using var pre = RandomModel(21);
        using var bad = TestData.Dict(("a.weight", zeros(5, 7)), ("a.bias", zeros(7)), ("big.weight", zeros(70_001)), ("position_ids", arange(4)));
        using var pool = Pool(pre, bad);
        var e = Assert.Throws<FusionException>(() => new TaskArithmeticAlgorithm(new()).Fuse(pool));
        Assert.Contains("'a.weight'", e.Message);
        Assert.Contains("[7, 5]", e.Message);
        Assert.Contains("[5, 7]", e.Message);
        Assert.Contains("task0", e.Message);
    }

    [Fact]
    public void Merge_WithMissingOrExtraTensor_NamesIt()
    {
        using var pre = RandomModel(22);
        using var missing = TestData.Dict(("a.weight", zeros(7, 5)), ("a.bias", zeros(7)), ("position_ids", arange(4)));
        using var pool = Pool(pre, missing);
        var e = Assert.Throws<FusionException>(() => new SimpleAverageAlgorithm().Fuse(pool));
        Assert.Contains("'big.weight'", e.Message);
        Assert.Contains("missing from model 'task0'", e.Message);

        using var extra = RandomModel(23);
        extra.Add("extra.weight", zeros(2));
        using var pool2 = Pool(pre, extra);
        var e2 = Assert.Throws<FusionException>(() => new SimpleAverageAlgorithm().Fuse(pool2));
        Assert.Contains("'extra.weight'", e2.Message);
    }

    [Fact]
    public void WeightedAverage_WithWrongWeightCount_NamesTheParameter()
    {
        using var a = RandomModel(24);
        using var pool = Pool(null, a, a, a);
        var e = Assert.Throws<FusionParameterException>(() => new WeightedAverageAlgorithm(new()).Fuse(pool));
        Assert.Equal("weights", e.Parameter);
        Assert.Contains("3 models", e.Message);
    }

    [Fact]
    public void Fuse_HonoursCancellation()
    {
        using var pre = RandomModel(25);
        using var pool = Pool(pre, pre);
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.Throws<OperationCanceledException>(() => new TaskArithmeticAlgorithm(new()).Fuse(pool, cts.Token));
    }

    [Fact]
    public void EveryRegisteredMethod_RunsOnATinyPool_FiniteWithEveryTensorAndShape()
    {
        using var services = new ServiceCollection().AddFusionBench().Services.BuildServiceProvider();
        var provider = services.GetRequiredService<IFusionAlgorithmProvider>();
        using var pre = RandomModel(26);
        using var a = RandomModel(27);
        using var b = RandomModel(28);
        using var pool = Pool(pre, a, b);
        var overrides = new Dictionary<string, Dictionary<string, string>>
        {
            ["weighted_average"] = new() { ["weights"] = "[0.4,0.6]" },
            ["slerp"] = new() { ["model"] = "task1" },
        };
        // Data-free merging methods (the data-driven ones need a pool with data and are tested on the image suite).
        var merging = provider.Registrations.Where(r => provider.Get(r.Name).Info.Category == FusionCategory.Merging && !new[] { "task_wise_adamerging", "layer_wise_adamerging", "fisher_merging", "regmean" }.Contains(r.Name)).ToList();
        Assert.Equal(22, merging.Count); // FusionBench 1.0's 7 data-free merges + 15 newer
        foreach (var r in merging)
        {
            var algorithm = provider.Create(r.Name, overrides.GetValueOrDefault(r.Name) ?? new());
            using var result = algorithm.Fuse(pool);
            Assert.Equal(r.Name, result.Method.Name);
            Assert.Equal(pre.TensorNames, result.Weights.TensorNames);
            foreach (var n in pre.TensorNames)
            {
                Assert.Equal(pre[n].shape, result.Weights[n].shape);
                Assert.Equal(pre[n].dtype, result.Weights[n].dtype);
                if (is_floating_point(pre[n].dtype)) Assert.True(result.Weights[n].isfinite().all().ToBoolean(), $"{r.Name}/{n} not finite");
            }
            Assert.True(result.WallTime > TimeSpan.Zero);
        }
    }
}

using FusionBench.Core.Algorithms.Merging.AdaMerging;
using FusionBench.Core.Algorithms.Merging.TaskArithmetic;
using FusionBench.Suites.Image;
using FusionBench.Core.Tests.TestSupport;
using Xunit;

namespace FusionBench.Suites.Tests.Image;

/// <summary>AdaMerging on the tiny zoo built for the suite tests.</summary>
[Collection(ImageSuiteCollection.Name)]
public class AdaMergingTests(ImageSuiteFixture zoo)
{
    private ImageSuiteModelPool Pool() => ImageSuiteModelPool.Open(zoo.ZooDirectory, ImageSuiteFixture.DataDirectory);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void AdaMerging_WithFrozenCoefficients_EqualsTaskArithmetic(bool layerWise)
    {
        using var pool = Pool();
        var options = new AdaMergingOptions { MaxSteps = 0, InitValues = 0.3 };
        AdaMergingAlgorithm ada = layerWise ? new LayerWiseAdaMergingAlgorithm(options) : new TaskWiseAdaMergingAlgorithm(options);
        using var adaResult = ada.Fuse(pool);
        using var ta = new TaskArithmeticAlgorithm(new() { ScalingFactor = 0.3 }).Fuse(pool);
        TestData.AssertClose(ta.Weights, adaResult.Weights, atol: 1e-6, rtol: 1e-5);
    }

    [Fact]
    public void LayerWiseAdaMerging_EntropyFallsOverItsFirstSteps()
    {
        using var pool = Pool();
        using var result = new LayerWiseAdaMergingAlgorithm(new AdaMergingOptions { MaxSteps = 30, Lr = 0.05, BatchSize = 32, Seed = 1 }).Fuse(pool);
        var entropy = (List<double>)result.Details["entropy"]!;
        Assert.Equal(30, entropy.Count);
        Assert.True(entropy.Skip(25).Average() < entropy.Take(5).Average(),
            $"entropy did not fall: first {entropy.Take(5).Average():F4}, last {entropy.Skip(25).Average():F4}");
        var lambda = (double[][])result.Details["merging_weights"]!;
        Assert.Equal(8, lambda.Length);
        Assert.Contains(lambda.SelectMany(r => r), v => Math.Abs(v - 0.3) > 1e-3); // the coefficients moved
    }

    [Fact]
    public void SavedCoefficients_ReproduceTheSameMergedWeights()
    {
        using var pool = Pool();
        string path = zoo.NewTempPath("merging_weights.safetensors");
        using var trained = new TaskWiseAdaMergingAlgorithm(new AdaMergingOptions { MaxSteps = 5, Lr = 0.05, SaveMergingWeights = path }).Fuse(pool);
        Assert.True(File.Exists(path));
        using var reloaded = new TaskWiseAdaMergingAlgorithm(new AdaMergingOptions { Weights = path, MaxSteps = 1000 }).Fuse(pool);
        TestData.AssertIdentical(trained.Weights, reloaded.Weights);
        Assert.False(reloaded.Details.ContainsKey("entropy")); // no training ran

        var e = Assert.Throws<FusionParameterException>(() => new LayerWiseAdaMergingAlgorithm(new AdaMergingOptions { Weights = path }).Fuse(pool));
        Assert.Contains("shape [8]", e.Message);
    }

    [Fact]
    public void AdaMerging_WithoutData_IsAClearError()
    {
        using var pool = TestData.GoldenPool();
        var e = Assert.Throws<FusionException>(() => new TaskWiseAdaMergingAlgorithm(new AdaMergingOptions()).Fuse(pool));
        Assert.Contains("unlabeled test inputs", e.Message);
    }
}

using FusionBench.Core.Algorithms.Merging.FisherMerging;
using FusionBench.Core.Algorithms.Merging.RegMean;
using FusionBench.Core.Algorithms.Merging.SimpleAverage;
using FusionBench.Suites.Image;
using FusionBench.Core.Tests.TestSupport;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FusionBench.Suites.Tests.Image;

/// <summary>Fisher merging and RegMean: kernels with exact numbers and laws, and runs on the tiny zoo.</summary>
[Collection(ImageSuiteCollection.Name)]
public class DataDrivenMergingTests(ImageSuiteFixture zoo)
{
    [Fact]
    public void FisherAndRegMean_RunOnTheZoo_LinearLayersSolved_OtherParametersAveraged()
    {
        using var pool = ImageSuiteModelPool.Open(zoo.ZooDirectory, ImageSuiteFixture.DataDirectory);
        using var average = new SimpleAverageAlgorithm().Fuse(pool);
        using var regmean = new RegMeanAlgorithm(new RegMeanOptions { NumRegmeanExamples = 64 }).Fuse(pool);
        using var fisher = new FisherMergingAlgorithm(new FisherMergingOptions { NumFisherExamples = 64 }).Fuse(pool);
        foreach (var name in average.Weights.TensorNames)
        {
            Assert.True(regmean.Weights[name].isfinite().all().ToBoolean() && fisher.Weights[name].isfinite().all().ToBoolean(), name);
            bool linear = name.EndsWith("proj.weight", StringComparison.Ordinal) || name.EndsWith("fc1.weight", StringComparison.Ordinal) || name.EndsWith("fc2.weight", StringComparison.Ordinal);
            if (linear) Assert.False(regmean.Weights[name].allclose(average.Weights[name]), $"{name}: RegMean left a linear layer at the mean");
            else Assert.True(regmean.Weights[name].allclose(average.Weights[name], rtol: 1e-5, atol: 1e-6), $"{name}: RegMean should average it");
        }
        Assert.False(fisher.Weights["vision_model.encoder.layers.0.mlp.fc1.weight"].allclose(average.Weights["vision_model.encoder.layers.0.mlp.fc1.weight"]));
    }

    [Fact]
    public void DataDrivenMerges_WithoutData_AreAClearError()
    {
        using var pool = TestData.GoldenPool();
        Assert.Contains("training inputs", Assert.Throws<FusionException>(() => new FisherMergingAlgorithm(new()).Fuse(pool)).Message);
        Assert.Contains("training inputs", Assert.Throws<FusionException>(() => new RegMeanAlgorithm(new()).Fuse(pool)).Message);
    }
}

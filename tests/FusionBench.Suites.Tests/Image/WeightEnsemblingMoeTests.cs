using FusionBench.Core.Algorithms.Merging.TaskArithmetic;
using FusionBench.Core.Algorithms.Mixing.WeightEnsemblingMoe;
using FusionBench.Suites.Image;
using FusionBench.Core.Tests.TestSupport;
using TorchSharp;
using Xunit;

namespace FusionBench.Suites.Tests.Image;

[Collection(ImageSuiteCollection.Name)]
public class WeightEnsemblingMoeTests(ImageSuiteFixture zoo)
{
    private ImageSuiteModelPool Pool() => ImageSuiteModelPool.Open(zoo.ZooDirectory, ImageSuiteFixture.DataDirectory);

    [Fact]
    public void Wemoe_WhoseRoutersOutputAConstantLambda_EqualsTaskArithmeticWithThatLambda()
    {
        using var pool = Pool();
        using var wemoe = new WeightEnsemblingMoeAlgorithm(new() { RouterHiddenLayers = 0, InitLambda = 0.4, MaxSteps = 0 }).Fuse(pool);
        using var ta = new TaskArithmeticAlgorithm(new() { ScalingFactor = 0.4 }).Fuse(pool);
        var x = pool.TestInputs("fashion").narrow(0, 0, 16);
        using var expected = pool.Architecture.Forward(ta.Weights, x);
        using var actual = wemoe.Model!.Forward(x);
        Assert.True(actual.allclose(expected, rtol: 1e-4, atol: 1e-5), $"max |diff| {(actual - expected).abs().max().ToDouble()}");
        // The task pool evaluates the WEMoE model like any fused model.
        var report = pool.CreateTaskPool().Evaluate(wemoe);
        var taReport = pool.CreateTaskPool().Evaluate(ta);
        Assert.Equal(taReport.Average.Accuracy, report.Average.Accuracy, 6);
    }

    [Fact]
    public void Wemoe_TrainingLowersEntropy_AndSavedRoutersReproduceTheModel()
    {
        using var pool = Pool();
        string path = zoo.NewTempPath("routers.safetensors");
        using var trained = new WeightEnsemblingMoeAlgorithm(new() { MaxSteps = 25, Lr = 0.01, BatchSize = 32, Seed = 3, SaveCheckpoint = path }).Fuse(pool);
        var entropy = (List<double>)trained.Details["entropy"]!;
        Assert.True(entropy.Skip(20).Average() < entropy.Take(5).Average(), $"entropy did not fall: {entropy.Take(5).Average():F4} → {entropy.Skip(20).Average():F4}");
        using var reloaded = new WeightEnsemblingMoeAlgorithm(new() { Checkpoint = path, Seed = 99 }).Fuse(pool);
        var x = pool.TestInputs("digits").narrow(0, 0, 8);
        using var a = trained.Model!.Forward(x);
        using var b = reloaded.Model!.Forward(x);
        Assert.True(a.allclose(b, rtol: 1e-6, atol: 1e-6));
    }

    [Fact]
    public void Wemoe_WithoutBatchReduce_RoutesEachSampleOnItsOwn()
    {
        using var pool = Pool();
        using var perSample = new WeightEnsemblingMoeAlgorithm(new() { BatchReduce = false, MaxSteps = 0 }).Fuse(pool);
        var x = pool.TestInputs("mnist").narrow(0, 0, 4);
        using var batch = perSample.Model!.Forward(x);
        using var first = perSample.Model.Forward(x.narrow(0, 0, 1));
        Assert.True(batch.narrow(0, 0, 1).allclose(first, rtol: 1e-5, atol: 1e-6)); // a sample's output does not depend on its batch
    }

    [Fact]
    public void Wemoe_WithoutData_IsAClearError()
    {
        using var pool = TestData.GoldenPool();
        Assert.Contains("unlabeled test inputs", Assert.Throws<FusionException>(() => new WeightEnsemblingMoeAlgorithm(new()).Fuse(pool)).Message);
    }
}

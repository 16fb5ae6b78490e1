using FusionBench.Core.Algorithms.Ensembling.MaxModelPredictor;
using FusionBench.Core.Algorithms.Ensembling.SimpleEnsemble;
using FusionBench.Core.Algorithms.Ensembling.WeightedEnsemble;
using FusionBench.Core.Models;
using FusionBench.Core.ModelPools;
using FusionBench.Core.Tests.TestSupport;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FusionBench.Core.Tests.Algorithms.Ensembling;

public class EnsemblingTests
{
    private static readonly ClipVisionModel Architecture = new(new ClipVisionConfig(HiddenSize: 16, IntermediateSize: 32, NumHiddenLayers: 1, NumAttentionHeads: 2));

    /// <summary>An in-memory pool of ViT weights that knows its architecture.</summary>
    private sealed class Pool(params StateDict[] models) : IArchitectureModelPool, IDisposable
    {
        private readonly ModelPool _inner = new(null, models.Select((m, i) => new KeyValuePair<string, IWeightSource>($"m{i}", m)), ownsSources: false);
        public IWeightSource? Pretrained => null;
        public IReadOnlyList<string> ModelNames => _inner.ModelNames;
        public IWeightSource GetModel(string name) => _inner.GetModel(name);
        public IFunctionalModel Architecture => EnsemblingTests.Architecture;
        public void Dispose() => _inner.Dispose();
    }

    private static StateDict Weights(ulong seed)
    {
        using var g = new Generator(seed);
        return Architecture.InitializeWeights(g);
    }

    private static Tensor Input()
    {
        using var g = new Generator(9);
        return rand(new long[] { 5, 1, 28, 28 }, generator: g);
    }

    [Fact]
    public void EnsemblesOfNCopies_EqualTheSingleModel()
    {
        using var w = Weights(1);
        using var pool = new Pool(w, w, w);
        using var x = Input();
        using var single = Architecture.Forward(w, x);
        IFusionAlgorithm[] methods =
        {
            new SimpleEnsembleAlgorithm(), new MaxModelPredictorAlgorithm(), new WeightedEnsembleAlgorithm(new() { Weights = new[] { 0.2, 0.3, 0.5 } }),
        };
        foreach (var method in methods)
        {
            using var result = method.Fuse(pool);
            Assert.False(result.HasWeights);
            using var y = result.Model!.Forward(x);
            Assert.True(y.allclose(single, rtol: 1e-5, atol: 1e-6), $"{method.Info.Name} differs from the single model");
        }
    }

    [Fact]
    public void Ensembles_AggregateTheMembersOutputs_Exactly()
    {
        using var a = Weights(2);
        using var b = Weights(3);
        using var pool = new Pool(a, b);
        using var x = Input();
        using var fa = Architecture.Forward(a, x);
        using var fb = Architecture.Forward(b, x);
        using (var mean = new SimpleEnsembleAlgorithm().Fuse(pool))
        using (var y = mean.Model!.Forward(x))
            Assert.True(y.allclose((fa + fb) / 2, rtol: 1e-5, atol: 1e-6));
        using (var max = new MaxModelPredictorAlgorithm().Fuse(pool))
        using (var y = max.Model!.Forward(x))
            Assert.True(y.eq(maximum(fa, fb)).all().ToBoolean());
        using (var weighted = new WeightedEnsembleAlgorithm(new() { Weights = new[] { 2.0, -1.0 }, Normalize = false }).Fuse(pool))
        using (var y = weighted.Model!.Forward(x))
            Assert.True(y.allclose(2 * fa - fb, rtol: 1e-5, atol: 1e-5));
    }

    [Fact]
    public void Ensemble_OnAPoolWithoutArchitecture_IsAClearError_AndHasNoWeights()
    {
        using var pool = TestData.GoldenPool();
        var e = Assert.Throws<FusionException>(() => new SimpleEnsembleAlgorithm().Fuse(pool));
        Assert.Contains("needs a model pool with an architecture", e.Message);

        using var w = Weights(4);
        using var archPool = new Pool(w);
        using var result = new SimpleEnsembleAlgorithm().Fuse(archPool);
        Assert.Contains("use FusionResult.Model", Assert.Throws<InvalidOperationException>(() => result.Weights).Message);
        Assert.Throws<FusionParameterException>(() => new WeightedEnsembleAlgorithm(new() { Weights = new[] { 1.0, 2.0 } }).Fuse(archPool));
    }
}

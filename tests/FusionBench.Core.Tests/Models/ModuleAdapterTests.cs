using FusionBench.Core.Algorithms.Merging.RegMean;
using FusionBench.Core.Models;
using FusionBench.Core.Tests.TestSupport;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FusionBench.Core.Tests.Models;

/// <summary>An ordinary TorchSharp module under the functional contract: same forward, gradients to the supplied weights, RegMean's inputs.</summary>
public class ModuleAdapterTests
{
    /// <summary>The golden MLP (fc1 6→8, exact GELU, fc2 8→5) as a plain TorchSharp module.</summary>
    private static nn.Module<Tensor, Tensor> GoldenMlp() => nn.Sequential(("fc1", nn.Linear(6, 8)), ("act", nn.GELU()), ("fc2", nn.Linear(8, 5)));

    [Fact]
    public void Forward_IsTheModulesForwardWithTheSuppliedWeights_AndGradientsReachThem()
    {
        var module = GoldenMlp();
        var adapter = new ModuleAdapter(module);
        Assert.Equal(FusionBenchGolden.EncoderNames.Order(StringComparer.Ordinal), adapter.Parameters.Keys.Order(StringComparer.Ordinal));
        using var pool = FusionBenchGolden.Pool();
        using var theta = StateDict.CopyFrom(pool.Pretrained!);
        using var tuned = StateDict.CopyFrom(pool.GetModel("task_a"));
        using var x = pool.TestInputs("task_a").narrow(0, 0, 16);
        var own = module.named_parameters().ToDictionary(p => p.name, p => (p.parameter, Value: p.parameter.detach().clone()));

        // θ = θ₀ + λ·τ, as AdaMerging builds it: the same output and the same dλ through the adapter as through MlpEncoder.
        double Grad(IFunctionalModel model, out Tensor output)
        {
            using var lambda = tensor(0.3f).requires_grad_(true);
            var w = theta.TensorNames.ToDictionary(n => n, n => theta[n] + lambda * (tuned[n] - theta[n]));
            output = model.Forward(w, x);
            output.pow(2).sum().backward();
            return lambda.grad!.ToDouble();
        }
        double viaAdapter = Grad(adapter, out var y1), viaFunctional = Grad(new MlpEncoder(), out var y2);
        Assert.True(y1.allclose(y2, rtol: 1e-5, atol: 1e-6), "outputs differ");
        Assert.NotEqual(0, viaAdapter);
        Assert.Equal(viaFunctional, viaAdapter, 4);

        // The module is left as it was: its own parameter objects, values and no gradient from the call.
        foreach (var (name, parameter) in module.named_parameters())
        {
            Assert.Same(own[name].parameter, parameter);
            Assert.True(parameter.equal(own[name].Value).all().ToBoolean(), name);
            Assert.Null(parameter.grad);
        }
    }

    [Fact]
    public void RegMean_OnTheWrappedModule_MatchesFusionBenchsOwnResult()
    {
        // The same golden case as RegMean_MatchesFusionBench, with the architecture an adapted TorchSharp module.
        using var golden = FusionBenchGolden.Open("regmean_default");
        var p = FusionBenchGolden.Case("regmean_default").GetProperty("parameters");
        using var pool = FusionBenchGolden.Pool(architecture: new ModuleAdapter(GoldenMlp()));
        var options = new RegMeanOptions
        {
            NumRegmeanExamples = p.GetProperty("num_regmean_examples").GetInt32(),
            BatchSize = p.GetProperty("dataloader_kwargs").GetProperty("batch_size").GetInt32(),
            ReduceNonDiagonalRatio = p.GetProperty("reduce_non_diagonal_ratio").GetDouble(),
        };
        using var result = new RegMeanAlgorithm(options).Fuse(pool);
        FusionBenchGolden.AssertTensors(golden, "out.merged.", result.Weights, FusionBenchGolden.EncoderNames, rtol: 1e-3, atol: 1e-5);
        using var builtIn = FusionBenchGolden.Pool();
        using var reference = new RegMeanAlgorithm(options).Fuse(builtIn);
        TestData.AssertClose(reference.Weights, result.Weights, atol: 1e-6, rtol: 1e-5);
    }

    /// <summary>A pre-norm residual block with an <c>mlp</c>, the usual transformer pattern.</summary>
    private sealed class Block : nn.Module<Tensor, Tensor>
    {
        private readonly TorchSharp.Modules.LayerNorm ln = nn.LayerNorm(8);
        private readonly nn.Module<Tensor, Tensor> mlp = nn.Sequential(("fc1", nn.Linear(8, 16)), ("act", nn.GELU()), ("fc2", nn.Linear(16, 8)));

        public Block() : base(nameof(Block)) => RegisterComponents();

        public override Tensor forward(Tensor x) => x + mlp.call(ln.call(x)); // call(), not forward(): hooks run, as nn.Sequential calls its children
    }

    private sealed class Net : nn.Module<Tensor, Tensor>
    {
        private readonly TorchSharp.Modules.Linear embed = nn.Linear(6, 8);
        private readonly TorchSharp.Modules.ModuleList<Block> layers = nn.ModuleList(new Block(), new Block());

        public Net() : base(nameof(Net)) => RegisterComponents();

        public override Tensor forward(Tensor x)
        {
            var h = embed.forward(x);
            foreach (var layer in layers) h = layer.forward(h);
            return h;
        }
    }

    [Fact]
    public void Wemoe_OnAModuleWithTheUsualBlockPattern_RoutesEachBlocksMlp()
    {
        var adapter = new ModuleAdapter(new Net());
        Assert.Equal("layers.1.", adapter.LayerPrefix(1));
        Assert.Equal(new[] { "mlp.fc1.weight", "mlp.fc1.bias", "mlp.fc2.weight", "mlp.fc2.bias" }, adapter.MlpTensorNames);
        using var g = new Generator(4);
        StateDict Weights(string name, StateDict? around)
        {
            var d = new StateDict(name);
            foreach (var (n, info) in adapter.Parameters)
                d.Add(n, around is null ? randn(info.Shape, generator: g).mul_(0.3) : around[n] + randn(info.Shape, generator: g).mul_(0.05));
            return d;
        }
        var pretrained = Weights("pretrained", null);
        var models = new Dictionary<string, StateDict> { ["a"] = Weights("a", pretrained), ["b"] = Weights("b", pretrained) };
        using var pool = new MlpDataPool(pretrained, models, models.Keys.ToDictionary(k => k, _ => randn(new long[] { 3, 8 }, generator: g)),
            models.Keys.ToDictionary(k => k, _ => randn(new long[] { 16, 6 }, generator: g)), models.Keys.ToDictionary(k => k, _ => randn(new long[] { 16, 6 }, generator: g)),
            adapter);
        Assert.Equal(2, adapter.CountLayers(pretrained));

        using var wemoe = new FusionBench.Core.Algorithms.Mixing.WeightEnsemblingMoe.WeightEnsemblingMoeAlgorithm(
            new() { MaxSteps = 0, RouterHiddenLayers = 0, InitLambda = 0.3 }).Fuse(pool);
        // The routers say 0.9 for both models while the rest stays task arithmetic at 0.3: only a routed MLP explains the output.
        var moe = (FusionBench.Core.Algorithms.Mixing.WeightEnsemblingMoe.WeightEnsemblingMoeModel)wemoe.Model!;
        using (no_grad()) foreach (var name in moe.Routers.TensorNames) moe.Routers[name].fill_(0.9);
        var expected = new Dictionary<string, Tensor>();
        foreach (var n in pretrained.TensorNames)
            expected[n] = pretrained[n] + (n.Contains(".mlp.") ? 0.9 : 0.3) * (models["a"][n] - pretrained[n] + models["b"][n] - pretrained[n]);
        using var x = randn(new long[] { 5, 6 }, generator: g);
        using var noGrad = no_grad();
        using var want = adapter.Forward(expected, x);
        using var got = moe.Forward(x);
        Assert.True(got.allclose(want, rtol: 1e-5, atol: 1e-5), $"max |diff| {(got - want).abs().max().ToDouble()}");
        var ta = pretrained.TensorNames.ToDictionary(n => n, n => pretrained[n] + 0.3 * (models["a"][n] - pretrained[n] + models["b"][n] - pretrained[n]));
        using var plainTa = adapter.Forward(ta, x);
        Assert.False(got.allclose(plainTa, rtol: 1e-5, atol: 1e-5), "the routed MLPs changed nothing");
    }

    [Fact]
    public void AModuleWhoseWeightsTorchSharpHoldsNatively_IsAClearError()
    {
        var module = nn.Sequential(("emb", nn.Embedding(10, 4)), ("fc", nn.Linear(4, 2)));
        var e = Assert.Throws<FusionException>(() => new ModuleAdapter(module));
        Assert.Contains("emb.weight", e.Message);
        Assert.Contains("Embedding", e.Message);

        // Per-layer MLP routing (WEMoE) on a module without blocks of the usual pattern: one error saying what is missing.
        using var pool = FusionBenchGolden.Pool(architecture: new ModuleAdapter(GoldenMlp()));
        var wemoe = new FusionBench.Core.Algorithms.Mixing.WeightEnsemblingMoe.WeightEnsemblingMoeAlgorithm(new() { MaxSteps = 1 });
        Assert.Contains("no block list with an 'mlp' submodule", Assert.Throws<FusionException>(() => wemoe.Fuse(pool)).Message);
    }
}

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

    [Fact]
    public void AModuleWhoseWeightsTorchSharpHoldsNatively_IsAClearError()
    {
        var module = nn.Sequential(("emb", nn.Embedding(10, 4)), ("fc", nn.Linear(4, 2)));
        var e = Assert.Throws<FusionException>(() => new ModuleAdapter(module));
        Assert.Contains("emb.weight", e.Message);
        Assert.Contains("Embedding", e.Message);

        // Per-layer MLP routing (WEMoE) needs ILayerMlpModel, which a plain module does not describe: one clear error.
        using var pool = FusionBenchGolden.Pool(architecture: new ModuleAdapter(GoldenMlp()));
        var wemoe = new FusionBench.Core.Algorithms.Mixing.WeightEnsemblingMoe.WeightEnsemblingMoeAlgorithm(new() { MaxSteps = 1 });
        Assert.Contains("ILayerMlpModel", Assert.Throws<FusionException>(() => wemoe.Fuse(pool)).Message);
    }
}

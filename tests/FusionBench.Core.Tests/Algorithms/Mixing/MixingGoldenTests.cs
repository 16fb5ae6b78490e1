using FusionBench.Core.Algorithms.Mixing.DepthUpscaling;
using FusionBench.Core.Algorithms.Mixing.ModelRecombination;
using FusionBench.Core.Algorithms.Mixing.WeightEnsemblingMoe;
using FusionBench.Core.Models;
using FusionBench.Core.Tests.TestSupport;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FusionBench.Core.Tests.Algorithms.Mixing;

/// <summary>
/// The mixing methods against FusionBench's own code (Golden/fusionbench): WEMoE's router and weight ensembling, the
/// Mixtral top-k gate of MoE upscaling, depth upscaling's layer map and model recombination with a fixed seed.
/// </summary>
public class MixingGoldenTests
{
    private static readonly string[] Mlp = { "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias" };

    [Theory]
    [InlineData("weight_ensembling_moe_batch_reduce", new[] { "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias" }, true)]
    [InlineData("weight_ensembling_moe_per_sample", new[] { "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias" }, false)]
    [InlineData("weight_ensembling_moe_zero_router", new[] { "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias" }, true)]
    [InlineData("weight_ensembling_moe_depth1", new[] { "fc.weight", "fc.bias" }, true)]
    [InlineData("weight_ensembling_moe_depth0", new[] { "weight" }, true)]
    public void WeightEnsemblingMoe_RouterAndMergedMlp_MatchFusionBench(string caseName, string[] routerNames, bool batchReduce)
    {
        using var golden = FusionBenchGolden.Open(caseName);
        using var scope = NewDisposeScope();
        var routers = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var n in routerNames) routers[n == "weight" ? "constant" : n] = golden.Read("in.gate." + n);
        var h = golden.Read("in.hidden_states");
        var w0 = Mlp.ToDictionary(n => n, n => golden.Read("in.base." + n));
        var tv = Mlp.ToDictionary(n => n, n => stack(FusionBenchGolden.Tasks.Select(t => golden.Read($"in.{t}.{n}") - w0[n])));

        var perSample = WeightEnsemblingMoeKernel.Route(routers, "", h);                 // [B, N]: raw router outputs, token-averaged
        var routing = batchReduce ? perSample.mean(new long[] { 0 }, keepdim: true) : perSample;
        FusionBenchGolden.AssertClose(golden.Read("out.routing_weights"), routing, "routing weights");
        var outputs = new List<Tensor>();
        for (long call = 0; call < routing.shape[0]; call++)
        {
            var merged = WeightEnsemblingMoeKernel.MergeMlp(w0, tv, routing[call]);
            FusionBenchGolden.AssertTensors(golden, $"out.merged.{call}.", merged, Mlp);
            var x = batchReduce ? h : h.narrow(0, call, 1);
            var y = F.linear(x, merged["fc1.weight"], merged["fc1.bias"]);
            outputs.Add(F.linear(y * sigmoid(y * 1.702), merged["fc2.weight"], merged["fc2.bias"]));   // CLIP's MLP
        }
        FusionBenchGolden.AssertClose(golden.Read("out.output"), cat(outputs, 0), "module output");
    }

    [Fact]
    public void MoeGate_TopKRouting_MatchesMixtralsSparseMoeBlock()
    {
        using var golden = FusionBenchGolden.Open("mixtral_moe_gate");
        using var scope = NewDisposeScope();
        var x = golden.Read("in.hidden_states").view(-1, 5);
        var logits = F.linear(x, golden.Read("in.gate.weight"));
        FusionBenchGolden.AssertClose(golden.Read("out.router_logits"), logits, "router logits");
        FusionBenchGolden.AssertClose(golden.Read("out.routing_weights_dense"), MixtureRouting.TopK(logits, 2), "top-2 routing weights");
    }

    [Fact]
    public void DepthUpscaling_LayerMap_MatchesFusionBench()
    {
        using var golden = FusionBenchGolden.Open("depth_upscaling");
        var spec = FusionBenchGolden.Case("depth_upscaling").GetProperty("parameters").GetProperty("layer_indices")
            .EnumerateArray().Select(e => e.ValueKind == System.Text.Json.JsonValueKind.String ? e.GetString()! : e.GetRawText()).ToArray();
        using var model = new StateDict("model");
        for (int i = 0; i < 4; i++)
            foreach (var t in new[] { "weight", "bias" }) model.Add($"model.layers.{i}.{t}", golden.Read($"in.layers.{i}.{t}"));
        model.Add("model.norm.weight", ones(3));
        using var pool = new ModelPools.ModelPool(null, new[] { new KeyValuePair<string, IWeightSource>("only", model) }, ownsSources: false);
        using var result = new DepthUpscalingAlgorithm(new DepthUpscalingOptions { LayerIndices = spec }).Fuse(pool);
        var sources = golden.Read("out.source_index").data<long>().ToArray();
        Assert.Equal(6, sources.Length);
        for (int j = 0; j < sources.Length; j++)
            foreach (var t in new[] { "weight", "bias" })
                Assert.True(result.Weights[$"model.layers.{j}.{t}"].equal(golden.Read($"out.layers.{j}.{t}")).all().ToBoolean(), $"layer {j} {t}");
        Assert.True(result.Weights["model.norm.weight"].equal(ones(3)).all().ToBoolean());
        Assert.Equal(13, result.Weights.Count);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(42)]
    public void PythonRandom_ReproducesCPythonsMersenneTwisterAndShuffle(long seed)
    {
        using var golden = FusionBenchGolden.Open($"model_recombination_module_seed{seed}");
        var rng = new PythonRandom(seed);
        Assert.Equal(golden.Read("out.rng.mt_uint32_first8").data<long>().ToArray(), Enumerable.Range(0, 8).Select(_ => (long)rng.NextUInt32()).ToArray());
        var ks = golden.Read("out.rng.getrandbits_k").data<long>().ToArray();
        var values = golden.Read("out.rng.getrandbits_value").data<long>().ToArray();
        var replay = new PythonRandom(seed);
        Assert.Equal(values, ks.Select(k => (long)replay.GetRandBits((int)k)).ToArray());
    }

    [Theory]
    [InlineData("model_recombination_module_seed0", RecombinationUnit.Tensor)]
    [InlineData("model_recombination_module_seed42", RecombinationUnit.Tensor)]
    [InlineData("model_recombination_modulelist_seed0", RecombinationUnit.Layer)]
    [InlineData("model_recombination_modulelist_seed42", RecombinationUnit.Layer)]
    public void ModelRecombination_WithASeed_TakesEachUnitFromFusionBenchsSourceModel(string caseName, RecombinationUnit unit)
    {
        using var golden = FusionBenchGolden.Open(caseName);
        long seed = FusionBenchGolden.Case(caseName).GetProperty("parameters").GetProperty("seed").GetInt64();
        // State-dict order as FusionBench walks it (it fixes the order of the random draws).
        string[] names = unit == RecombinationUnit.Tensor
            ? Mlp
            : Enumerable.Range(0, 4).SelectMany(l => new[] { $"{l}.weight", $"{l}.bias" }).ToArray();
        string Ours(string n) => unit == RecombinationUnit.Tensor ? n : "model.layers." + n;
        var models = Enumerable.Range(0, 3).Select(m =>
        {
            var d = new StateDict($"model_{m}");
            foreach (var n in names) d.Add(Ours(n), golden.Read($"in.model_{m}.{n}"));
            return d;
        }).ToList();
        using var pool = new ModelPools.ModelPool(null, models.Select((d, m) => new KeyValuePair<string, IWeightSource>($"model_{m}", d)), ownsSources: true);
        // FusionBench's intended permutation (its own state-dict path then aliases in-place copies; see the method's docs).
        var expected = golden.Read(unit == RecombinationUnit.Tensor ? "out.intended_source_index" : "out.source_index");
        int units = (int)expected.shape[1];
        for (int m = 0; m < 3; m++)
        {
            using var result = new ModelRecombinationAlgorithm(new ModelRecombinationOptions { Seed = seed, ModelIndex = m, Unit = unit }).Fuse(pool);
            Assert.Equal(pool.GetModel("model_0").TensorNames, result.Weights.TensorNames);
            for (int u = 0; u < units; u++)
            {
                int source = (int)expected[m, u].ToInt64();
                foreach (var n in unit == RecombinationUnit.Tensor ? new[] { names[u] } : new[] { $"{u}.weight", $"{u}.bias" })
                    Assert.True(result.Weights[Ours(n)].equal(golden.Read($"in.model_{source}.{n}")).all().ToBoolean(), $"model {m}, {n}: expected from model {source}");
            }
        }
    }
}

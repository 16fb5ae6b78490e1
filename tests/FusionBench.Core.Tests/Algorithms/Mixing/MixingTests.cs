using FusionBench.Core.Algorithms.Mixing.DepthUpscaling;
using FusionBench.Core.Algorithms.Mixing.ModelRecombination;
using FusionBench.Core.Algorithms.Mixing.MoeMerging;
using FusionBench.Core.Algorithms.Mixing.MoeUpscaling;
using FusionBench.Core.Models;
using FusionBench.Core.ModelPools;
using FusionBench.Core.Tests.TestSupport;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FusionBench.Core.Tests.Algorithms.Mixing;

public class MixingTests
{
    private static readonly ClipVisionModel Vit = new(new ClipVisionConfig(HiddenSize: 16, IntermediateSize: 32, NumHiddenLayers: 4, NumAttentionHeads: 2));

    private static StateDict Weights(ulong seed)
    {
        using var g = new Generator(seed);
        return Vit.InitializeWeights(g);
    }

    private static ModelPool Pool(StateDict? pretrained, params StateDict[] models) =>
        new(pretrained, models.Select((m, i) => new KeyValuePair<string, IWeightSource>($"m{i}", m)), ownsSources: false);

    private static Tensor Input()
    {
        using var g = new Generator(5);
        return rand(new long[] { 3, 1, 28, 28 }, generator: g);
    }

    private static string Layer(int i) => ClipVisionModel.LayerPrefix(i);

    [Fact]
    public void DepthUpscaling_UpscalesThePoolsSingleModel_AsFusionBench_OrTheNamedOne()
    {
        using var pre = Weights(1);
        using var ft = Weights(2);
        using var pool = Pool(pre, ft);
        string name = Layer(0) + "mlp.fc1.weight";
        using var single = new DepthUpscalingAlgorithm(new() { LayerIndices = new[] { "0", "-1" } }).Fuse(pool);
        Assert.True(single.Weights[name].equal(ft[name]).all().ToBoolean(), "the pool's one fine-tuned model is upscaled, not the pretrained one");
        Assert.True(single.Weights[Layer(1) + "mlp.fc1.weight"].equal(ft[Layer(3) + "mlp.fc1.weight"]).all().ToBoolean(), "-1 is the last layer");
        using var pretrained = new DepthUpscalingAlgorithm(new() { LayerIndices = new[] { "0" }, Model = "_pretrained_" }).Fuse(pool);
        Assert.True(pretrained.Weights[name].equal(pre[name]).all().ToBoolean());
        using var two = Pool(pre, ft, pre);
        Assert.Contains("model=NAME", Assert.Throws<FusionParameterException>(() => new DepthUpscalingAlgorithm(new() { LayerIndices = new[] { "0" } }).Fuse(two)).Message);
    }

    [Fact]
    public void DepthUpscaling_CopiesExactlyTheListedLayers_AndTheDeeperModelRuns()
    {
        using var source = Weights(1);
        using var pool = Pool(source);
        using var result = new DepthUpscalingAlgorithm(new() { LayerIndices = new[] { "range(0,2)", "3", "range(1,3)" } }).Fuse(pool);
        int[] expected = { 0, 1, 3, 1, 2 };
        Assert.Equal(5, result.Details["num_layers"]);
        foreach (var name in source.TensorNames)
        {
            if (!name.Contains(".layers.", StringComparison.Ordinal))
            {
                Assert.True(result.Weights[name].eq(source[name]).all().ToBoolean(), name);
                continue;
            }
            string tail = name[(name.IndexOf(".layers.", StringComparison.Ordinal) + ".layers.".Length)..];
            tail = tail[(tail.IndexOf('.') + 1)..];
            for (int j = 0; j < expected.Length; j++)
                Assert.True(result.Weights[Layer(j) + tail].eq(source[Layer(expected[j]) + tail]).all().ToBoolean(), $"layer {j} {tail}");
        }
        Assert.False(result.Weights.ContainsKey(Layer(5) + "layer_norm1.weight"));
        using var x = Input();
        using var y = Vit.Forward(result.Weights, x); // variable depth: five layers run
        Assert.Equal(new long[] { 3, 16 }, y.shape);
        Assert.Throws<FusionParameterException>(() => new DepthUpscalingAlgorithm(new() { LayerIndices = new[] { "range(2,5)" } }).Fuse(pool));
        Assert.Throws<FusionParameterException>(() => new DepthUpscalingAlgorithm(new() { LayerIndices = new[] { "layers" } }).Fuse(pool));
    }

    [Fact]
    public void MoeUpscaling_WithIdenticalExperts_EqualsTheDenseModel()
    {
        using var dense = Weights(2);
        using var pool = Pool(dense);
        using var moe = new MoeUpscalingAlgorithm(new() { NumExperts = 4, ExpertsPerToken = 2 }).Fuse(pool);
        Assert.False(moe.Weights.ContainsKey(Layer(0) + "mlp.fc1.weight"));
        Assert.True(moe.Weights[Layer(0) + "mlp.experts.3.fc2.weight"].eq(dense[Layer(0) + "mlp.fc2.weight"]).all().ToBoolean());
        var gate = moe.Weights[Layer(0) + "mlp.gate.weight"];
        Assert.Equal(new long[] { 4, 16 }, gate.shape);
        Assert.True(gate.abs().sum().ToDouble() > 0 && gate.isfinite().all().ToBoolean()); // the router is initialised
        Assert.True(moe.Weights[Layer(1) + "self_attn.q_proj.weight"].eq(dense[Layer(1) + "self_attn.q_proj.weight"]).all().ToBoolean()); // attention copied
        using var x = Input();
        using var yDense = Vit.Forward(dense, x);
        using var yMoe = Vit.Forward(moe.Weights, x);
        Assert.True(yMoe.allclose(yDense, rtol: 1e-5, atol: 1e-5), $"max |diff| {(yMoe - yDense).abs().max().ToDouble()}");
    }

    [Fact]
    public void MoeMerging_TakesEachExpertFromItsModel_AndTheRestFromPretrained()
    {
        using var pre = Weights(3);
        using var a = Weights(4);
        using var b = Weights(5);
        using var pool = Pool(pre, a, b);
        using var moe = new MoeMergingAlgorithm(new() { ExpertsPerToken = 1 }).Fuse(pool);
        Assert.True(moe.Weights[Layer(2) + "mlp.experts.0.fc1.weight"].eq(a[Layer(2) + "mlp.fc1.weight"]).all().ToBoolean());
        Assert.True(moe.Weights[Layer(2) + "mlp.experts.1.fc1.weight"].eq(b[Layer(2) + "mlp.fc1.weight"]).all().ToBoolean());
        Assert.True(moe.Weights[Layer(2) + "layer_norm1.weight"].eq(pre[Layer(2) + "layer_norm1.weight"]).all().ToBoolean());
        Assert.Equal(1, moe.Weights[Layer(0) + "mlp.num_experts_per_tok"].ToInt64());
        using var x = Input();
        using var y = Vit.Forward(moe.Weights, x);
        Assert.True(y.isfinite().all().ToBoolean());
    }

    [Theory]
    [InlineData(RecombinationUnit.Layer)]
    [InlineData(RecombinationUnit.Tensor)]
    public void ModelRecombination_GivesEveryUnitFromOneModel_AsAPermutation_Reproducibly(RecombinationUnit unit)
    {
        using var a = Weights(6);
        using var b = Weights(7);
        using var c = Weights(8);
        var models = new[] { a, b, c };
        using var pool = Pool(null, a, b, c);
        var usage = new Dictionary<string, HashSet<string>>();
        for (int j = 0; j < 3; j++)
        {
            using var r1 = new ModelRecombinationAlgorithm(new() { Seed = 11, ModelIndex = j, Unit = unit }).Fuse(pool);
            using var r2 = new ModelRecombinationAlgorithm(new() { Seed = 11, ModelIndex = j, Unit = unit }).Fuse(pool);
            TestData.AssertIdentical(r1.Weights, r2.Weights);
            var sources = (Dictionary<string, string>)r1.Details["sources"]!;
            // Layer: 4 layers + the 8 tensors outside them (embeddings, position_ids, two LayerNorms); tensor: every tensor.
            Assert.Equal(unit == RecombinationUnit.Layer ? 4 + 8 : a.TensorNames.Count, sources.Count);
            foreach (var name in a.TensorNames)
            {
                string key = unit == RecombinationUnit.Layer && name.Contains(".layers.", StringComparison.Ordinal) ? $"layer {name.Split(".layers.")[1].Split('.')[0]}" : name;
                int source = int.Parse(sources[key][1..]);
                Assert.True(r1.Weights[name].eq(models[source][name]).all().ToBoolean(), name);
            }
            foreach (var (u, model) in sources)
                (usage.TryGetValue(u, out var set) ? set : usage[u] = new HashSet<string>()).Add(model);
        }
        Assert.All(usage.Values, set => Assert.Equal(3, set.Count)); // across the three recombined models, each unit comes from every model once
    }
}

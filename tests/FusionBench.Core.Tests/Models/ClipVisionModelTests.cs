using System.Text.Json;
using FusionBench.Core.Checkpoints;
using FusionBench.Core.Models;
using FusionBench.Core.Tests.TestSupport;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FusionBench.Core.Tests.Models;

public class ClipVisionModelTests
{
    private static string Vit(string file) => Path.Combine(TestData.GoldenDir, "vit", file);

    private static ClipVisionConfig GoldenConfig()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Vit("config.json")));
        var r = doc.RootElement;
        return new ClipVisionConfig(r.GetProperty("image_size").GetInt32(), r.GetProperty("patch_size").GetInt32(), r.GetProperty("hidden_size").GetInt32(),
            r.GetProperty("intermediate_size").GetInt32(), r.GetProperty("num_hidden_layers").GetInt32(), r.GetProperty("num_attention_heads").GetInt32(),
            r.GetProperty("num_channels").GetInt32(), r.GetProperty("layer_norm_eps").GetDouble());
    }

    [Fact]
    public void Forward_MatchesThePyTorchReference()
    {
        var model = new ClipVisionModel(GoldenConfig());
        using var file = SafeTensorsFile.Open(Vit("weights.safetensors"));
        using var weights = StateDict.CopyFrom(file);
        using var io = SafeTensorsFile.Open(Vit("io.safetensors"));
        using var input = io.Read("input");
        using var expected = io.Read("pooler_output");
        using var pooled = model.Forward(weights, input);
        Assert.Equal(expected.shape, pooled.shape);
        Assert.True(pooled.allclose(expected, rtol: 1e-4, atol: 1e-5), $"max |diff| {(pooled - expected).abs().max().ToDouble()}");
    }

    [Fact]
    public void ParameterNames_AreThoseOfHuggingFaceClipVisionModel()
    {
        var model = new ClipVisionModel(GoldenConfig());
        using var file = SafeTensorsFile.Open(Vit("weights.safetensors"));
        Assert.Equal(file.TensorNames.OrderBy(n => n, StringComparer.Ordinal), model.Parameters.Keys.OrderBy(n => n, StringComparer.Ordinal));
        foreach (var (name, info) in model.Parameters) Assert.Equal(file.GetInfo(name).Shape, info.Shape);
        Assert.Contains("vision_model.pre_layrnorm.weight", model.Parameters.Keys);          // CLIP's own spelling
        Assert.Contains("vision_model.encoder.layers.1.self_attn.out_proj.bias", model.Parameters.Keys);
        Assert.Equal(new long[] { 64, 1, 7, 7 }, new ClipVisionModel(ClipVisionConfig.Tiny).Parameters["vision_model.embeddings.patch_embedding.weight"].Shape);
    }

    [Fact]
    public void Forward_IsDifferentiableInItsWeights()
    {
        // The functional contract: weights built from a parameter (here θ = θ₀ + λ·τ) receive gradients through the forward.
        var model = new ClipVisionModel(GoldenConfig());
        using var g = new Generator(5);
        using var w0 = model.InitializeWeights(g);
        using var lambda = tensor(0.5f).requires_grad_(true);
        using var scope = NewDisposeScope();
        var weights = w0.ToDictionary(kv => kv.Key, kv => is_floating_point(kv.Value.dtype) ? kv.Value + lambda * 0.1f * randn_like(kv.Value) : kv.Value);
        var pooled = model.Forward(weights, rand(2, 1, 8, 8, generator: g));
        pooled.pow(2).sum().backward();
        Assert.NotNull(lambda.grad);
        Assert.NotEqual(0.0, lambda.grad!.ToDouble());
    }

    [Fact]
    public void Forward_RejectsWrongInputShape_AndMissingWeights()
    {
        var model = new ClipVisionModel(ClipVisionConfig.Tiny);
        using var g = new Generator(1);
        using var w = model.InitializeWeights(g);
        using var wrong = zeros(2, 1, 32, 32);
        Assert.Contains("[N, 1, 28, 28]", Assert.Throws<ArgumentException>(() => model.Forward(w, wrong)).Message);
        var partial = w.Where(kv => !kv.Key.Contains("fc2", StringComparison.Ordinal)).ToDictionary(kv => kv.Key, kv => kv.Value);
        using var x = zeros(1, 1, 28, 28);
        Assert.Contains("mlp.fc2", Assert.Throws<KeyNotFoundException>(() => model.Forward(partial, x)).Message);
    }
}

using System.Text.Json;
using FusionBench.Core.Checkpoints;
using FusionBench.Core.ModelPools.HuggingFace;
using FusionBench.Core.Models;
using FusionBench.Core.Tests.TestSupport;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FusionBench.Core.Tests.HuggingFace;

/// <summary>Hugging Face folders opened as typed models: the architecture from config.json, the backbone, the head, clear errors.</summary>
public class HuggingFaceModelTests
{
    private static string Vit(string file) => Path.Combine(TestData.GoldenDir, "vit", file);

    private static void WriteClipFolder(string folder, string modelType, bool withTextTower = false, string act = "quick_gelu")
    {
        Directory.CreateDirectory(folder);
        var vision = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(File.ReadAllText(Vit("config.json")))!
            .ToDictionary(kv => kv.Key, kv => (object)kv.Value);
        vision["hidden_act"] = act;
        object config = modelType == "clip"
            ? new Dictionary<string, object> { ["model_type"] = "clip", ["vision_config"] = vision, ["text_config"] = new Dictionary<string, object>() }
            : new Dictionary<string, object>(vision) { ["model_type"] = modelType };
        File.WriteAllText(Path.Combine(folder, "config.json"), JsonSerializer.Serialize(config));
        using var file = SafeTensorsFile.Open(Vit("weights.safetensors"));
        using var weights = StateDict.CopyFrom(file);
        if (withTextTower)
        {
            weights.Add("text_model.embeddings.token_embedding.weight", randn(10, 8));
            weights.Add("visual_projection.weight", randn(4, 8));
            weights.Add("logit_scale", tensor(2.6592f));
        }
        Checkpoint.Save(weights, Path.Combine(folder, "model.safetensors"));
    }

    [Theory]
    [InlineData("clip_vision_model", false)]
    [InlineData("clip", true)]
    public void ClipFolder_LoadsTheVisionTower_AndItsForwardEqualsThePyTorchReference(string modelType, bool withTextTower)
    {
        using var dir = TestData.NewTempDir();
        WriteClipFolder(dir.File("clip"), modelType, withTextTower);
        using var model = HuggingFaceModel.Open(dir.File("clip"));
        Assert.IsType<ClipVisionModel>(model.Architecture);
        Assert.All(model.Backbone.TensorNames, n => Assert.StartsWith("vision_model.", n));   // the text tower is not the backbone
        Assert.Null(model.Head);
        using var weights = StateDict.CopyFrom(model.Backbone);
        using var io = SafeTensorsFile.Open(Vit("io.safetensors"));
        using var input = io.Read("input");
        using var expected = io.Read("pooler_output");
        using var pooled = model.Architecture.Forward(weights, input);
        Assert.True(pooled.allclose(expected, rtol: 1e-4, atol: 1e-5), $"max |diff| {(pooled - expected).abs().max().ToDouble()}");
    }

    [Fact]
    public void BertClassifierFolder_GivesTheBackboneUnderBertModelsNames_ThePoolerForward_AndTheHeadWithItsLabels()
    {
        using var dir = TestData.NewTempDir();
        using var backbone = HuggingFaceFolders.RandomBert(1);
        using var w = randn(3, 16);
        using var b = randn(3);
        HuggingFaceFolders.WriteBert(dir.File("bert"), backbone, w, b, new[] { "neg", "neu", "pos" });
        using var model = HuggingFaceModel.Open(dir.File("bert"));

        var bert = Assert.IsType<BertModel>(model.Architecture);
        Assert.Equal(BertPooling.Pooler, bert.Config.Pooling);
        Assert.Equal(backbone.TensorNames.Order(StringComparer.Ordinal), model.Backbone.TensorNames.Order(StringComparer.Ordinal));
        Assert.Equal(new[] { "neg", "neu", "pos" }, model.Labels);
        Assert.True(model.Head!["weight"].equal(w).all().ToBoolean() && model.Head["bias"].equal(b).all().ToBoolean());
        Assert.NotNull(model.VocabularyFile);

        // BertForSequenceClassification's features: tanh(pooler.dense(first token's last hidden state)).
        using var weights = StateDict.CopyFrom(model.Backbone);
        using var ids = tensor(new long[,] { { 2, 7, 8, 9, 3, 0 }, { 2, 10, 11, 12, 13, 3 } });
        using var features = bert.Forward(weights, ids);
        using var hidden = bert.LastHiddenState(weights, ids);
        using var expected = nn.functional.linear(hidden.select(1, 0), backbone["pooler.dense.weight"], backbone["pooler.dense.bias"]).tanh();
        Assert.True(features.allclose(expected, rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public void BadFolders_AreOneClearErrorNamingTheFileAndWhatIsWrong()
    {
        using var dir = TestData.NewTempDir();
        using var backbone = HuggingFaceFolders.RandomBert(2);
        string Bert(string name, Action<Dictionary<string, object?>>? editConfig = null, string? drop = null, string? add = null, int classes = 2, string[]? labels = null)
        {
            string folder = HuggingFaceFolders.WriteBert(dir.File(name), backbone, zeros(classes, 16), zeros(classes), labels ?? new[] { "a", "b" });
            if (editConfig is not null)
            {
                var config = JsonSerializer.Deserialize<Dictionary<string, object?>>(File.ReadAllText(Path.Combine(folder, "config.json")))!;
                editConfig(config);
                File.WriteAllText(Path.Combine(folder, "config.json"), JsonSerializer.Serialize(config));
            }
            if (drop is not null || add is not null)
            {
                using var weights = new StateDict("edited");
                using (var file = SafeTensorsFile.Open(Path.Combine(folder, "model.safetensors")))
                    foreach (var n in file.TensorNames.Where(n => n != drop)) weights.Add(n, file.Read(n));
                if (add is not null) weights.Add(add, zeros(16));
                Checkpoint.Save(weights, Path.Combine(folder, "model.safetensors"));
            }
            return folder;
        }

        void Fails(string folder, params string[] parts)
        {
            var e = Assert.Throws<FusionException>(() => HuggingFaceModel.Open(folder));
            foreach (var p in parts) Assert.Contains(p, e.Message);
        }

        string noConfig = Bert("no-config");
        File.Delete(Path.Combine(noConfig, "config.json"));
        Fails(noConfig, noConfig, "no config.json");
        Fails(Bert("gpt2", c => c["model_type"] = "gpt2"), "config.json", "model_type 'gpt2' is not supported");
        Fails(Bert("mlm", c => c["architectures"] = new[] { "BertForMaskedLM" }), "architecture 'BertForMaskedLM'");
        Fails(Bert("act", c => c["hidden_act"] = "relu"), "hidden_act 'relu'");
        Fails(Bert("missing", drop: "bert.encoder.layer.1.output.dense.bias"), "bert.encoder.layer.1.output.dense.bias", "needs");
        Fails(Bert("extra", add: "bert.encoder.layer.2.output.dense.bias"), "bert.encoder.layer.2.output.dense.bias", "not supported");
        Fails(Bert("labels", classes: 3), "2 labels", "3 classes");
        Assert.Throws<FusionException>(() => HuggingFaceModel.Open(dir.File("nowhere")));
        using var clip = TestData.NewTempDir();
        WriteClipFolder(clip.File("c"), "clip_vision_model", act: "gelu");
        Fails(clip.File("c"), "hidden_act 'gelu'");
    }
}

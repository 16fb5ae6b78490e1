using FusionBench.Core;
using FusionBench.Core.Models;
using FusionBench.Suites.Text;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FusionBench.Suites.Tests.Text;

/// <summary>The text zoo's fine-tune on a 2-layer slice of the real MiniLM weights and a real task.</summary>
public class TextFineTuningTests(MiniLmFixture minilm) : IClassFixture<MiniLmFixture>
{
    [Fact]
    public void FineTune_LearnsTheTask_KeepsWordEmbeddingsFrozen_AndIsDeterministic()
    {
        var (model, encoder, train, prompts) = Langid();
        using var slice = TextModelZoo.LoadPretrained(minilm.Folder, layers: 2);
        using var head = TextPromptHeads.Build(model, slice, encoder, prompts);
        var options = new TextFineTuneOptions { Steps = 24, BatchSize = 16, LearningRate = 5e-4, Seed = 3 };
        var reports = new List<FusionProgress>();

        using var tuned = TextFineTuning.FineTune(model, slice, head, encoder, train, options, new Collect(reports));
        using var again = TextFineTuning.FineTune(model, slice, head, encoder, train, options);

        foreach (var name in slice.TensorNames)
        {
            bool same = tuned[name].equal(slice[name]).all().ToBoolean();
            Assert.True(TextFineTuning.IsFrozen(name) == same, $"{name}: {(same ? "unchanged" : "changed")}");
            Assert.True(tuned[name].equal(again[name]).all().ToBoolean(), $"{name}: not deterministic from the seed");
        }
        Assert.True(Accuracy(model, tuned, head, encoder, train) > Accuracy(model, slice, head, encoder, train) + 0.1, "training accuracy did not rise");
        var last = reports[^1];
        Assert.Equal((24L, 24L), (last.Completed, last.Total));
        Assert.StartsWith("loss ", last.Message);
    }

    [Fact]
    public void LoraFineTune_TrainsOnlyRankRAdapters_OnQueryAndValue_AndMergesAsWPlusScaledBA()
    {
        var (model, encoder, train, prompts) = Langid();
        using var slice = TextModelZoo.LoadPretrained(minilm.Folder, layers: 2);
        using var head = TextPromptHeads.Build(model, slice, encoder, prompts);
        var options = new TextFineTuneOptions { Steps = 32, BatchSize = 16, Seed = 3 };
        var lora = new TextLoraOptions { Rank = 4, Alpha = 16, LearningRate = 1e-2 };

        using var adapters = TextFineTuning.FineTuneLora(model, slice, head, encoder, train, options, lora);
        using var again = TextFineTuning.FineTuneLora(model, slice, head, encoder, train, options, lora);

        // PEFT's names and shapes: A [r, in], B [out, r] for query and value of both layers, nothing else.
        var expected = new[] { 0, 1 }.SelectMany(l => new[] { "query", "value" }.SelectMany(m => new[] { "lora_A", "lora_B" }
            .Select(ab => $"base_model.model.encoder.layer.{l}.attention.self.{m}.{ab}.weight"))).ToList();
        Assert.Equal(expected.Order(StringComparer.Ordinal), adapters.TensorNames.Order(StringComparer.Ordinal));
        Assert.Equal(new long[] { 4, 384 }, adapters["base_model.model.encoder.layer.0.attention.self.query.lora_A.weight"].shape);
        Assert.Equal(new long[] { 384, 4 }, adapters["base_model.model.encoder.layer.0.attention.self.query.lora_B.weight"].shape);
        Assert.All(adapters.TensorNames, n => Assert.True(adapters[n].equal(again[n]).all().ToBoolean(), $"{n}: not deterministic from the seed"));

        // Merged: only the adapted weights, each W + (α/r)·B·A, a change of rank ≤ r that training made non-zero.
        using var merged = TextFineTuning.MergeLora(slice, adapters, lora);
        Assert.Equal(4, merged.Count);
        foreach (var name in merged.TensorNames)
        {
            string module = "base_model.model." + name[..^".weight".Length];
            using var delta = merged[name] - slice[name];
            using var expectedDelta = adapters[module + ".lora_B.weight"].matmul(adapters[module + ".lora_A.weight"]) * lora.Scaling;
            Assert.True(delta.allclose(expectedDelta, rtol: 1e-5, atol: 1e-7), name);
            var singular = linalg.svdvals(delta).data<float>().ToArray();
            Assert.True(singular[0] > 1e-4, $"{name}: LoRA did not train");
            Assert.True(singular[4] < 1e-5 * singular[0], $"{name}: rank above r (σ5/σ1 = {singular[4] / singular[0]})");
        }
        var weights = new Dictionary<string, Tensor>(slice, StringComparer.Ordinal);
        foreach (var name in merged.TensorNames) weights[name] = merged[name];
        double before = Accuracy(model, slice, head, encoder, train), after = Accuracy(model, weights, head, encoder, train);
        Assert.True(after > before + 0.1, $"training accuracy did not rise: {before:P1} → {after:P1}");

        var bad = Assert.Throws<ArgumentException>(() => TextFineTuning.FineTuneLora(model, slice, head, encoder, train, options, lora with { TargetModules = new[] { "q_proj" } }));
        Assert.Contains("q_proj", bad.Message);
    }

    /// <summary>The architecture, the tokenizer, langid's first 128 training texts and its label sentences.</summary>
    private (BertModel Model, BertTextEncoder Encoder, TextSplit Train, IReadOnlyList<string> Prompts) Langid()
    {
        var task = TextSuiteData.Load(Path.Combine(AppContext.BaseDirectory, "data", "text")).Single(t => t.Name == "langid");
        return (new BertModel(BertConfig.MiniLmL6), new BertTextEncoder(Path.Combine(minilm.Folder, "vocab.txt"), maxLength: 64),
            new TextSplit(task.Train.Texts.Take(128).ToList(), task.Train.Labels.Take(128).ToList()), task.Prompts);
    }

    private static double Accuracy(BertModel model, IReadOnlyDictionary<string, Tensor> weights, Tensor head, BertTextEncoder encoder, TextSplit split)
    {
        using var noGrad = no_grad();
        using var ids = encoder.EncodeBatch(split.Texts);
        using var logits = TextPromptHeads.Logits(head, model.Forward(weights, ids));
        return logits.argmax(1).data<long>().ToArray().Zip(split.Labels, (p, l) => p == l ? 1.0 : 0.0).Average();
    }

    private sealed class Collect(List<FusionProgress> reports) : IProgress<FusionProgress>
    {
        public void Report(FusionProgress value) => reports.Add(value);
    }
}

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
        using var slice = TextModelZoo.LoadPretrained(minilm.Folder, layers: 2);
        var task = TextSuiteData.Load(Path.Combine(AppContext.BaseDirectory, "data", "text")).Single(t => t.Name == "langid");
        var model = new BertModel(BertConfig.MiniLmL6);
        var encoder = new BertTextEncoder(Path.Combine(minilm.Folder, "vocab.txt"), maxLength: 64);
        using var head = TextPromptHeads.Build(model, slice, encoder, task.Prompts);
        var train = new TextSplit(task.Train.Texts.Take(128).ToList(), task.Train.Labels.Take(128).ToList());
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

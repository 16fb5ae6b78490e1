using FusionBench.Core;
using FusionBench.Core.Checkpoints;
using FusionBench.Core.Models;
using FusionBench.Suites.Text;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FusionBench.Suites.Tests.Text;

/// <summary>The text suite's embedded data: eight real tasks, disjoint splits, no label leaks; and the zero-shot prompt heads.</summary>
public class TextSuiteDataTests(MiniLmFixture minilm) : IClassFixture<MiniLmFixture>
{
    private static string DataDirectory => Path.Combine(AppContext.BaseDirectory, "data", "text");

    [Fact]
    public void Tasks_AreEightRealTasks_WithTheirOwnLabelSpaces_AndDisjointSplits()
    {
        var tasks = TextSuiteData.Load(DataDirectory);
        Assert.Equal(8, tasks.Count);
        Assert.Equal(tasks.Count, tasks.Select(t => t.Name).Distinct().Count());
        foreach (var t in tasks)
        {
            Assert.InRange(t.NumClasses, 2, 30);
            Assert.InRange(t.Train.Count, 500, 3000);
            Assert.InRange(t.Test.Count, 100, 400);
            Assert.Equal(Enumerable.Range(0, t.NumClasses), t.Test.Labels.Distinct().Order());     // every class is tested
            Assert.Empty(t.Train.Texts.Intersect(t.Test.Texts));                                      // no text in both splits
            Assert.All(t.Train.Texts.Concat(t.Test.Texts), x => Assert.False(string.IsNullOrWhiteSpace(x) || x.Contains('\t') || x.Contains('\n'), $"{t.Name}: bad text"));
        }
        // The word-order task must not leak its label through case or punctuation.
        if (tasks.FirstOrDefault(t => t.Name == "order") is { } order)
            Assert.All(order.Train.Texts, x => Assert.True(x == x.ToLowerInvariant() && !x.Any(char.IsPunctuation), x));
    }

    [Fact]
    public void Malformed_DataFile_IsAClearError_NamingFileAndLine()
    {
        using var dir = FusionBench.Core.Tests.TestSupport.TestData.NewTempDir();
        string path = dir.File("bad.train.tsv.gz");
        using (var gz = new System.IO.Compression.GZipStream(File.Create(path), System.IO.Compression.CompressionLevel.Fastest))
        using (var w = new StreamWriter(gz)) w.Write("0\tfine\n7\tlabel out of range\n");
        var e = Assert.Throws<InvalidDataException>(() => TextSuiteData.ReadSplit(path, 3));
        Assert.Contains(path + ":2", e.Message);
    }

    [Fact]
    public void ZeroShotPromptHeads_OfThePretrainedModel_BeatChanceOnAverage()
    {
        var tasks = TextSuiteData.Load(DataDirectory);
        using var file = SafeTensorsFile.Open(Path.Combine(minilm.Folder, "model.safetensors"));
        using var weights = StateDict.CopyFrom(file);
        var model = new BertModel(BertConfig.MiniLmL6);
        var encoder = new BertTextEncoder(Path.Combine(minilm.Folder, "vocab.txt"), maxLength: 64);
        using var noGrad = no_grad();
        double accuracy = 0, chance = 0;
        foreach (var t in tasks)
        {
            using var head = TextPromptHeads.Build(model, weights, encoder, t.Prompts);
            Assert.Equal(new long[] { (long)t.NumClasses, 384L }, head.shape);
            Assert.True((linalg.vector_norm(head, dims: new long[] { 1 }) - TextPromptHeads.Scale).abs().max().ToDouble() < 1e-3);
            int n = Math.Min(48, t.Test.Count);
            using var ids = encoder.EncodeBatch(t.Test.Texts.Take(n).ToList());
            using var logits = TextPromptHeads.Logits(head, model.Forward(weights, ids));
            var predicted = logits.argmax(1).data<long>().ToArray();
            accuracy += predicted.Zip(t.Test.Labels.Take(n), (p, l) => p == l ? 1.0 : 0.0).Average() / tasks.Count;
            chance += 1.0 / t.NumClasses / tasks.Count;
        }
        Assert.True(accuracy > chance + 0.05, $"zero-shot accuracy {accuracy:F3} against chance {chance:F3}");
    }
}

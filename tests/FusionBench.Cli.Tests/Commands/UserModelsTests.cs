using System.Text.Json;
using FusionBench.Core;
using FusionBench.Core.Checkpoints;
using FusionBench.Core.Tests.TestSupport;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FusionBench.Cli.Tests.Commands;

/// <summary><c>fusionbench run --config</c> on the user's own Hugging Face folders and CSV data, in FusionBench's config shape.</summary>
public class UserModelsTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        return (CliApp.Run(args, o, e), o.ToString(), e.ToString());
    }

    /// <summary>A pretrained tiny BERT, two fine-tuned classifiers and their CSV data, and a FusionBench-shaped YAML config.</summary>
    private static string WriteExperiment(TempDir dir, string method, string extra = "")
    {
        using var pretrained = HuggingFaceFolders.RandomBert(20);
        using var a = HuggingFaceFolders.RandomBert(21, around: pretrained, scale: 0.05);
        using var b = HuggingFaceFolders.RandomBert(22, around: pretrained, scale: 0.05);
        using var g = new Generator(23);
        HuggingFaceFolders.WriteBert(dir.File("pretrained"), pretrained);
        HuggingFaceFolders.WriteBert(dir.File("sentiment"), a, randn(new long[] { 2, 16 }, generator: g), zeros(2), new[] { "neg", "pos" });
        HuggingFaceFolders.WriteBert(dir.File("topic"), b, randn(new long[] { 3, 16 }, generator: g), zeros(3), new[] { "pets", "colours", "other" });
        static string Sentiment(string t) => t.Contains("good") ? "pos" : "neg";
        static string Topic(string t) => t.Contains("cat") ? "pets" : t.Contains("red") ? "colours" : "other";
        foreach (var (split, rows, seed) in new[] { ("train", 32, 1), ("test", 16, 2) })
        {
            HuggingFaceFolders.WriteCsv(dir.File($"sentiment-{split}.csv"), rows, seed, Sentiment);
            HuggingFaceFolders.WriteCsv(dir.File($"topic-{split}.csv"), rows, seed + 10, Topic);
        }
        string config = dir.File("exp.yaml");
        File.WriteAllText(config, $"""
            method:
              name: {method}
            {extra}
            modelpool:
              _target_: fusion_bench.modelpool.SequenceClassificationModelPool
              models:
                _pretrained_: {dir.File("pretrained")}
                sentiment: {dir.File("sentiment")}
                topic: {dir.File("topic")}
              train_datasets:
                sentiment: {dir.File("sentiment-train.csv")}
                topic: {dir.File("topic-train.csv")}
            taskpool:
              _target_: fusion_bench.taskpool.SequenceClassificationTaskPool
              test_datasets:
                sentiment: {dir.File("sentiment-test.csv")}
                topic: {dir.File("topic-test.csv")}
            """);
        return config;
    }

    [Theory]
    [InlineData("simple_average", "")]
    [InlineData("regmean", "  num_regmean_examples: 16\n  batch_size: 8")]
    [InlineData("layer_wise_adamerging", "  max_steps: 2\n  batch_size: 8")]
    [InlineData("simple_ensemble", "")]
    public void Run_OnHuggingFaceFoldersAndCsvData_ReportsEveryTask_AndSavesTheMergedBackbone(string method, string parameters)
    {
        using var dir = TestData.NewTempDir();
        string config = WriteExperiment(dir, method, parameters);
        var (code, stdout, stderr) = Run("run", "--config", config, "--output", dir.File("out"));
        Assert.True(code == 0, stderr);
        using var report = JsonDocument.Parse(File.ReadAllText(dir.File("out/report.json")));
        foreach (var task in new[] { "sentiment", "topic" })
        {
            double accuracy = report.RootElement.GetProperty(task).GetProperty("accuracy").GetDouble();
            Assert.InRange(accuracy, 0, 1);
        }
        Assert.Contains("sentiment", stdout);
        if (method == "simple_ensemble") { Assert.False(File.Exists(dir.File("out/merged.safetensors"))); return; }
        using var merged = SafeTensorsFile.Open(dir.File("out/merged.safetensors"));
        Assert.Contains("encoder.layer.1.output.dense.weight", merged.TensorNames);   // the backbone, under BertModel's names
        Assert.DoesNotContain("classifier.weight", merged.TensorNames);               // each task keeps its head
        if (method != "simple_average") return;
        using var sa = SafeTensorsFile.Open(dir.File("sentiment/model.safetensors"));
        using var tb = SafeTensorsFile.Open(dir.File("topic/model.safetensors"));
        using var x = sa.Read("bert.encoder.layer.0.intermediate.dense.weight");
        using var y = tb.Read("bert.encoder.layer.0.intermediate.dense.weight");
        using var m = merged.Read("encoder.layer.0.intermediate.dense.weight");
        Assert.True(m.allclose((x + y) / 2, rtol: 1e-6, atol: 1e-7));
    }

    [Fact]
    public void BadInput_IsOneClearLine_ExitCode1_AndNothingWritten()
    {
        using var dir = TestData.NewTempDir();
        string config = WriteExperiment(dir, "regmean");
        void Fails(string expected)
        {
            var (code, _, stderr) = Run("run", "--config", config, "--output", dir.File("out"));
            Assert.Equal(1, code);
            Assert.Contains(expected, stderr);
            Assert.Single(stderr.Trim().Split('\n'));
            Assert.False(Directory.Exists(dir.File("out")));
        }

        File.WriteAllText(dir.File("topic-test.csv"), "sentence,label\nthe cat,pets\n");
        Fails($"{dir.File("topic-test.csv")}: no 'text' column");
        File.WriteAllText(dir.File("topic-test.csv"), "text,label\nthe cat,pets\nthe red dog,birds\n");
        Fails("line 3: unknown label 'birds'");
        File.Delete(dir.File("topic/config.json"));
        Fails($"{dir.File("topic")}: no config.json");
        File.WriteAllText(config, File.ReadAllText(config).Replace("fusion_bench.modelpool.SequenceClassificationModelPool", "my.Pool"));
        Fails("modelpool._target_ 'my.Pool'");
    }
}

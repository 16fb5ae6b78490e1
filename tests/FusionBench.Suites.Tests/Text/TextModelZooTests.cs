using FusionBench.Core;
using FusionBench.Core.Checkpoints;
using FusionBench.Suites.Text;
using FusionBench.Core.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using TorchSharp;
using Xunit;

namespace FusionBench.Suites.Tests.Text;

/// <summary>A tiny text zoo (2-layer slice of the real weights, two tasks, a few steps) built, cached and described.</summary>
public class TextModelZooTests(MiniLmFixture minilm) : IClassFixture<MiniLmFixture>
{
    [Fact]
    public void Zoo_BuildsHeadsAndFineTunes_WithAManifest_AndIsCached()
    {
        using var dir = TestData.NewTempDir();
        var options = TinyZoo(examples: 64, steps: 8);
        string zoo = dir.File("zoo");
        var reports = new List<FusionProgress>();
        var manifest = TextModelZoo.EnsureBuilt(Data, Path.GetDirectoryName(minilm.Folder)!, zoo, options, progress: new Collect(reports));

        Assert.Equal(new[] { "wn_verb", "langid" }, manifest.Tasks.Select(t => t.Name));   // the suite's order
        Assert.All(manifest.Tasks, t => Assert.Equal((64, 64), (t.TrainSize, t.TestSize)));
        Assert.Contains(reports, r => r.Operation == "fine-tuning langid" && r.Completed == 8 && r.Total == 8);
        using (var head = SafeTensorsFile.Open(TextModelZoo.HeadPath(zoo, "langid")))
            Assert.Equal(new long[] { 7, 384 }, head.GetInfo("weight").Shape);
        using (var tuned = SafeTensorsFile.Open(TextModelZoo.ModelPath(zoo, "wn_verb")))
        {
            Assert.DoesNotContain("embeddings.word_embeddings.weight", tuned.TensorNames);     // frozen: the pretrained model's
            Assert.Contains("encoder.layer.1.output.dense.weight", tuned.TensorNames);
            Assert.DoesNotContain("encoder.layer.2.output.dense.weight", tuned.TensorNames);   // the 2-layer slice
        }
        Assert.False(Directory.Exists(zoo + ".building"));

        // Same options: the cached zoo, nothing rebuilt.
        var stamp = File.GetLastWriteTimeUtc(TextModelZoo.ModelPath(zoo, "langid"));
        reports.Clear();
        var cached = TextModelZoo.EnsureBuilt(Data, Path.GetDirectoryName(minilm.Folder)!, zoo, options, progress: new Collect(reports));
        Assert.Equal(manifest.Tasks.Select(t => t.FullAccuracy), cached.Tasks.Select(t => t.FullAccuracy));
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(TextModelZoo.ModelPath(zoo, "langid")));
        Assert.Contains(reports, r => r.Message!.StartsWith("using the cached zoo", StringComparison.Ordinal));
    }

    [Fact]
    public void Pool_EvaluatesAsTheZooMeasured_AndTheDataDrivenMethodsRunOnIt()
    {
        using var dir = TestData.NewTempDir();
        var options = TinyZoo(examples: 48, steps: 6);
        var manifest = TextModelZoo.EnsureBuilt(Data, Path.GetDirectoryName(minilm.Folder)!, dir.File("zoo"), options);
        using var pool = TextSuiteModelPool.Open(dir.File("zoo"), Data);
        var taskPool = pool.CreateTaskPool();

        // The pool's evaluation reproduces the zoo's own measurements: zero-shot pretrained and each task's own model.
        using var pre = StateDict.CopyFrom(pool.Pretrained!);
        var zeroShot = taskPool.Evaluate(_ => pre, new Dictionary<string, object?> { ["model"] = "pretrained" });
        var own = manifest.Tasks.ToDictionary(t => t.Name, t => StateDict.CopyFrom(pool.GetModel(t.Name)));
        var individual = taskPool.Evaluate(t => own[t], new Dictionary<string, object?> { ["model"] = "individual" });
        foreach (var t in manifest.Tasks)
        {
            Assert.Equal(t.PretrainedAccuracy, zeroShot.Tasks[t.Name].Accuracy, 9);
            Assert.Equal(t.FullAccuracy, individual.Tasks[t.Name].Accuracy, 9);
        }
        foreach (var d in own.Values) d.Dispose();

        // Corrupted test sets: random casing is invisible to the uncased tokenizer (the same report, bit for bit);
        // dropping 30 % of the words changes what the model sees.
        var info = new Dictionary<string, object?> { ["model"] = "pretrained" };
        var cased = pool.CreateTaskPool(new TextEvaluationOptions { Corruption = FusionBench.Suites.Data.TextCorruption.RandomCasing, Severity = 5 }).Evaluate(_ => pre, info);
        var dropped = pool.CreateTaskPool(new TextEvaluationOptions { Corruption = FusionBench.Suites.Data.TextCorruption.WordDropout, Severity = 5 }).Evaluate(_ => pre, info);
        Assert.Equal(zeroShot.Tasks.Values.Select(m => m.Loss), cased.Tasks.Values.Select(m => m.Loss));
        Assert.NotEqual(zeroShot.Tasks.Values.Select(m => m.Loss), dropped.Tasks.Values.Select(m => m.Loss));
        Assert.Equal("word_dropout", dropped.ModelInfo["corruption"]);

        // The generalization study's pool fuses a subset; a task the zoo lacks is an error naming it.
        using (var seen = TextSuiteModelPool.Open(dir.File("zoo"), Data, new[] { "langid" }))
            Assert.Equal(new[] { "langid" }, seen.ModelNames);
        var e = Assert.Throws<ArgumentException>(() => TextSuiteModelPool.Open(dir.File("zoo"), Data, new[] { "order" }));
        Assert.Contains("order", e.Message);

        // Every data-driven method and an ensemble run on BERT and the text data, merging the backbone only.
        using var services = new ServiceCollection().AddFusionBench().Services.BuildServiceProvider();
        var provider = services.GetRequiredService<FusionBench.Core.DependencyInjection.IFusionAlgorithmProvider>();
        foreach (var (method, set) in new[]
        {
            ("task_arithmetic", new Dictionary<string, string>()),
            ("fisher_merging", new Dictionary<string, string> { ["num_fisher_examples"] = "16", ["batch_size"] = "8" }),
            ("regmean", new Dictionary<string, string> { ["num_regmean_examples"] = "16", ["batch_size"] = "8" }),
            ("layer_wise_adamerging", new Dictionary<string, string> { ["max_steps"] = "2", ["batch_size"] = "8" }),
            ("weight_ensembling_moe", new Dictionary<string, string> { ["max_steps"] = "2", ["batch_size"] = "8" }),
            ("simple_ensemble", new Dictionary<string, string>()),
        })
        {
            using var result = provider.Create(method, set).Fuse(pool);
            var report = taskPool.Evaluate(result);
            Assert.Equal(new[] { "wn_verb", "langid" }, report.Tasks.Keys);
            Assert.All(report.Tasks.Values, m => Assert.True(m.Accuracy is >= 0 and <= 1 && double.IsFinite(m.Loss), $"{method}: {m}"));
        }
    }

    [Fact]
    public void Lora_IsAddedToACachedZooInPlace_AsPeftFolders_AndThePoolMergesIt()
    {
        using var dir = TestData.NewTempDir();
        string zoo = dir.File("zoo"), models = Path.GetDirectoryName(minilm.Folder)!;
        var options = TinyZoo(examples: 32, steps: 4);
        TextModelZoo.EnsureBuilt(Data, models, zoo, options);
        Assert.Throws<FusionException>(() => TextSuiteModelPool.Open(zoo, Data, fineTuning: FineTuning.Lora));
        var stamp = File.GetLastWriteTimeUtc(TextModelZoo.ModelPath(zoo, "langid"));

        var lora = new TextLoraOptions { Rank = 2, Alpha = 4, LearningRate = 2e-3 };
        var reports = new List<FusionProgress>();
        var manifest = TextModelZoo.EnsureBuilt(Data, models, zoo, options with { Lora = lora }, progress: new Collect(reports));
        Assert.Contains(reports, r => r.Message!.StartsWith("adding LoRA", StringComparison.Ordinal));
        Assert.DoesNotContain(reports, r => r.Operation == "fine-tuning langid");                   // the full fine-tunes were kept
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(TextModelZoo.ModelPath(zoo, "langid")));
        Assert.All(manifest.Tasks, t => Assert.True(t.LoraAccuracy is >= 0 and <= 1 && t.LoraFineTuneSeconds > 0));
        Assert.True(TextModelZoo.HasLora(manifest, zoo, lora));
        var config = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(TextModelZoo.LoraPath(zoo, "langid"), "adapter_config.json"))).RootElement;
        Assert.Equal(("LORA", 2, 4.0), (config.GetProperty("peft_type").GetString(), config.GetProperty("r").GetInt32(), config.GetProperty("lora_alpha").GetDouble()));

        // The LoRA pool: the adapted weights differ from the pretrained model's, every other tensor is the pretrained one,
        // and its evaluation reproduces the zoo's LoRA accuracy.
        using var pool = TextSuiteModelPool.Open(zoo, Data, fineTuning: FineTuning.Lora);
        Assert.Equal(FineTuning.Lora, pool.FineTuning);
        using var model = StateDict.CopyFrom(pool.GetModel("langid"));
        foreach (var name in model.TensorNames)
        {
            bool adapted = name.EndsWith("attention.self.query.weight", StringComparison.Ordinal) || name.EndsWith("attention.self.value.weight", StringComparison.Ordinal);
            using var pre = pool.Pretrained!.Read(name);
            Assert.True(adapted != model[name].equal(pre).all().ToBoolean(), name);
        }
        var report = pool.CreateTaskPool().Evaluate(_ => model, new Dictionary<string, object?>());
        Assert.Equal(manifest.Tasks.Single(t => t.Name == "langid").LoraAccuracy!.Value, report.Tasks["langid"].Accuracy, 9);

        // The zoo's adapter folders are PEFT's layout: the library's reader of any PEFT adapter merges them the same way.
        using (var baseModel = Checkpoint.Open(minilm.Folder))
        using (var peft = new FusionBench.Core.Checkpoints.LoraAdapter(TextModelZoo.LoraPath(zoo, "langid"), baseModel))
            foreach (var name in peft.ChangedTensors)
            {
                using var viaPeft = peft.Read(name);
                Assert.True(viaPeft.allclose(model[name], rtol: 1e-5, atol: 1e-6), name);
            }

        // The same LoRA options again: cached, nothing retrained.
        reports.Clear();
        TextModelZoo.EnsureBuilt(Data, models, zoo, options with { Lora = lora }, progress: new Collect(reports));
        Assert.Contains(reports, r => r.Message!.StartsWith("using the cached zoo", StringComparison.Ordinal));
    }

    private static string Data => Path.Combine(AppContext.BaseDirectory, "data", "text");

    /// <summary>Two short tasks on a 2-layer slice of the real weights, a few steps: seconds to build.</summary>
    private static TextZooOptions TinyZoo(int examples, int steps) => new()
    {
        Tasks = new[] { "langid", "wn_verb" }, Layers = 2, TrainPerTask = examples, TestPerTask = examples,
        FineTune = new TextFineTuneOptions { Steps = steps, BatchSize = 16, LearningRate = 5e-4 },
    };

    private sealed class Collect(List<FusionProgress> reports) : IProgress<FusionProgress>
    {
        public void Report(FusionProgress value) => reports.Add(value);
    }
}

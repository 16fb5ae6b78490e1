using FusionBench.Core.ModelPools.HuggingFace;
using FusionBench.Core.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FusionBench.Core.Tests.HuggingFace;

/// <summary>Every method on the user's own Hugging Face folders and CSV data.</summary>
public class HuggingFaceModelPoolTests
{
    /// <summary>A pretrained tiny BERT and two fine-tuned classifiers (2 and 3 classes) with CSV data per task.</summary>
    private static HuggingFacePoolOptions WritePool(TempDir dir, bool identical = false)
    {
        using var pretrained = HuggingFaceFolders.RandomBert(10);
        using var a = HuggingFaceFolders.RandomBert(11, around: pretrained, scale: 0.05);
        using var b = identical ? HuggingFaceFolders.RandomBert(11, around: pretrained, scale: 0.05) : HuggingFaceFolders.RandomBert(12, around: pretrained, scale: 0.05);
        using var g = new Generator(13);
        HuggingFaceFolders.WriteBert(dir.File("pretrained"), pretrained);
        HuggingFaceFolders.WriteBert(dir.File("sentiment"), a, randn(new long[] { 2, 16 }, generator: g), zeros(2), new[] { "neg", "pos" });
        HuggingFaceFolders.WriteBert(dir.File("topic"), b, randn(new long[] { 3, 16 }, generator: g), zeros(3), new[] { "pets", "colours", "other" });
        static string Sentiment(string t) => t.Contains("good") || t.Contains("happy") ? "pos" : "neg";
        static string Topic(string t) => t.Contains("cat") || t.Contains("dog") ? "pets" : t.Contains("red") || t.Contains("blue") ? "colours" : "other";
        return new HuggingFacePoolOptions
        {
            Pretrained = dir.File("pretrained"),
            Models = new Dictionary<string, string> { ["sentiment"] = dir.File("sentiment"), ["topic"] = dir.File("topic") }.ToList(),
            TrainData = new Dictionary<string, string>
            {
                ["sentiment"] = HuggingFaceFolders.WriteCsv(dir.File("sentiment-train.csv"), 40, 1, Sentiment),
                ["topic"] = HuggingFaceFolders.WriteCsv(dir.File("topic-train.csv"), 40, 2, Topic),
            },
            TestData = new Dictionary<string, string>
            {
                ["sentiment"] = HuggingFaceFolders.WriteCsv(dir.File("sentiment-test.csv"), 24, 3, Sentiment),
                ["topic"] = HuggingFaceFolders.WriteCsv(dir.File("topic-test.csv"), 24, 4, Topic),
            },
        };
    }

    [Fact]
    public void EveryDataDrivenMethod_RunsOnHuggingFaceFoldersAndCsvData_MergingTheBackboneOnly()
    {
        using var dir = TestData.NewTempDir();
        using var pool = HuggingFaceModelPool.Open(WritePool(dir));
        Assert.Equal(new[] { "sentiment", "topic" }, pool.ModelNames);
        Assert.Equal(new long[] { 40 }, pool.TrainInputs("topic").shape.Take(1).ToArray());
        var taskPool = pool.CreateTaskPool();
        using var services = new ServiceCollection().AddFusionBench().Services.BuildServiceProvider();
        var provider = services.GetRequiredService<FusionBench.Core.DependencyInjection.IFusionAlgorithmProvider>();

        // Simple average of the backbones: exactly the mean of the two fine-tuned folders' bert.* tensors.
        using (var avg = provider.Create("simple_average", new Dictionary<string, string>()).Fuse(pool))
        {
            Assert.Equal(pool.Pretrained!.TensorNames.Order(StringComparer.Ordinal), avg.Weights.TensorNames.Order(StringComparer.Ordinal));
            using var sa = pool.GetModel("sentiment").Read("encoder.layer.0.attention.self.query.weight");
            using var tb = pool.GetModel("topic").Read("encoder.layer.0.attention.self.query.weight");
            Assert.True(avg.Weights["encoder.layer.0.attention.self.query.weight"].allclose((sa + tb) / 2, rtol: 1e-6, atol: 1e-7));
            var report = taskPool.Evaluate(avg);
            Assert.Equal(new[] { "sentiment", "topic" }, report.Tasks.Keys);
        }

        foreach (var (method, set) in new[]
        {
            ("fisher_merging", new Dictionary<string, string> { ["num_fisher_examples"] = "16", ["batch_size"] = "8" }),
            ("regmean", new Dictionary<string, string> { ["num_regmean_examples"] = "16", ["batch_size"] = "8" }),
            ("task_wise_adamerging", new Dictionary<string, string> { ["max_steps"] = "2", ["batch_size"] = "8" }),
            ("layer_wise_adamerging", new Dictionary<string, string> { ["max_steps"] = "2", ["batch_size"] = "8" }),
            ("weight_ensembling_moe", new Dictionary<string, string> { ["max_steps"] = "2", ["batch_size"] = "8" }),
            ("simple_ensemble", new Dictionary<string, string>()),
            ("max_model_predictor", new Dictionary<string, string>()),
            ("moe_upscaling", new Dictionary<string, string>()),
        })
        {
            using var result = provider.Create(method, set).Fuse(pool);
            var report = taskPool.Evaluate(result);
            Assert.Equal(new[] { "sentiment", "topic" }, report.Tasks.Keys);
            Assert.All(report.Tasks.Values, m => Assert.True(m.Accuracy is >= 0 and <= 1 && double.IsFinite(m.Loss), $"{method}: {m}"));
        }
    }

    [Fact]
    public void RegMean_OfTwoIdenticalFineTunes_IsThatModel_AndTheTaskPoolMeasuresEachTaskWithItsOwnHead()
    {
        using var dir = TestData.NewTempDir();
        using var pool = HuggingFaceModelPool.Open(WritePool(dir, identical: true));
        using var services = new ServiceCollection().AddFusionBench().Services.BuildServiceProvider();
        var provider = services.GetRequiredService<FusionBench.Core.DependencyInjection.IFusionAlgorithmProvider>();
        using var regmean = provider.Create("regmean", new Dictionary<string, string> { ["num_regmean_examples"] = "16", ["batch_size"] = "8" }).Fuse(pool);
        using var model = StateDict.CopyFrom(pool.GetModel("sentiment"));
        foreach (var name in model.TensorNames)
            Assert.True(regmean.Weights[name].allclose(model[name], rtol: 1e-4, atol: 1e-5), name);

        // The report's accuracy is each task's own head on the merged backbone, counted by hand here.
        var report = pool.CreateTaskPool().Evaluate(regmean);
        using var noGrad = no_grad();
        var bert = pool.Architecture;
        foreach (var task in pool.ModelNames)
        {
            using var logits = pool.Logits(task, bert.Forward(regmean.Weights, pool.TestInputs(task)));
            double accuracy = logits.argmax(1).eq(pool.TestLabels(task)).to(ScalarType.Float64).mean().ToDouble();
            Assert.Equal(accuracy, report.Tasks[task].Accuracy, 9);
        }
    }

    [Fact]
    public void ClipFoldersWithHeadFiles_AndImageFolderData_RunTheDataDrivenMethods_AndTheReportCountsEveryImage()
    {
        using var dir = TestData.NewTempDir();
        // The golden CLIP vision tower (8 × 8 grayscale, width 8) as the pretrained folder, two fine-tunes near it, a head file each.
        var config = $"{{\"model_type\": \"clip_vision_model\", \"image_size\": 8, \"patch_size\": 4, \"hidden_size\": 8, \"intermediate_size\": 16, " +
                     "\"num_hidden_layers\": 2, \"num_attention_heads\": 2, \"num_channels\": 1}";
        using var file = FusionBench.Core.Checkpoints.SafeTensorsFile.Open(Path.Combine(TestData.GoldenDir, "vit", "weights.safetensors"));
        using var golden = StateDict.CopyFrom(file);
        using var g = new Generator(3);
        var options = new HuggingFacePoolOptions { Pretrained = dir.File("clip"), Models = new List<KeyValuePair<string, string>>() };
        var models = new List<KeyValuePair<string, string>>();
        var heads = new Dictionary<string, string>();
        var train = new Dictionary<string, string>();
        var test = new Dictionary<string, string>();
        foreach (var name in new[] { "clip", "shapes", "shades" })
        {
            Directory.CreateDirectory(dir.File(name));
            File.WriteAllText(Path.Combine(dir.File(name), "config.json"), config);
            using var weights = new StateDict(name);
            foreach (var t in golden.TensorNames)
                weights.Add(t, name == "clip" || !is_floating_point(golden[t].dtype) ? golden[t].clone() : golden[t] + randn(golden[t].shape, generator: g).mul_(0.05));
            FusionBench.Core.Checkpoints.Checkpoint.Save(weights, Path.Combine(dir.File(name), "model.safetensors"));
            if (name == "clip") continue;
            using (var head = new StateDict("head")) { head.Add("weight", randn(new long[] { 2, 8 }, generator: g)); FusionBench.Core.Checkpoints.Checkpoint.Save(head, dir.File(name + "-head.safetensors")); }
            models.Add(new(name, dir.File(name)));
            heads[name] = dir.File(name + "-head.safetensors");
            foreach (var split in new[] { "train", "test" })
                for (int i = 0; i < 6; i++)
                {
                    int label = i % 2;
                    var (left, right) = label == 0 ? (SkiaSharp.SKColors.Black, SkiaSharp.SKColors.White) : (SkiaSharp.SKColors.Gray, SkiaSharp.SKColors.Gray);
                    FusionBench.Core.Tests.Data.ImageFolderDatasetTests.WritePng(dir.File($"{name}-{split}/{(label == 0 ? "a" : "b")}/{i}.png"), 12, 8, left, right, 3 + i);
                }
            train[name] = dir.File(name + "-train");
            test[name] = dir.File(name + "-test");
        }
        using var pool = HuggingFaceModelPool.Open(options with { Models = models, Heads = heads, TrainData = train, TestData = test });
        Assert.Equal(new long[] { 6, 1, 8, 8 }, pool.TrainInputs("shapes").shape);
        using var services = new ServiceCollection().AddFusionBench().Services.BuildServiceProvider();
        var provider = services.GetRequiredService<FusionBench.Core.DependencyInjection.IFusionAlgorithmProvider>();
        var taskPool = pool.CreateTaskPool();
        foreach (var (method, set) in new[]
        {
            ("regmean", new Dictionary<string, string> { ["num_regmean_examples"] = "6", ["batch_size"] = "3" }),
            ("layer_wise_adamerging", new Dictionary<string, string> { ["max_steps"] = "2", ["batch_size"] = "3" }),
        })
        {
            using var result = provider.Create(method, set).Fuse(pool);
            var report = taskPool.Evaluate(result);
            using var noGrad = no_grad();
            foreach (var task in pool.ModelNames)
            {
                // Counted by hand over the decoded test images: the streaming evaluation saw every image once.
                using var logits = pool.Logits(task, pool.Architecture.Forward(result.Weights, pool.TestInputs(task)));
                double accuracy = logits.argmax(1).eq(pool.TestLabels(task)).to(ScalarType.Float64).mean().ToDouble();
                Assert.Equal(accuracy, report.Tasks[task].Accuracy, 9);
            }
        }
        var e = Assert.Throws<FusionException>(() => HuggingFaceModelPool.Open(options with { Models = models, Heads = heads, TrainData = new Dictionary<string, string> { ["shapes"] = dir.File("x.csv") } }));
        Assert.Contains("ImageFolder", e.Message);

        // Streamed: RegMean reads its first 2 batches of 3 images only, so a corrupt 7th image is never decoded
        // (asking for the whole split shows it is there).
        File.WriteAllBytes(dir.File("shapes-train/b/zz.png"), new byte[] { 0x89, 0x50, 0x4E, 0x47, 0, 0, 0 });
        using var streamed = HuggingFaceModelPool.Open(options with { Models = models, Heads = heads, TrainData = train, TestData = test });
        using (provider.Create("regmean", new Dictionary<string, string> { ["num_regmean_examples"] = "4", ["batch_size"] = "3" }).Fuse(streamed)) { }
        Assert.Contains("zz.png", Assert.Throws<FusionException>(() => streamed.TrainInputs("shapes")).Message);
    }

    [Fact]
    public void AFusionBenchShapedConfig_DrivesTheApi_AsTheOptionsWouldByHand()
    {
        using var dir = TestData.NewTempDir();
        var options = WritePool(dir);
        string yaml = $"""
            method:
              name: regmean
              num_regmean_examples: 16
              batch_size: 8
            modelpool:
              _target_: fusion_bench.modelpool.SequenceClassificationModelPool
              models:
                _pretrained_: {options.Pretrained}
                sentiment: {options.Models[0].Value}
                topic: {options.Models[1].Value}
              train_datasets:
                sentiment: {options.TrainData["sentiment"]}
                topic: {options.TrainData["topic"]}
            taskpool:
              test_datasets:
                sentiment: {options.TestData["sentiment"]}
                topic: {options.TestData["topic"]}
            """;
        File.WriteAllText(dir.File("exp.yaml"), yaml);
        var config = FusionBench.Core.Configuration.FusionBenchConfig.Load(dir.File("exp.yaml"));
        var fromConfig = config.ToPoolOptions();
        Assert.Equal(options.Pretrained, fromConfig.Pretrained);
        Assert.Equal(options.Models, fromConfig.Models);
        Assert.Equal(options.TrainData.OrderBy(kv => kv.Key), fromConfig.TrainData.OrderBy(kv => kv.Key));
        Assert.Equal(options.TestData.OrderBy(kv => kv.Key), fromConfig.TestData.OrderBy(kv => kv.Key));

        using var services = new ServiceCollection().AddFusionBench().Services.BuildServiceProvider();
        var provider = services.GetRequiredService<FusionBench.Core.DependencyInjection.IFusionAlgorithmProvider>();
        using var pool = HuggingFaceModelPool.Open(fromConfig);
        using var viaConfig = config.CreateAlgorithm(provider).Fuse(pool);
        using var byHand = new FusionBench.Core.Algorithms.Merging.RegMean.RegMeanAlgorithm(new() { NumRegmeanExamples = 16, BatchSize = 8 }).Fuse(pool);
        TestData.AssertClose(byHand.Weights, viaConfig.Weights, atol: 0, rtol: 0);
        Assert.Throws<FusionException>(() => FusionBench.Core.Configuration.FusionBenchConfig.Load(dir.File("missing.yaml")));
    }

    [Fact]
    public void InMemoryTextsAndBatches_FromTheApp_GiveTheSameMergeAndReportAsTheFiles()
    {
        using var dir = TestData.NewTempDir();
        var options = WritePool(dir);
        using var fromFiles = HuggingFaceModelPool.Open(options);
        var labels = new Dictionary<string, string[]> { ["sentiment"] = new[] { "neg", "pos" }, ["topic"] = new[] { "pets", "colours", "other" } };
        var texts = options.TrainData.ToDictionary(kv => kv.Key, kv => FusionBench.Core.Data.InMemoryData.FromTexts(
            FusionBench.Core.Data.TextClassificationFile.ReadAll(kv.Value, labels[kv.Key].Length, labels[kv.Key])));
        // Test data as batches of token ids of different lengths (two halves, each padded to its own longest text).
        var batches = options.TestData.ToDictionary(kv => kv.Key, kv =>
        {
            var examples = FusionBench.Core.Data.TextClassificationFile.ReadAll(kv.Value, labels[kv.Key].Length, labels[kv.Key]);
            var halves = new[] { examples.Take(12).ToList(), examples.Skip(12).ToList() };
            return FusionBench.Core.Data.InMemoryData.FromBatches(halves.Select(h =>
                (fromFiles.Encoder!.EncodeBatch(h.Select(e => e.Text).ToList()), tensor(h.Select(e => (long)e.Label).ToArray()))).ToList());
        });
        using var inMemory = HuggingFaceModelPool.Open(options with
        {
            TrainData = new Dictionary<string, string>(), TestData = new Dictionary<string, string>(), TrainExamples = texts, TestExamples = batches,
        });
        using var services = new ServiceCollection().AddFusionBench().Services.BuildServiceProvider();
        var provider = services.GetRequiredService<FusionBench.Core.DependencyInjection.IFusionAlgorithmProvider>();
        var regmean = new Dictionary<string, string> { ["num_regmean_examples"] = "16", ["batch_size"] = "8" };
        using var a = provider.Create("regmean", regmean).Fuse(fromFiles);
        using var b = provider.Create("regmean", regmean).Fuse(inMemory);
        TestData.AssertClose(a.Weights, b.Weights, atol: 0, rtol: 0);
        var ra = fromFiles.CreateTaskPool().Evaluate(a);
        var rb = inMemory.CreateTaskPool().Evaluate(b);
        foreach (var task in ra.Tasks.Keys)
        {
            Assert.Equal(ra.Tasks[task].Accuracy, rb.Tasks[task].Accuracy, 12);
            Assert.Equal(ra.Tasks[task].Loss, rb.Tasks[task].Loss, 5);
        }
    }

    [Fact]
    public void BadPools_AreOneClearError()
    {
        using var dir = TestData.NewTempDir();
        var options = WritePool(dir);
        var e = Assert.Throws<FusionException>(() => HuggingFaceModelPool.Open(options with { TrainData = new Dictionary<string, string>(options.TrainData) { ["other"] = options.TrainData["topic"] } }));
        Assert.Contains("'other'", e.Message);
        e = Assert.Throws<FusionException>(() => HuggingFaceModelPool.Open(options with { Models = options.Models.Append(new("third", dir.File("pretrained"))).ToList() }));
        Assert.Contains("no classification head", e.Message);
        File.WriteAllText(dir.File("bad.csv"), "text,label\nthe cat,pets\nthe dog,birds\n");
        e = Assert.Throws<FusionException>(() => HuggingFaceModelPool.Open(options with { TestData = new Dictionary<string, string> { ["topic"] = dir.File("bad.csv") } }));
        Assert.Contains("unknown label 'birds'", e.Message);
    }
}

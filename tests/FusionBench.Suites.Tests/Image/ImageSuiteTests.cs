using FusionBench.Suites;
using Microsoft.Extensions.DependencyInjection;
using FusionBench.Core.Checkpoints;
using FusionBench.Core.Models;
using FusionBench.Suites.Image;
using FusionBench.Core.Tests.TestSupport;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FusionBench.Suites.Tests.Image;

[Collection(ImageSuiteCollection.Name)]
public class ImageSuiteTests(ImageSuiteFixture zoo)
{
    [Fact]
    public void Tasks_AreEightWithTheirOwnLabelSpacesAndDisjointTrainingImages()
    {
        var tasks = ImageSuiteData.LoadTasks(ImageSuiteFixture.DataDirectory, trainPerTask: 100, testPerTask: 20);
        try
        {
            Assert.Equal(ImageSuiteData.TaskNames, tasks.Select(t => t.Name));
            Assert.Equal(4, tasks.Single(t => t.Name == "fashion_coarse").NumClasses);
            foreach (var t in tasks)
            {
                Assert.Equal(new long[] { t.Train.Count, 1, 28, 28 }, t.Train.Images.shape);
                Assert.InRange(t.Train.Images.min().ToSingle(), 0f, 1f);
                Assert.InRange(t.Train.Images.max().ToSingle(), 0f, 1f);
                Assert.True(t.Train.Labels.max().ToInt64() < t.NumClasses);
            }
            var mnist = tasks[0].Test.Images;
            var rot = tasks[1].Test.Images;
            var inv = tasks[2].Test.Images;
            Assert.True(rot.allclose(mnist.rot90(1, (2, 3))));                 // same test digits, rotated
            Assert.True(inv.allclose(1 - mnist));                              // same test digits, inverted
            Assert.False(tasks[0].Train.Images.allclose(tasks[1].Train.Images.rot90(-1, (2, 3)))); // different training digits
            Assert.Equal(6, ImageSuiteData.SeenTasks.Count);
            Assert.Empty(ImageSuiteData.SeenTasks.Intersect(ImageSuiteData.UnseenTasks));
        }
        finally
        {
            foreach (var t in tasks) t.Dispose();
        }
    }

    [Fact]
    public void Zoo_BuiltInTheTests_HasEveryCheckpointAndAManifest_AndShowsProgress()
    {
        Assert.Equal(8, zoo.Manifest.Tasks.Count);
        Assert.True(File.Exists(ImageModelZoo.PretrainedPath(zoo.ZooDirectory)));
        foreach (var t in zoo.Manifest.Tasks)
        {
            Assert.True(File.Exists(ImageModelZoo.HeadPath(zoo.ZooDirectory, t.Name)));
            Assert.True(File.Exists(ImageModelZoo.ModelPath(zoo.ZooDirectory, t.Name, FineTuning.Full)));
            Assert.True(File.Exists(ImageModelZoo.ModelPath(zoo.ZooDirectory, t.Name, FineTuning.Lora)));
            Assert.InRange(t.FullAccuracy, 0, 1);
            Assert.NotNull(t.LoraAccuracy);
        }
        Assert.Equal(ImageSuiteFixture.TinyOptions.Config.HiddenSize, zoo.Manifest.Config["hidden_size"] is System.Text.Json.JsonElement e ? e.GetInt32() : Convert.ToInt32(zoo.Manifest.Config["hidden_size"]));
        // Typed progress: the pretraining summary, and every fine-tuning loop's last step with its loss and a known total.
        Assert.Contains(zoo.ProgressReports, p => p.Operation == "pretraining" && p.Message!.StartsWith("done, rotation accuracy", StringComparison.Ordinal));
        var last = Assert.Single(zoo.ProgressReports, p => p.Operation == "fine-tuning mnist (full)" && p.Total > 0 && p.Completed == p.Total);
        Assert.StartsWith("loss ", last.Message);
        Assert.Equal(TimeSpan.Zero, last.Remaining);
        Assert.Contains("fine-tuning mnist (full): ", last.ToString());
        // The fine-tuned checkpoints use CLIPVisionModel's names and differ from the pretrained weights.
        using var pre = SafeTensorsFile.Open(ImageModelZoo.PretrainedPath(zoo.ZooDirectory));
        using var ft = SafeTensorsFile.Open(ImageModelZoo.ModelPath(zoo.ZooDirectory, "mnist", FineTuning.Full));
        Assert.Equal(new ClipVisionModel(ImageSuiteFixture.TinyOptions.Config).Parameters.Keys.OrderBy(n => n, StringComparer.Ordinal), pre.TensorNames.OrderBy(n => n, StringComparer.Ordinal));
        using var a = pre.Read("vision_model.encoder.layers.0.mlp.fc1.weight");
        using var b = ft.Read("vision_model.encoder.layers.0.mlp.fc1.weight");
        Assert.False(a.allclose(b));
        // LoRA changes only the attention projections it adapts.
        using var lora = SafeTensorsFile.Open(ImageModelZoo.ModelPath(zoo.ZooDirectory, "mnist", FineTuning.Lora));
        using var c = lora.Read("vision_model.encoder.layers.0.mlp.fc1.weight");
        Assert.True(a.eq(c).all().ToBoolean());
        using var q0 = pre.Read("vision_model.encoder.layers.0.self_attn.q_proj.weight");
        using var q1 = lora.Read("vision_model.encoder.layers.0.self_attn.q_proj.weight");
        Assert.False(q0.eq(q1).all().ToBoolean());
    }

    [Fact]
    public void Zoo_IsCached_AndDeterministicFromItsSeed()
    {
        var stamp = File.GetLastWriteTimeUtc(ImageModelZoo.PretrainedPath(zoo.ZooDirectory));
        var again = ImageModelZoo.EnsureBuilt(ImageSuiteFixture.DataDirectory, zoo.ZooDirectory, ImageSuiteFixture.TinyOptions);
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(ImageModelZoo.PretrainedPath(zoo.ZooDirectory)));
        Assert.Equal(zoo.Manifest.Tasks.Select(t => t.FullAccuracy), again.Tasks.Select(t => t.FullAccuracy));

        // A rebuild with the same seed in another folder gives bit-identical pretrained weights.
        string other = zoo.NewTempPath("zoo-again");
        var options = ImageSuiteFixture.TinyOptions with { BuildLora = false, FineTuneEpochs = 1, TrainPerTask = 16 };
        ImageModelZoo.EnsureBuilt(ImageSuiteFixture.DataDirectory, other, options);
        using var first = SafeTensorsFile.Open(ImageModelZoo.PretrainedPath(zoo.ZooDirectory));
        using var second = SafeTensorsFile.Open(ImageModelZoo.PretrainedPath(other));
        TestData.AssertIdentical(first, second);
    }

    [Fact]
    public void TaskPool_AccuracyAndLoss_EqualHandComputedValues_ForAConstantHead()
    {
        using var pool = ImageSuiteModelPool.Open(zoo.ZooDirectory, ImageSuiteFixture.DataDirectory);
        // Heads with zero weights output their bias whatever the backbone: class 3 always wins, so accuracy is the
        // share of label 3 and the loss is −log softmax(bias)[y], computable by hand.
        double[] bias = { 0.5, -1, 0.25, 2, 0, 0, 0, 0, 0, 0 };
        var heads = pool.Tasks.ToDictionary(t => t.Name, t =>
        {
            var h = new StateDict();
            h.Add("weight", zeros(t.NumClasses, pool.Architecture.Config.HiddenSize));
            h.Add("bias", tensor(bias.Take(t.NumClasses).Select(v => (float)v).ToArray()));
            return h;
        });
        try
        {
            var taskPool = new ImageClassificationTaskPool(pool.Architecture, pool.Tasks, heads, new ImageEvaluationOptions());
            using var pre = StateDict.CopyFrom(pool.Pretrained!);
            var report = taskPool.Evaluate(_ => pre, new Dictionary<string, object?>());
            foreach (var t in pool.Tasks)
            {
                var labels = t.Test.Labels.data<long>().ToArray();
                var b = bias.Take(t.NumClasses).ToArray();
                double logSum = Math.Log(b.Sum(Math.Exp));
                double expectedAccuracy = labels.Count(l => l == 3) / (double)labels.Length;
                double expectedLoss = labels.Average(l => logSum - b[l]);
                Assert.Equal(expectedAccuracy, report.Tasks[t.Name].Accuracy, 12);
                Assert.Equal(expectedLoss, report.Tasks[t.Name].Loss, 5);
            }
            Assert.Equal(report.Tasks.Values.Average(m => m.Accuracy), report.Average.Accuracy, 12);
        }
        finally
        {
            foreach (var h in heads.Values) h.Dispose();
        }
    }

    [Fact]
    public void ModelPool_ForTheGeneralizationStudy_HoldsSixModels_AndEvaluatesEightTasks()
    {
        using var pool = ImageSuiteModelPool.Open(zoo.ZooDirectory, ImageSuiteFixture.DataDirectory, FineTuning.Lora, ImageSuiteData.SeenTasks);
        Assert.Equal(ImageSuiteData.SeenTasks, pool.ModelNames);
        Assert.Equal(8, pool.CreateTaskPool().TaskNames.Count);
        using var merged = new FusionBench.Core.Algorithms.Merging.TaskArithmetic.TaskArithmeticAlgorithm(new()).Fuse(pool);
        var report = pool.CreateTaskPool().Evaluate(merged);
        Assert.Equal(8, report.Tasks.Count);
        Assert.Equal("task_arithmetic", report.ModelInfo["method"]);
    }

    [Fact]
    public void ModelPool_MissingZooOrData_IsAClearError()
    {
        var e = Assert.Throws<FileNotFoundException>(() => ImageSuiteModelPool.Open(zoo.NewTempPath("nowhere"), ImageSuiteFixture.DataDirectory));
        Assert.Contains("fusionbench zoo build", e.Message);
        string emptyData = zoo.NewTempPath("empty-data");
        Directory.CreateDirectory(emptyData);
        var d = Assert.Throws<FileNotFoundException>(() => ImageSuiteData.LoadTasks(emptyData));
        Assert.Contains("mnist-train-images.idx.gz", d.Message);
    }

    [Fact]
    public void ModelPool_CorruptHeadCheckpoint_NamesTheFile()
    {
        string copy = zoo.NewTempPath("zoo-corrupt");
        foreach (var file in Directory.GetFiles(zoo.ZooDirectory, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(copy, Path.GetRelativePath(zoo.ZooDirectory, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        string head = ImageModelZoo.HeadPath(copy, "digits");
        File.WriteAllBytes(head, File.ReadAllBytes(head)[..^8]);
        var e = Assert.Throws<CheckpointFormatException>(() => ImageSuiteModelPool.Open(copy, ImageSuiteFixture.DataDirectory));
        Assert.Contains(head, e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void EveryRegisteredMethod_RunsOnTheTinySuite_AndScoresAboveChanceOnEveryTask()
    {
        using var services = new ServiceCollection().AddFusionBench().Services.BuildServiceProvider();
        var provider = services.GetRequiredService<IFusionAlgorithmProvider>();
        using var pool = ImageSuiteModelPool.Open(zoo.ZooDirectory, ImageSuiteFixture.DataDirectory);
        var taskPool = pool.CreateTaskPool();
        var overrides = new Dictionary<string, Dictionary<string, string>>
        {
            ["weighted_average"] = new() { ["weights"] = "[1,1,1,1,1,1,1,1]" },
            ["slerp"] = new() { ["model"] = "mnist" },   // from the pretrained model towards one fine-tuned model
            ["depth_upscaling"] = new() { ["layer_indices"] = "[0,0]", ["model"] = "mnist" },
            // Eight task vectors: λ = 0.1 (where the suite's scaling-factor curve peaks) rather than the single-task default 0.3.
            ["task_arithmetic"] = new() { ["scaling_factor"] = "0.1" },
            ["ties_merging"] = new() { ["scaling_factor"] = "0.1" },
            ["dare_task_arithmetic"] = new() { ["scaling_factor"] = "0.1" },
            ["dare_ties_merging"] = new() { ["scaling_factor"] = "0.1" },
            ["task_wise_adamerging"] = new() { ["max_steps"] = "2", ["init_values"] = "0.1" },
            ["layer_wise_adamerging"] = new() { ["max_steps"] = "2", ["init_values"] = "0.1" },
            ["weight_ensembling_moe"] = new() { ["max_steps"] = "2", ["init_lambda"] = "0.1" },
            ["fisher_merging"] = new() { ["num_fisher_examples"] = "32" },
            ["regmean"] = new() { ["num_regmean_examples"] = "32" },
            ["wudi"] = new() { ["iter_num"] = "20" },
            ["breadcrumbs"] = new() { ["weight"] = "[0.1]", ["density"] = "[0.9]" },
            ["breadcrumbs_ties"] = new() { ["weight"] = "[0.1]", ["density"] = "[0.9]" },
            ["della"] = new() { ["weight"] = "[0.1]", ["density"] = "[0.5]" },
            ["della_linear"] = new() { ["weight"] = "[0.1]", ["density"] = "[0.5]" },
            ["tall_mask_consensus"] = new() { ["scaling_factor"] = "0.1" },
            ["iso_c"] = new() { ["scaling_factor"] = "0.5" },
            ["iso_cts"] = new() { ["scaling_factor"] = "0.5" },
        };
        Assert.Equal(34, provider.Registrations.Count);
        var lines = new List<string>();
        var failures = new List<string>();
        lines.AddRange(zoo.Manifest.Tasks.Select(t => $"individual/{t.Name}: {t.FullAccuracy:F3}, pretrained {t.PretrainedAccuracy:F3}"));
        // nuslerp interpolates exactly two models (its own tests cover it).
        foreach (var r in provider.Registrations.Where(r => r.Name != "nuslerp"))
        {
            using var result = provider.Create(r.Name, overrides.GetValueOrDefault(r.Name) ?? new()).Fuse(pool);
            var report = taskPool.Evaluate(result);
            Assert.Equal(8, report.Tasks.Count);
            Assert.All(report.Tasks.Values, m => Assert.True(double.IsFinite(m.Loss), $"{r.Name}: {m}"));
            // Every method that combines the eight fine-tuned models classifies every task better than chance.
            foreach (var task in pool.Tasks)
            {
                double accuracy = report.Tasks[task.Name].Accuracy, chance = 1.0 / task.NumClasses;
                lines.Add($"{r.Name}/{task.Name}: {accuracy:F3} (chance {chance:F3})");
                // Depth and MoE upscaling grow one model (here the pretrained one); model recombination returns one random
                // recombination, which FedMR trains further: none of the three claims to be a multi-task model.
                // WUDI starts from the unscaled sum of the eight task vectors and moves each entry by at most lr·steps, and
                // FusionBench's TALL masks apply that unscaled sum too: on this suite's large task vectors both land far
                // from every model (the benchmark table shows it), so they are not held to this bar.
                if (r.Name is not ("depth_upscaling" or "moe_upscaling" or "model_recombination" or "wudi" or "tall_mask_task_arithmetic") && accuracy <= chance)
                    failures.Add($"{r.Name} on {task.Name}: accuracy {accuracy:F3} is not above chance {chance:F3}");
            }
        }
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures.Concat(lines)));
    }

    [Fact]
    public void Ensembles_OfNCopiesOfOneModel_EqualThatModelsAccuracyOnEveryTask()
    {
        // A zoo whose eight fine-tuned checkpoints are all the mnist model (heads stay per task).
        string copy = zoo.NewTempPath("zoo-copies");
        foreach (var file in Directory.EnumerateFiles(zoo.ZooDirectory, "*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(copy, Path.GetRelativePath(zoo.ZooDirectory, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target, overwrite: true);
        }
        foreach (var t in zoo.Manifest.Tasks)
            File.Copy(ImageModelZoo.ModelPath(zoo.ZooDirectory, "mnist", FineTuning.Full), ImageModelZoo.ModelPath(copy, t.Name, FineTuning.Full), overwrite: true);
        using var pool = ImageSuiteModelPool.Open(copy, ImageSuiteFixture.DataDirectory);
        var taskPool = pool.CreateTaskPool();
        using var single = StateDict.CopyFrom(pool.GetModel("mnist"));
        var expected = taskPool.Evaluate(_ => single, new Dictionary<string, object?> { ["method"] = "mnist model" });
        using var services = new ServiceCollection().AddFusionBench().Services.BuildServiceProvider();
        var provider = services.GetRequiredService<IFusionAlgorithmProvider>();
        foreach (var (method, parameters) in new[]
        {
            ("simple_ensemble", new Dictionary<string, string>()),
            ("weighted_ensemble", new Dictionary<string, string> { ["weights"] = "[0.5,1,2,0.1,3,1,1,0.4]" }),
            ("weighted_ensemble", new Dictionary<string, string> { ["normalize"] = "false" }),
            ("max_model_predictor", new Dictionary<string, string>()),
        })
        {
            using var result = provider.Create(method, parameters).Fuse(pool);
            var report = taskPool.Evaluate(result);
            foreach (var (task, m) in expected.Tasks)
            {
                Assert.Equal(m.Accuracy, report.Tasks[task].Accuracy);
                Assert.Equal(m.Loss, report.Tasks[task].Loss, 4);
            }
        }
    }
}

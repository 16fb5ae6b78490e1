using FusionBench.Cli;
using FusionBench.Core.Checkpoints;
using FusionBench.Core.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FusionBench.Cli.Tests.Commands;

/// <summary>The <c>fusionbench</c> command line end to end, run in-process on the golden checkpoints.</summary>
public class CliTests
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = CliApp.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    private static string[] MergeArgs(string method, string output, params string[] extra) =>
        new[] { "merge", "--method", method, "--pretrained", TestData.GoldenModel("pretrained") }
            .Concat(TestData.GoldenTasks.SelectMany(t => new[] { "--model", $"{t}={TestData.GoldenModel(t)}" }))
            .Concat(new[] { "--output", output })
            .Concat(extra)
            .ToArray();

    [Fact]
    public void Merge_TaskArithmetic_WritesTheReferenceResult()
    {
        using var dir = TestData.NewTempDir();
        string output = dir.File("merged.safetensors");
        var (code, stdout, stderr) = Run(MergeArgs("task_arithmetic", output, "--set", "scaling_factor=0.3"));
        Assert.True(code == 0, stderr);
        Assert.Contains("Merged 3 model(s) with task_arithmetic (scaling_factor=0.3)", stdout);
        Assert.Contains("Wrote", stdout);
        using var merged = SafeTensorsFile.Open(output);
        using var expected = SafeTensorsFile.Open(Path.Combine(TestData.GoldenDir, "expected", "task_arithmetic.safetensors"));
        TestData.AssertClose(expected, merged, atol: 1e-6, rtol: 8e-3);
    }

    [Fact]
    public void Merge_WithDtype_WritesEveryFloatTensorInIt_StreamedAsTheLibraryMergesThenCasts()
    {
        using var dir = TestData.NewTempDir();
        string output = dir.File("merged-bf16.safetensors");
        var (code, stdout, stderr) = Run(MergeArgs("task_arithmetic", output, "--dtype", "bfloat16"));
        Assert.True(code == 0, stderr);
        Assert.Contains("streamed tensor by tensor", stdout);
        using var merged = SafeTensorsFile.Open(output);
        using var services = new ServiceCollection().AddFusionBench().Services.BuildServiceProvider();
        using var pool = TestData.GoldenPool();
        using var library = services.GetRequiredService<IFusionAlgorithmProvider>().Create("task_arithmetic", new Dictionary<string, string>()).Fuse(pool);
        foreach (var name in library.Weights.TensorNames)
        {
            using var actual = merged.Read(name);
            var expected = library.Weights[name];
            if (!is_floating_point(expected.dtype)) { Assert.Equal(expected.dtype, actual.dtype); continue; }
            Assert.Equal(ScalarType.BFloat16, actual.dtype);
            using var cast = expected.to(ScalarType.BFloat16);
            Assert.True(actual.equal(cast).all().ToBoolean(), name);
        }
        var bad = Run(MergeArgs("task_arithmetic", dir.File("x.safetensors"), "--dtype", "int8"));
        Assert.NotEqual(0, bad.Code);
        Assert.Contains("--dtype must be float32, float16 or bfloat16", bad.Err);
        Assert.False(File.Exists(dir.File("x.safetensors")));
    }

    [Fact]
    public void Merge_Ties_ToAShardedFolder_MatchesTheLibraryResult()
    {
        using var dir = TestData.NewTempDir();
        string output = dir.File("hf");
        var (code, _, stderr) = Run(MergeArgs("ties_merging", output, "--set", "threshold=30", "--set", "merge_func=mean", "--max-shard-size", "120B"));
        Assert.True(code == 0, stderr);
        Assert.True(File.Exists(Path.Combine(output, "model.safetensors.index.json")));
        using var fromCli = Checkpoint.Open(output);

        using var services = new ServiceCollection().AddFusionBench().Services.BuildServiceProvider();
        var ties = services.GetRequiredService<IFusionAlgorithmProvider>().Create("ties_merging",
            new Dictionary<string, string> { ["threshold"] = "30", ["merge_func"] = "mean" });
        using var pool = TestData.GoldenPool();
        using var fromLibrary = ties.Fuse(pool);
        TestData.AssertClose(fromLibrary.Weights, fromCli, atol: 0, rtol: 0);
    }

    [Fact]
    public void Merge_UnknownMethod_ListsMethods_ExitsNonZero_WritesNothing()
    {
        using var dir = TestData.NewTempDir();
        var (code, _, stderr) = Run(MergeArgs("tie_merging", dir.File("out.safetensors")));
        Assert.Equal(1, code);
        Assert.Contains("Unknown fusion method 'tie_merging'", stderr);
        Assert.Contains("ties_merging", stderr);
        Assert.Empty(dir.Files());
    }

    [Fact]
    public void Merge_UnknownParameter_ListsParameters_ExitsNonZero()
    {
        using var dir = TestData.NewTempDir();
        var (code, _, stderr) = Run(MergeArgs("task_arithmetic", dir.File("out.safetensors"), "--set", "lambda=0.3"));
        Assert.Equal(1, code);
        Assert.Contains("no parameter 'lambda'", stderr);
        Assert.Contains("scaling_factor (float, default 0.3)", stderr);
        Assert.Empty(dir.Files());
    }

    [Fact]
    public void Merge_TruncatedCheckpoint_NamesTheFile_WritesNothing()
    {
        using var dir = TestData.NewTempDir();
        var bytes = File.ReadAllBytes(TestData.GoldenModel("task_b"));
        string truncated = dir.File("task_b.safetensors");
        File.WriteAllBytes(truncated, bytes[..^40]);
        string output = dir.File("out.safetensors");
        var (code, _, stderr) = Run("merge", "--method", "simple_average", "--pretrained", TestData.GoldenModel("pretrained"),
            "--model", $"a={TestData.GoldenModel("task_a")}", "--model", $"b={truncated}", "--output", output);
        Assert.Equal(1, code);
        Assert.Contains(truncated, stderr);
        Assert.Contains("truncated", stderr);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void Merge_MismatchedShapes_NamesTensorAndModel_WritesNothing()
    {
        using var dir = TestData.NewTempDir();
        string odd = dir.File("odd.safetensors");
        using (var pre = SafeTensorsFile.Open(TestData.GoldenModel("pretrained")))
        using (var reshaped = new StateDict())
        {
            foreach (var n in pre.TensorNames) reshaped.Add(n, n == "embed.weight" ? zeros(4, 6) : pre.Read(n));
            SafeTensorsWriter.Write(odd, reshaped);
        }
        string output = dir.File("out.safetensors");
        var (code, _, stderr) = Run("merge", "--method", "task_arithmetic", "--pretrained", TestData.GoldenModel("pretrained"),
            "--model", $"odd={odd}", "--output", output);
        Assert.Equal(1, code);
        Assert.Contains("'embed.weight' has shape [6, 4]", stderr);
        Assert.Contains("[4, 6] in model 'odd'", stderr);
        Assert.False(File.Exists(output));
    }

    [Theory]
    [InlineData("zoo", "build", "--suite", "nope")]
    [InlineData("evaluate", "--suite", "nope", "--model", "pretrained")]
    [InlineData("benchmark", "--suite", "text-large")]
    [InlineData("run", "--method", "task_arithmetic", "--suite", "nope")]
    public void UnknownSuite_IsOneLineNamingTheKnownSuites_ExitCode2(params string[] args)
    {
        using var dir = TestData.NewTempDir();
        var (code, stdout, stderr) = Run(args.Concat(new[] { "--zoo-dir", dir.File("zoo") }).ToArray());
        Assert.Equal(2, code);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.Contains("unknown suite", lines[0]);
        Assert.Contains("image-tiny, image-small", lines[0]);
        Assert.DoesNotContain("   at ", stderr);
        Assert.False(Directory.Exists(dir.File("zoo")), "nothing is built for an unknown suite");
    }

    [Fact]
    public void TextSuite_EvaluateAndBenchmark_RunOnATinyTextZoo_WithTheRobustnessAndGeneralizationStudies()
    {
        // A tiny text zoo (2-layer slice of the real all-MiniLM-L6-v2, three tasks, a few steps); the CLI uses it as is.
        using var dir = TestData.NewTempDir();
        string data = Path.Combine(AppContext.BaseDirectory, "data", "text");
        string zoo = dir.File("zoo");
        FusionBench.Suites.Text.TextModelZoo.EnsureBuilt(data, dir.File("models"), zoo, new FusionBench.Suites.Text.TextZooOptions
        {
            Tasks = new[] { "fortune", "langid", "wn_verb" }, Layers = 2, TrainPerTask = 32, TestPerTask = 32,
            FineTune = new() { Steps = 4, BatchSize = 8 },
        });

        var (code, stdout, stderr) = Run("evaluate", "--suite", "text-minilm", "--zoo-dir", zoo, "--model", "individual", "--corruption", "word_dropout", "--severity", "5",
            "--report", dir.File("report.json"));
        Assert.True(code == 0, stderr);
        Assert.Contains("langid", stdout);
        using (var report = System.Text.Json.JsonDocument.Parse(File.ReadAllText(dir.File("report.json"))))
        {
            Assert.Equal("word_dropout", report.RootElement.GetProperty("model_info").GetProperty("corruption").GetString());
            Assert.Equal(3, report.RootElement.EnumerateObject().Count(p => p.Name is not ("model_info" or "average")));
        }
        (code, _, stderr) = Run("evaluate", "--suite", "text-minilm", "--zoo-dir", zoo, "--model", "pretrained", "--corruption", "blur");
        Assert.Equal(1, code);
        Assert.Contains("keyboard_typo", stderr);

        (code, stdout, stderr) = Run("benchmark", "--suite", "text-minilm", "--zoo-dir", zoo, "--methods", "simple_average,task_arithmetic,moe_upscaling",
            "--study", "robustness", "--output", dir.File("robustness"));
        Assert.True(code == 0, stderr);
        using (var results = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.File("robustness"), "results.json"))))
        {
            var rob = results.RootElement.GetProperty("robustness");
            Assert.Equal(new[] { "pretrained", "individual", "simple_average", "task_arithmetic", "moe_upscaling" }, rob.EnumerateObject().Select(p => p.Name));
            var cells = rob.GetProperty("task_arithmetic").EnumerateObject().Select(p => p.Name).ToList();
            Assert.Equal(21, cells.Count);                                           // the clean reference + 4 corruptions × 5 severities
            // The tiny zoo has fewer test texts than the grid's subset, so the clean reference is the clean average itself.
            Assert.Equal(results.RootElement.GetProperty("methods").GetProperty("task_arithmetic").GetProperty("average").GetProperty("accuracy").GetDouble(),
                rob.GetProperty("task_arithmetic").GetProperty("clean@0").GetDouble(), 12);
            Assert.Contains("keyboard_typo@1", cells);
            Assert.Contains("word_dropout@5", cells);
        }
        Assert.True(File.Exists(Path.Combine(dir.File("robustness"), "robustness_severity.png")));
        Assert.Contains("by severity", File.ReadAllText(Path.Combine(dir.File("robustness"), "results.md")));

        (code, _, stderr) = Run("benchmark", "--suite", "text-minilm", "--zoo-dir", zoo, "--methods", "task_arithmetic",
            "--study", "generalization", "--output", dir.File("generalization"));
        Assert.True(code == 0, stderr);
        using (var results = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(dir.File("generalization"), "results.json"))))
        {
            var ta = results.RootElement.GetProperty("methods").GetProperty("task_arithmetic");
            string fused = ta.GetProperty("model_info").GetProperty("fused_models").GetRawText();
            Assert.True(fused.Contains("langid") && fused.Contains("wn_verb") && !fused.Contains("fortune"), fused);
            Assert.True(ta.TryGetProperty("fortune", out _), "the unseen task is evaluated");
        }
        Assert.Contains("fortune*", File.ReadAllText(Path.Combine(dir.File("generalization"), "results.md")));
    }

    [Fact]
    public void Merge_MissingRequiredOption_IsAUsageError()
    {
        var (code, _, stderr) = Run("merge", "--method", "task_arithmetic");
        Assert.NotEqual(0, code);
        Assert.Contains("--output", stderr);
    }

    [Fact]
    public void List_ShowsEveryMethodWithCategoryAndPaper()
    {
        var (code, stdout, _) = Run("list");
        Assert.Equal(0, code);
        Assert.Contains("ties_merging", stdout);
        Assert.Contains("Ties-Merging", stdout);
        Assert.Contains("https://arxiv.org/abs/2306.01708", stdout);
        Assert.Equal(34 + 2, stdout.Trim().Split('\n').Length); // header, rule, one line per method (19 of FusionBench 1.0 + 15 newer)
    }

    [Fact]
    public void Describe_ShowsEveryParameterWithTypeDefaultAndMeaning()
    {
        var (code, stdout, _) = Run("describe", "dare_ties_merging");
        Assert.Equal(0, code);
        foreach (var p in new[] { "scaling_factor", "sparsity_ratio", "rescale", "threshold", "merge_func", "remove_keys", "seed" })
            Assert.Contains(p, stdout);
        Assert.Matches(@"sparsity_ratio\s+float\s+0\.5\s+Probability", stdout);
    }

    [Fact]
    public void Plugin_RegistersACustomMethod_UsableFromMerge()
    {
        using var dir = TestData.NewTempDir();
        string output = dir.File("out.safetensors");
        string plugin = typeof(CliTests).Assembly.Location;
        var (listCode, listed, _) = Run("list", "--plugin", plugin);
        Assert.Equal(0, listCode);
        Assert.Contains("scaled_copy", listed);
        var (code, _, stderr) = Run("merge", "--plugin", plugin, "--method", "scaled_copy", "--model", $"a={TestData.GoldenModel("task_a")}",
            "--set", "factor=2", "--output", output);
        Assert.True(code == 0, stderr);
        using var merged = SafeTensorsFile.Open(output);
        using var a = SafeTensorsFile.Open(TestData.GoldenModel("task_a"));
        using var m = merged.Read("embed.weight");
        using var t = a.Read("embed.weight");
        Assert.True(m.allclose(t * 2));
    }

    [Fact]
    public void Merge_MergeKitConfig_RunsTheYamlAsMergeKitDoes_WithConfigAndLayers()
    {
        // MergeKit's ties example (density and weight gradients, an mlp filter), with absolute model paths.
        string models = Path.Combine(TestData.GoldenDir, "mergekit", "models");
        string yaml = $"""
            models:
              - model: {models}/model_a
                parameters:
                  density: [1, 0.7, 0.1]
                  weight: 1.0
              - model: {models}/model_b
                parameters:
                  density: 0.5
                  weight: [0, 0.3, 0.7, 1]
              - model: {models}/model_c
                parameters:
                  density: 0.33
                  weight:
                    - filter: mlp
                      value: 0.5
                    - value: 0
            merge_method: ties
            base_model: {models}/base
            parameters:
              normalize: true
              int8_mask: true
            dtype: float32
            """;
        using var dir = TestData.NewTempDir();
        string config = dir.File("ties.yml");
        File.WriteAllText(config, yaml);
        string output = dir.File("merged");
        var (code, stdout, stderr) = Run("merge", "--config", config, "--output", output);
        Assert.True(code == 0, stderr);
        Assert.Contains("MergeKit's ties (4 layers)", stdout);
        using var merged = Checkpoint.Open(output);
        using var expected = Checkpoint.Open(Path.Combine(TestData.GoldenDir, "mergekit", "expected", "config_ties.float32", "model.safetensors"));
        TestData.AssertClose(expected, merged, atol: 2e-6, rtol: 2e-5);
        Assert.True(File.Exists(Path.Combine(output, "config.json")));
    }

    [Theory]
    [InlineData("merge_method: ties\nbase_model: {0}/base\nmodels:\n  - model: {0}/model_a\n    parameters: {{weight: 1, denisty: 0.5}}\n", "denisty")]
    [InlineData("merge_method: sce\nbase_model: {0}/base\nmodels:\n  - model: {0}/model_a\n", "merge_method 'sce'")]
    [InlineData("merge_method: linear\nmodules: {{}}\n", "'modules'")]
    public void Merge_MergeKitConfig_UnsupportedKey_IsOneLineExit1_NothingWritten(string template, string named)
    {
        using var dir = TestData.NewTempDir();
        string config = dir.File("bad.yml");
        File.WriteAllText(config, string.Format(System.Globalization.CultureInfo.InvariantCulture, template, Path.Combine(TestData.GoldenDir, "mergekit", "models")));
        var (code, _, stderr) = Run("merge", "--config", config, "--output", dir.File("merged"));
        Assert.Equal(1, code);
        Assert.Contains(named, stderr);
        Assert.False(Directory.Exists(dir.File("merged")));
    }

    [Fact]
    public void Merge_EmrMerging_WritesTheSharedModelAndTaskParts()
    {
        using var dir = TestData.NewTempDir();
        string output = dir.File("emr");
        var (code, stdout, stderr) = Run(MergeArgs("emr_merging", output));
        Assert.True(code == 0, stderr);
        Assert.Contains("per-task parts of 3 tasks in task_parts/", stdout);
        foreach (var f in new[] { "parts.json", "shared_task_vector.safetensors", "task_a.safetensors", "task_b.safetensors", "task_c.safetensors" })
            Assert.True(File.Exists(Path.Combine(output, "task_parts", f)), f);
    }

    [Fact]
    public void List_ShowsTheNewDataFreeMethods()
    {
        var (code, stdout, _) = Run("list");
        Assert.Equal(0, code);
        foreach (var m in new[] { "task_singular_vector", "iso_c", "iso_cts", "wudi", "emr_merging", "tall_mask_task_arithmetic", "tall_mask_consensus",
                     "magmax", "model_stock", "breadcrumbs", "breadcrumbs_ties", "della", "della_linear", "nuslerp", "karcher" })
            Assert.Contains(m, stdout);
        var (dcode, describe, _) = Run("describe", "breadcrumbs");
        Assert.Equal(0, dcode);
        Assert.Contains("gamma", describe);
    }

}

/// <summary>Makes this test assembly a CLI plug-in that registers the test's custom method.</summary>
public sealed class TestPlugin : IFusionBenchPlugin
{
    public void Configure(IFusionBenchBuilder builder) =>
        builder.AddAlgorithm<ScaledCopyAlgorithm, ScaledCopyOptions>("scaled_copy");
}

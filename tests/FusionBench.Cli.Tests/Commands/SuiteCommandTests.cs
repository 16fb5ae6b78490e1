using FusionBench.Suites;
using Microsoft.Extensions.DependencyInjection;
using FusionBench.Core.Checkpoints;
using FusionBench.Core.Models;
using FusionBench.Suites.Image;
using FusionBench.Cli;
using FusionBench.Core.Tests.TestSupport;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

using FusionBench.Suites.Tests.Image;

namespace FusionBench.Cli.Tests.Commands;

/// <summary><c>fusionbench evaluate</c> and <c>fusionbench run</c> on the tiny image suite built by the fixture.</summary>
[Collection(ImageSuiteCollection.Name)]
public class SuiteCommandTests(ImageSuiteFixture zoo)
{
    [Fact]
    public void Cli_Evaluate_PretrainedAndIndividualAndAMergedCheckpoint_WritesReport()
    {
        string report = zoo.NewTempPath("individual.json");
        var (code, stdout, stderr) = Run("evaluate", "--zoo-dir", zoo.ZooDirectory, "--model", "individual", "--report", report);
        Assert.True(code == 0, stderr);
        Assert.Contains("average", stdout);
        using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(report));
        Assert.Equal(zoo.Manifest.Tasks.Average(t => t.FullAccuracy), doc.RootElement.GetProperty("average").GetProperty("accuracy").GetDouble(), 9);

        string merged = zoo.NewTempPath("merged.safetensors");
        var args = new List<string> { "merge", "--method", "ties_merging", "--pretrained", ImageModelZoo.PretrainedPath(zoo.ZooDirectory), "--output", merged };
        foreach (var t in zoo.Manifest.Tasks) args.AddRange(new[] { "--model", $"{t.Name}={ImageModelZoo.ModelPath(zoo.ZooDirectory, t.Name, FineTuning.Full)}" });
        Assert.Equal(0, Run(args.ToArray()).Code);
        var (code2, out2, err2) = Run("evaluate", "--zoo-dir", zoo.ZooDirectory, "--model", merged, "--corruption", "contrast", "--severity", "2");
        Assert.True(code2 == 0, err2);
        Assert.Contains("fashion_coarse", out2);

        var (code3, _, err3) = Run("evaluate", "--zoo-dir", zoo.ZooDirectory, "--model", "pretrained", "--corruption", "fog");
        Assert.Equal(1, code3);
        Assert.Contains("gaussian_noise", err3);
    }

    [Fact]
    public void Cli_Run_FusesTheSuitesPoolAndEvaluates_MergesAndEnsembles()
    {
        foreach (var (method, set) in new[] { ("simple_ensemble", "none=0"), ("task_arithmetic", "scaling_factor=0.3"), ("depth_upscaling", "layer_indices=[0,0];model=mnist"), ("moe_merging", "experts_per_token=2"), ("weight_ensembling_moe", "max_steps=2"), ("layer_wise_adamerging", "max_steps=2") })
        {
            string report = zoo.NewTempPath($"run-{method}.json");
            var args = new List<string> { "run", "--zoo-dir", zoo.ZooDirectory, "--method", method, "--report", report };
            if (method != "simple_ensemble")
                foreach (var pair in set.Split(';')) args.AddRange(new[] { "--set", pair });
            var (code, stdout, stderr) = Run(args.ToArray());
            Assert.True(code == 0, stderr);
            Assert.Contains($"{method}: fused in", stdout);
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(report));
            Assert.Equal(method, doc.RootElement.GetProperty("model_info").GetProperty("method").GetString());
            Assert.InRange(doc.RootElement.GetProperty("average").GetProperty("accuracy").GetDouble(), 0, 1);
            Assert.Equal(10, doc.RootElement.EnumerateObject().Count()); // model_info, 8 tasks, average
        }
        var (mergeCode, _, mergeErr) = Run("merge", "--method", "simple_ensemble", "--pretrained", ImageModelZoo.PretrainedPath(zoo.ZooDirectory),
            "--model", $"a={ImageModelZoo.ModelPath(zoo.ZooDirectory, "mnist", FineTuning.Full)}", "--output", zoo.NewTempPath("never.safetensors"));
        Assert.Equal(1, mergeCode);
        Assert.Contains("needs a model pool with an architecture", mergeErr);
        Assert.False(File.Exists(zoo.NewTempPath("never.safetensors")));
    }

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        return (CliApp.Run(args, o, e), o.ToString(), e.ToString());
    }
}

using System.Text.Json;
using FusionBench.Cli;
using Xunit;

using FusionBench.Suites.Tests.Image;

namespace FusionBench.Cli.Tests.Commands;

[Collection(ImageSuiteCollection.Name)]
public class BenchmarkTests(ImageSuiteFixture zoo)
{
    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter();
        var e = new StringWriter();
        return (CliApp.Run(args, o, e), o.ToString(), e.ToString());
    }

    private static bool IsPng(string path) => new FileInfo(path).Length > 1000 && File.ReadAllBytes(path).Take(4).SequenceEqual(new byte[] { 0x89, 0x50, 0x4E, 0x47 });

    [Fact]
    public void Benchmark_OfTwoMethods_WritesResultsTablePlotsAndHtml_AndResumes()
    {
        string output = zoo.NewTempPath("bench");
        var (code, stdout, stderr) = Run("benchmark", "--zoo-dir", zoo.ZooDirectory, "--methods", "simple_average,task_arithmetic", "--output", output);
        Assert.True(code == 0, stderr);
        using (var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "results.json"))))
        {
            var root = doc.RootElement;
            Assert.Equal("image-tiny", root.GetProperty("suite").GetString());
            Assert.Equal("clean", root.GetProperty("study").GetString());
            var methods = root.GetProperty("methods");
            Assert.Equal(new[] { "pretrained", "individual", "simple_average", "task_arithmetic" }, methods.EnumerateObject().Select(p => p.Name));
            foreach (var m in methods.EnumerateObject())
            {
                Assert.Equal(8, m.Value.EnumerateObject().Count(p => p.Name is not ("model_info" or "average" or "parameters" or "wall_time_seconds" or "peak_memory_bytes")));
                Assert.InRange(m.Value.GetProperty("average").GetProperty("accuracy").GetDouble(), 0, 1);
            }
            Assert.Equal(zoo.Manifest.Tasks.Average(t => t.FullAccuracy), methods.GetProperty("individual").GetProperty("average").GetProperty("accuracy").GetDouble(), 9);
            Assert.Equal("0.3", methods.GetProperty("task_arithmetic").GetProperty("parameters").GetProperty("scaling_factor").GetString());
            Assert.Equal(10, root.GetProperty("scaling_factor_curve").GetProperty("task_arithmetic").GetArrayLength());
            Assert.True(root.TryGetProperty("spearman_vs_fusionbench_clip_vit_b32", out _));
        }
        string md = File.ReadAllText(Path.Combine(output, "results.md"));
        Assert.Contains("| method | mnist | mnist_rot90 |", md);
        Assert.Contains("| task_arithmetic |", md);
        Assert.True(IsPng(Path.Combine(output, "accuracy_by_method.png")));
        Assert.True(IsPng(Path.Combine(output, "scaling_factor.png")));
        string html = File.ReadAllText(Path.Combine(output, "report.html"));
        Assert.Contains("<img src=\"accuracy_by_method.png\"", html);
        Assert.Contains("<td>task_arithmetic</td>", html);
        Assert.Contains("[1/14] pretrained", stderr);

        // Interrupted after some runs: the finished ones are reused, the missing one is computed again.
        string results = File.ReadAllText(Path.Combine(output, "results.json"));
        File.Delete(Path.Combine(output, "runs", "task_arithmetic.json"));
        File.Delete(Path.Combine(output, "results.json"));
        var (code2, _, stderr2) = Run("benchmark", "--zoo-dir", zoo.ZooDirectory, "--methods", "simple_average,task_arithmetic", "--output", output);
        Assert.True(code2 == 0, stderr2);
        Assert.Contains("reusing", stderr2);
        Assert.Contains(Path.Combine(output, "runs", "simple_average.json"), stderr2);
        Assert.DoesNotContain(Path.Combine(output, "runs", "task_arithmetic.json"), stderr2);
        using var first = JsonDocument.Parse(results);
        using var second = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "results.json")));
        Assert.Equal(first.RootElement.GetProperty("methods").GetProperty("task_arithmetic").GetProperty("average").GetRawText(),
            second.RootElement.GetProperty("methods").GetProperty("task_arithmetic").GetProperty("average").GetRawText());
    }

    [Fact]
    public void Benchmark_RobustnessAndGeneralizationStudies()
    {
        string robust = zoo.NewTempPath("bench-robust");
        var (code, _, stderr) = Run("benchmark", "--zoo-dir", zoo.ZooDirectory, "--methods", "simple_average", "--study", "robustness", "--output", robust);
        Assert.True(code == 0, stderr);
        using (var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(robust, "results.json"))))
            Assert.Equal(7, doc.RootElement.GetProperty("robustness").GetProperty("simple_average").EnumerateObject().Count());
        Assert.True(IsPng(Path.Combine(robust, "robustness_heatmap.png")));

        string general = zoo.NewTempPath("bench-general");
        var (code2, out2, stderr2) = Run("benchmark", "--zoo-dir", zoo.ZooDirectory, "--methods", "task_arithmetic", "--study", "generalization", "--output", general);
        Assert.True(code2 == 0, stderr2);
        Assert.Contains("mnist_inverted*", out2); // unseen tasks are marked
        using var g = JsonDocument.Parse(File.ReadAllText(Path.Combine(general, "results.json")));
        var fused = g.RootElement.GetProperty("methods").GetProperty("task_arithmetic").GetProperty("model_info").GetProperty("fused_models");
        Assert.Equal(6, fused.ValueKind == JsonValueKind.Array ? fused.GetArrayLength() : JsonDocument.Parse(fused.GetString()!).RootElement.GetArrayLength());
    }

    [Fact]
    public void Run_WithAConfigAndASweep_WritesOneRunFolderPerValue()
    {
        string config = zoo.NewTempPath("exp.yaml");
        File.WriteAllText(config, "method:\n  name: task_arithmetic\nmodelpool:\n  suite: image-tiny\noutput:\n  save_weights: true\n");
        string output = zoo.NewTempPath("sweep");
        var (code, stdout, stderr) = Run("run", "--config", config, "--zoo-dir", zoo.ZooDirectory, "--output", output, "method.scaling_factor=0.1,0.5");
        Assert.True(code == 0, stderr);
        Assert.Contains("== run 2/2: method.scaling_factor=0.5", stdout);
        var folders = Directory.GetDirectories(output).OrderBy(d => d).ToArray();
        Assert.Equal(2, folders.Length);
        foreach (var f in folders)
        {
            Assert.True(File.Exists(Path.Combine(f, "report.json")));
            Assert.True(File.Exists(Path.Combine(f, "merged.safetensors")));
        }
        Assert.Contains("scaling_factor: 0.5", File.ReadAllText(Path.Combine(folders[1], "config.yaml")));
        var (bad, _, badErr) = Run("run", "--config", config, "--zoo-dir", zoo.ZooDirectory, "method.lambda=0.5");
        Assert.Equal(1, bad);
        Assert.Contains("no parameter 'lambda'", badErr);
    }
}

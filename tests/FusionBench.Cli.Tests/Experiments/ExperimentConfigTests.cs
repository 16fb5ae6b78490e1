using FusionBench.Cli;
using FusionBench.Cli.Experiments;
using FusionBench.Core.Tests.TestSupport;
using Xunit;

namespace FusionBench.Cli.Tests.Experiments;

public class ExperimentConfigTests
{
    private const string Yaml = """
        method:
          name: task_arithmetic
          scaling_factor: 0.3
        modelpool:
          suite: image-tiny
          fine_tuning: full
        taskpool:
          corruption: contrast
          severity: 2
        """;

    [Fact]
    public void YamlAndJson_ReadToTheSameFlatKeys()
    {
        using var dir = TestData.NewTempDir();
        File.WriteAllText(dir.File("exp.yaml"), Yaml);
        File.WriteAllText(dir.File("exp.json"), """
            {"method": {"name": "task_arithmetic", "scaling_factor": 0.3},
             "modelpool": {"suite": "image-tiny", "fine_tuning": "full"},
             "taskpool": {"corruption": "contrast", "severity": 2}}
            """);
        var yaml = ExperimentConfig.Load(dir.File("exp.yaml"));
        var json = ExperimentConfig.Load(dir.File("exp.json"));
        Assert.Equal(yaml.Values.OrderBy(k => k.Key), json.Values.OrderBy(k => k.Key));
        Assert.Equal("task_arithmetic", yaml.Method);
        Assert.Equal(new[] { new KeyValuePair<string, string>("scaling_factor", "0.3") }, yaml.MethodParameters);
        Assert.Equal("2", yaml.Get("taskpool.severity"));
    }

    [Fact]
    public void Overrides_ReplaceValues_AndCommaListsSweep()
    {
        var config = ExperimentConfig.FromMethod("ties_merging", new[] { new KeyValuePair<string, string>("threshold", "20") }, "image-tiny");
        var runs = config.WithOverrides(new[] { "method.scaling_factor=0.1,0.2,0.3", "method.merge_func=sum,mean", "taskpool.severity=4", "method.remove_keys=[a,b]" });
        Assert.Equal(6, runs.Count);
        Assert.Equal("method.scaling_factor=0.1,method.merge_func=sum", runs[0].Label);
        Assert.Equal("method.scaling_factor=0.3,method.merge_func=mean", runs[5].Label);
        Assert.All(runs, r => Assert.Equal("4", r.Config.Get("taskpool.severity")));
        Assert.All(runs, r => Assert.Equal("[a,b]", r.Config.Get("method.remove_keys"))); // a bracketed list is one value, not a sweep
        Assert.Equal(new[] { "0.1", "0.1", "0.2", "0.2", "0.3", "0.3" }, runs.Select(r => r.Config.Get("method.scaling_factor")));
    }

    [Theory]
    [InlineData("modelpool.size=3", "Unknown key 'modelpool.size'", "modelpool.fine_tuning")]
    [InlineData("taskpol.corruption=contrast", "Unknown key 'taskpol.corruption'", "taskpool")]
    [InlineData("taskpool.severity=9", "taskpool.severity must be an integer 1–5", "'9'")]
    [InlineData("modelpool.fine_tuning=partial", "modelpool.fine_tuning must be full or lora", "partial")]
    [InlineData("scaling_factor", "KEY=VALUE", "scaling_factor")]
    public void BadKeysAndValues_AreErrorsNamingTheKeyAndTheAllowedOnes(string over, string message, string detail)
    {
        var config = ExperimentConfig.FromMethod("task_arithmetic", Array.Empty<KeyValuePair<string, string>>(), "image-tiny");
        var e = Assert.ThrowsAny<Exception>(() => config.WithOverrides(new[] { over }));
        Assert.Contains(message, e.Message);
        Assert.Contains(detail, e.Message);
    }

    [Fact]
    public void ResolvedConfig_RoundTripsThroughYaml()
    {
        using var dir = TestData.NewTempDir();
        var config = ExperimentConfig.FromMethod("task_arithmetic", new[] { new KeyValuePair<string, string>("scaling_factor", "0.4") }, "image-tiny");
        File.WriteAllText(dir.File("resolved.yaml"), config.ToYaml());
        Assert.Equal(config.Values.OrderBy(k => k.Key), ExperimentConfig.Load(dir.File("resolved.yaml")).Values.OrderBy(k => k.Key));
    }

    [Fact]
    public void Ranks_ShareTiesAndSpearmanOfAPerfectOrderIsOne()
    {
        Assert.Equal(new[] { 1.0, 2.5, 2.5, 4.0 }, BenchmarkReport.Ranks(new[] { 0.1, 0.5, 0.5, 0.9 }));
        var entries = BenchmarkReport.FusionBenchClipVitB32
            .Select(kv => new BenchmarkReport.Entry(kv.Key, new TaskPoolReport(new Dictionary<string, TaskMetrics> { ["t"] = new(kv.Value / 100, 0) }),
                new Dictionary<string, object?>(), 0, null)).ToList();
        Assert.Equal(1.0, BenchmarkReport.Spearman(entries)!.Value.Rho, 12);
        var reversed = entries.Select(e => e with { Report = new TaskPoolReport(new Dictionary<string, TaskMetrics> { ["t"] = new(1 - e.Report.Average.Accuracy, 0) }) }).ToList();
        Assert.Equal(-1.0, BenchmarkReport.Spearman(reversed)!.Value.Rho, 12);
    }

    [Fact]
    public void Fidelity_OnFusionBenchsOwnAverages_EveryOrderingHolds_AndASwappedPairFailsItsCheckOnly()
    {
        static BenchmarkReport.Entry E(string name, double acc) =>
            new(name, new TaskPoolReport(new Dictionary<string, TaskMetrics> { ["t"] = new(acc / 100, 0) }), new Dictionary<string, object?>(), 0, null);
        var entries = BenchmarkReport.FusionBenchClipVitB32.Select(kv => E(kv.Key, kv.Value)).ToList();
        var curves = new Dictionary<string, IReadOnlyList<(double, double)>> { ["task_arithmetic"] = new[] { (0.1, 0.60), (0.3, 0.69), (0.5, 0.65) } };
        var checks = BenchmarkReport.Fidelity(entries, curves, BenchmarkReport.Spearman(entries));
        Assert.Equal(12, checks.Count);
        Assert.All(checks, c => Assert.True(c.Holds, c.Check + ": " + c.Values));
        Assert.Contains(checks, c => c.Check == "simple_average ≤ task_arithmetic (best λ = 0.3)" && c.Values == "66.5 vs 69.0");

        var swapped = entries.Select(e => e.Name switch { "fisher_merging" => E(e.Name, 80.5), "regmean" => E(e.Name, 70.6), _ => e }).ToList();
        var failed = BenchmarkReport.Fidelity(swapped, curves, null).Where(c => !c.Holds).Select(c => c.Check).ToList();
        Assert.Equal(new[] { "fisher_merging < regmean" }, failed);
    }
}

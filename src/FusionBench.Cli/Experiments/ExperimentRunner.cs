using FusionBench.Suites;
using System.Globalization;
using System.Text.Json;
using FusionBench.Cli.Commands;
using FusionBench.Core;
using FusionBench.Core.Checkpoints;
using FusionBench.Suites.Data;
using FusionBench.Core.ModelPools;
using FusionBench.Suites.Image;
using Microsoft.Extensions.DependencyInjection;

namespace FusionBench.Cli.Experiments;

/// <summary>The outcome of one experiment: its report (null for a checkpoint pool, which has no tasks) and run facts.</summary>
internal sealed record ExperimentOutcome(TaskPoolReport? Report, string Method, IReadOnlyDictionary<string, object?> Parameters, double WallSeconds, long? PeakMemoryBytes);

/// <summary>Runs experiment configs: opens the model pool, fuses, evaluates, and writes the run folder.</summary>
internal static class ExperimentRunner
{
    public static ExperimentOutcome Run(ExperimentConfig config, IServiceProvider services, string? runDirectory, TextWriter progress, CancellationToken ct)
    {
        var algorithm = services.GetRequiredService<IFusionAlgorithmProvider>().Create(config.Method, config.MethodParameters);
        FusionResult result;
        TaskPoolReport? report = null;
        IModelPool pool;
        ImageSuiteModelPool? suitePool = null;
        FusionBench.Suites.Text.TextSuiteModelPool? textPool = null;
        ModelPool? checkpointPool = null;
        FusionBench.Core.ModelPools.HuggingFace.HuggingFaceModelPool? hfPool = null;
        // FusionBench names the pretrained model "_pretrained_" among the models; "pretrained" is this project's key.
        string? pretrainedPath = config.Get("modelpool.pretrained") ?? config.Get("modelpool.models._pretrained_");
        bool hasData = config.Values.Keys.Any(k => k.StartsWith("modelpool.train_datasets.", StringComparison.Ordinal) || k.StartsWith("taskpool.test_datasets.", StringComparison.Ordinal));
        if (pretrainedPath is not null && hasData)
        {
            pool = hfPool = FusionBench.Core.ModelPools.HuggingFace.HuggingFaceModelPool.Open(new FusionBench.Core.Configuration.FusionBenchConfig(config.Values).ToPoolOptions());
        }
        else if (pretrainedPath is string pretrained)
        {
            var models = config.Values.Where(kv => kv.Key.StartsWith("modelpool.models.", StringComparison.Ordinal) && kv.Key != "modelpool.models._pretrained_")
                .Select(kv => new KeyValuePair<string, string>(kv.Key["modelpool.models.".Length..], kv.Value)).ToList();
            if (models.Count == 0) throw new CliException("modelpool.pretrained is set but modelpool.models names no fine-tuned checkpoint.");
            pool = checkpointPool = ModelPool.FromCheckpoints(pretrained, models);
        }
        else if (SuiteLocations.IsText(SuiteLocations.CheckSuite(config.Get("modelpool.suite") ?? "image-tiny")))
        {
            string suite = config.Get("modelpool.suite")!;
            string dataDir = SuiteLocations.DataDirectory(config.Get("modelpool.data"), suite);
            string zooDir = SuiteLocations.ZooDirectory(config.Get("modelpool.zoo_dir"), suite);
            SuiteLocations.EnsureTextZoo(dataDir, zooDir, progress, ct);
            pool = textPool = FusionBench.Suites.Text.TextSuiteModelPool.Open(zooDir, dataDir,
                fineTuning: config.Get("modelpool.fine_tuning") == "lora" ? FineTuning.Lora : FineTuning.Full);
        }
        else
        {
            string suite = config.Get("modelpool.suite") ?? "image-tiny";
            string dataDir = SuiteLocations.DataDirectory(config.Get("modelpool.data"));
            string zooDir = SuiteLocations.ZooDirectory(config.Get("modelpool.zoo_dir"), suite);
            SuiteLocations.EnsureZoo(dataDir, zooDir, suite, progress, ct);
            IReadOnlyList<string>? tasks = config.Get("modelpool.tasks") is string t ? t.Trim('[', ']').Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) : null;
            pool = suitePool = ImageSuiteModelPool.Open(zooDir, dataDir, config.Get("modelpool.fine_tuning") == "lora" ? FineTuning.Lora : FineTuning.Full, tasks);
        }
        try
        {
            result = algorithm.Fuse(pool, CliApp.RunOptions(new SynchronousProgress<FusionProgress>(p => progress.WriteLine("  " + p))), ct);
            using (result)
            {
                if (suitePool is not null)
                {
                    var evaluation = new ImageEvaluationOptions
                    {
                        Corruption = config.Get("taskpool.corruption") is string c ? Parse(c) : null,
                        Severity = config.Get("taskpool.severity") is string s ? int.Parse(s, CultureInfo.InvariantCulture) : 3,
                        Seed = config.Get("taskpool.seed") is string seed ? long.Parse(seed, CultureInfo.InvariantCulture) : 0,
                        BatchSize = config.Get("taskpool.batch_size") is string b ? int.Parse(b, CultureInfo.InvariantCulture) : 256,
                    };
                    var evaluated = suitePool.CreateTaskPool(evaluation).Evaluate(result, ct);
                    var info = new Dictionary<string, object?>(evaluated.ModelInfo)
                    {
                        ["suite"] = config.Get("modelpool.suite") ?? "image-tiny",
                        ["fine_tuning"] = suitePool.FineTuning.ToString().ToLowerInvariant(),
                        ["fused_models"] = suitePool.ModelNames.ToList(),
                        ["wall_time_seconds"] = result.WallTime.TotalSeconds,
                        ["peak_memory_bytes"] = result.PeakMemoryBytes,
                    };
                    report = new TaskPoolReport(evaluated.Tasks, info);
                }
                if (textPool is not null)
                {
                    var evaluated = textPool.CreateTaskPool().Evaluate(result, ct);
                    var info = new Dictionary<string, object?>(evaluated.ModelInfo)
                    {
                        ["suite"] = FusionBench.Suites.Text.TextModelZoo.SuiteName,
                        ["fine_tuning"] = textPool.FineTuning.ToString().ToLowerInvariant(),
                        ["fused_models"] = textPool.ModelNames.ToList(),
                        ["wall_time_seconds"] = result.WallTime.TotalSeconds,
                        ["peak_memory_bytes"] = result.PeakMemoryBytes,
                    };
                    report = new TaskPoolReport(evaluated.Tasks, info);
                }
                if (hfPool is not null && hfPool.CreateTaskPool().TaskNames.Count > 0)
                {
                    var evaluated = hfPool.CreateTaskPool().Evaluate(result, ct);
                    var info = new Dictionary<string, object?>(evaluated.ModelInfo)
                    {
                        ["fused_models"] = hfPool.ModelNames.ToList(),
                        ["wall_time_seconds"] = result.WallTime.TotalSeconds,
                        ["peak_memory_bytes"] = result.PeakMemoryBytes,
                    };
                    report = new TaskPoolReport(evaluated.Tasks, info);
                }
                if (runDirectory is not null)
                {
                    Directory.CreateDirectory(runDirectory);
                    File.WriteAllText(Path.Combine(runDirectory, "config.yaml"), config.ToYaml());
                    if (report is not null) File.WriteAllText(Path.Combine(runDirectory, "report.json"), report.ToJson());
                    bool save = config.Get("output.save_weights") == "true" || checkpointPool is not null || hfPool is not null;
                    if (save && result.HasWeights) Checkpoint.Save(result.Weights, Path.Combine(runDirectory, "merged.safetensors"), cancellationToken: ct);
                }
                return new ExperimentOutcome(report, result.Method.Name, result.Parameters, result.WallTime.TotalSeconds, result.PeakMemoryBytes);
            }
        }
        finally
        {
            suitePool?.Dispose();
            textPool?.Dispose();
            checkpointPool?.Dispose();
            hfPool?.Dispose();
        }
    }

    private static ImageCorruption Parse(string name)
    {
        try { return ImageCorruptions.Parse(name); }
        catch (ArgumentException e) { throw new CliException($"taskpool.corruption: {e.Message}"); }
    }

    public static string Json(object value) => JsonSerializer.Serialize(value, new JsonSerializerOptions { WriteIndented = true });
}

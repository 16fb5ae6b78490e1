using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using FusionBench.Cli.Experiments;
using FusionBench.Core;
using FusionBench.Core.ModelPools;
using Microsoft.Extensions.DependencyInjection;

namespace FusionBench.Cli.Commands;

internal static class BenchmarkCommand
{
    /// <summary>FusionBench's 16 techniques, in its table's order.</summary>
    public static readonly IReadOnlyList<string> DefaultMethods = new[]
    {
        "simple_ensemble", "weighted_ensemble", "max_model_predictor", "simple_average", "weighted_average", "fisher_merging", "regmean",
        "task_arithmetic", "ties_merging", "task_wise_adamerging", "layer_wise_adamerging", "depth_upscaling", "moe_upscaling", "moe_merging",
        "model_recombination", "weight_ensembling_moe",
        // Newer data-free methods (FusionBench's later additions and MergeKit's); nuslerp merges exactly two models.
        "magmax", "model_stock", "task_singular_vector", "iso_c", "iso_cts", "wudi", "tall_mask_task_arithmetic", "tall_mask_consensus",
        "emr_merging", "breadcrumbs", "breadcrumbs_ties", "della", "della_linear", "karcher",
    };

    private static readonly string[] Trained = { "task_wise_adamerging", "layer_wise_adamerging", "weight_ensembling_moe" };

    public static Command Create(CliContext context)
    {
        var suite = SuiteLocations.SuiteOption();
        var data = SuiteLocations.DataOption();
        var zoo = SuiteLocations.ZooOption();
        var methods = new Option<string?>("--methods") { Description = "Comma-separated methods (default: FusionBench's 16 and the newer data-free methods)." };
        var study = new Option<string>("--study") { Description = "clean, robustness (image: 7 corruptions at severity 3; text: 5 corruptions at severities 1–5) or generalization (fuse 6 tasks, evaluate 8).", DefaultValueFactory = _ => "clean" };
        var output = new Option<string?>("--output") { Description = "Output folder (default: benchmark/SUITE-STUDY). Finished runs there are reused, so an interrupted benchmark resumes." };
        var steps = new Option<int>("--steps") { Description = "Training steps of AdaMerging and WEMoE (FusionBench uses 1000; the default keeps the benchmark short).", DefaultValueFactory = _ => 200 };
        var command = new Command("benchmark", "Run the baselines and the fusion methods on a suite and write results.json, results.md, report.html and plots.")
        {
            suite, data, zoo, methods, study, output, steps,
        };
        command.SetAction(parse => CommandRunner.Run(context, () =>
        {
            string suiteName = SuiteLocations.CheckSuite(parse.GetValue(suite));
            string studyName = parse.GetValue(study)!;
            if (studyName is not ("clean" or "robustness" or "generalization"))
                throw new CliException($"--study must be clean, robustness or generalization, got '{studyName}'.");
            var list = parse.GetValue(methods) is string m ? m.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToList() : DefaultMethods.ToList();
            using var services = context.Services(parse);
            var provider = services.GetRequiredService<IFusionAlgorithmProvider>();
            foreach (var name in list) provider.DescribeParameters(name); // unknown names fail before any work
            string outDir = parse.GetValue(output) ?? Path.Combine("benchmark", $"{suiteName}-{studyName}");
            Run(context, services, suiteName, studyName, list, SuiteLocations.DataDirectory(parse.GetValue(data), suiteName),
                SuiteLocations.ZooDirectory(parse.GetValue(zoo), suiteName), outDir, parse.GetValue(steps));
            return 0;
        }));
        return command;
    }

    internal static void Run(CliContext context, IServiceProvider services, string suite, string study, IReadOnlyList<string> methods,
        string dataDir, string zooDir, string outDir, int steps)
    {
        var clock = Stopwatch.StartNew();
        var err = context.Error;
        var ct = context.CancellationToken;
        using var bench = BenchmarkSuites.Open(suite, study, dataDir, zooDir, err, ct);
        string runs = Path.Combine(outDir, "runs");
        Directory.CreateDirectory(runs);
        bool generalization = study == "generalization";
        var full = bench.Full;
        var pool = bench.Fused;
        var cells = bench.Robustness;
        // A run is reused only if it was evaluated on the same robustness cells.
        string CellsSignature = cells.Count == 0 ? "" : "|" + string.Join(",", cells.Select(c => c.Key));
        int layers;
        using (var pre = LoadPretrained(full)) layers = ((FusionBench.Core.Models.ILayerMlpModel)full.Architecture).CountLayers(pre);
        bool curves = study == "clean" && methods.Any(x => x is "task_arithmetic" or "ties_merging");
        double[] lambdas = curves ? Enumerable.Range(1, 10).Select(i => i / 10.0).ToArray() : Array.Empty<double>();
        var curveMethods = methods.Where(x => x is "task_arithmetic" or "ties_merging").ToList();
        int total = 2 + methods.Count + (curves ? curveMethods.Count * lambdas.Length : 0);
        int done = 0;
        double spent = 0;

        void Progress(string what)
        {
            double elapsed = clock.Elapsed.TotalSeconds;
            string left = done == 0 ? "" : string.Create(CultureInfo.InvariantCulture, $", ~{spent / done * (total - done):F0} s left");
            err.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{done + 1}/{total}] {what} · {elapsed:F0} s elapsed{left}"));
        }

        // One cached unit per run: skip it when the same run (same parameters) already finished.
        JsonObject Cached(string key, string signature, Func<JsonObject> compute)
        {
            string path = Path.Combine(runs, key + ".json");
            if (File.Exists(path) && JsonNode.Parse(File.ReadAllText(path)) is JsonObject existing && existing["signature"]?.GetValue<string>() == signature)
            {
                err.WriteLine($"    reusing {path}");
                done++;
                return existing;
            }
            var sw = Stopwatch.StartNew();
            var result = compute();
            result["signature"] = signature;
            string tmp = path + ".tmp";
            File.WriteAllText(tmp, result.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            File.Move(tmp, path, overwrite: true);
            spent += sw.Elapsed.TotalSeconds;
            done++;
            return result;
        }

        JsonObject Evaluate(Func<ITaskPoolWithBackbones, TaskPoolReport> evaluate, IReadOnlyDictionary<string, object?> parameters, double wall, long? peak)
        {
            var clean = evaluate(bench.TaskPool(null));
            var node = new JsonObject
            {
                ["report"] = JsonNode.Parse(clean.ToJson()),
                ["parameters"] = JsonNode.Parse(JsonSerializer.Serialize(parameters.ToDictionary(p => p.Key, p => FusionParameterValue.Format(p.Value)))),
                ["wall_time_seconds"] = wall,
                ["peak_memory_bytes"] = peak,
            };
            if (cells.Count > 0)
            {
                var row = new JsonObject();
                foreach (var cell in cells) row[cell.Key] = evaluate(bench.TaskPool(cell)).Average.Accuracy;
                node["robustness"] = row;
            }
            return node;
        }

        var entries = new List<(string Name, JsonObject Node)>();
        using (var pre = LoadPretrained(full))
        {
            Progress("pretrained");
            entries.Add(("pretrained", Cached("pretrained", $"pretrained|{study}" + CellsSignature, () => Evaluate(tp => tp.Evaluate(_ => pre, Info("pretrained"), ct), new Dictionary<string, object?>(), 0, null))));
        }
        {
            Progress("individual");
            var models = full.ModelNames.ToDictionary(n => n, n => StateDict.CopyFrom(full.GetModel(n)));
            try
            {
                entries.Add(("individual", Cached("individual", $"individual|{study}" + CellsSignature, () => Evaluate(tp => tp.Evaluate(t => models[t], Info("individual"), ct), new Dictionary<string, object?>(), 0, null))));
            }
            finally
            {
                foreach (var x in models.Values) x.Dispose();
            }
        }
        var provider = services.GetRequiredService<IFusionAlgorithmProvider>();
        foreach (var method in methods)
        {
            var parameters = BenchmarkParameters(method, pool.ModelNames.Count, layers, steps);
            string signature = $"{method}|{study}|" + string.Join(";", parameters.Select(p => $"{p.Key}={p.Value}")) + CellsSignature;
            Progress(method);
            entries.Add((method, Cached(method, signature, () =>
            {
                var algorithm = provider.Create(method, parameters);
                using var result = algorithm.Fuse(pool, CliApp.RunOptions(new SynchronousProgress<FusionProgress>(p => err.WriteLine("    " + p))), ct);
                {
                    var node = Evaluate(tp => tp.Evaluate(result, ct), result.Parameters, result.WallTime.TotalSeconds, result.PeakMemoryBytes);
                    node["report"]!["model_info"]!["fused_models"] = new JsonArray(pool.ModelNames.Select(n => (JsonNode)n).ToArray());
                    return node;
                }
            })));
        }
        var curveData = new Dictionary<string, IReadOnlyList<(double, double)>>();
        foreach (var method in curves ? curveMethods : new List<string>())
        {
            var points = new List<(double, double)>();
            foreach (var lambda in lambdas)
            {
                string l = lambda.ToString("0.0", CultureInfo.InvariantCulture);
                Progress($"{method} scaling_factor={l}");
                var node = Cached($"curve-{method}-{l}", $"{method}|{l}", () =>
                {
                    using var result = provider.Create(method, new Dictionary<string, string> { ["scaling_factor"] = l }).Fuse(pool, CliApp.RunOptions(), ct);
                    return new JsonObject { ["accuracy"] = bench.TaskPool(null).Evaluate(result, ct).Average.Accuracy };
                });
                points.Add((lambda, node["accuracy"]!.GetValue<double>()));
            }
            curveData[method] = points;
        }

        var reportEntries = entries.Select(e => new BenchmarkReport.Entry(e.Name, FromJson(e.Node["report"]!.AsObject()),
            e.Node["parameters"]!.AsObject().ToDictionary(p => p.Key, p => (object?)p.Value?.ToString()), e.Node["wall_time_seconds"]!.GetValue<double>(),
            e.Node["peak_memory_bytes"]?.GetValue<long?>())).ToList();
        var robustness = entries.Where(e => e.Node["robustness"] is JsonObject).ToDictionary(e => e.Name,
            e => (IReadOnlyDictionary<string, double>)e.Node["robustness"]!.AsObject().ToDictionary(p => p.Key, p => p.Value!.GetValue<double>()));
        BenchmarkReport.Write(outDir, suite, study, reportEntries, curveData.ToDictionary(k => k.Key, k => k.Value), robustness,
            bench.UnseenTasks, clock.Elapsed.TotalSeconds);
        context.Out.WriteLine(File.ReadAllText(Path.Combine(outDir, "results.md")));
        context.Out.WriteLine($"Wrote {Path.Combine(outDir, "results.json")}, results.md, report.html and plots.");
    }

    private static StateDict LoadPretrained(IModelPool pool) => StateDict.CopyFrom(pool.Pretrained!);

    private static Dictionary<string, object?> Info(string model) => new() { ["model"] = model };

    /// <summary>The benchmark's parameters: FusionBench's defaults, with what a suite of N models and L layers needs.</summary>
    internal static Dictionary<string, string> BenchmarkParameters(string method, int models, int layers, int steps)
    {
        var p = new Dictionary<string, string>();
        if (method == "weighted_average") p["weights"] = "[" + string.Join(",", Enumerable.Repeat("1", models)) + "]";
        if (method == "depth_upscaling")
        {
            p["layer_indices"] = $"[range(0,{layers}),range({layers / 2},{layers})]";
            p["model"] = "_pretrained_"; // the suite upscales its pretrained model, not one of the eight fine-tuned ones
        }
        if (Trained.Contains(method)) p["max_steps"] = steps.ToString(CultureInfo.InvariantCulture);
        // MergeKit's methods default to weight 1 and no pruning, which for N task vectors is an unscaled sum; the benchmark
        // gives them task arithmetic's λ as the weight and the densities their papers use.
        if (method is "breadcrumbs" or "breadcrumbs_ties") { p["weight"] = "[0.3]"; p["density"] = "[0.9]"; p["gamma"] = "[0.01]"; }
        if (method is "della" or "della_linear") { p["weight"] = "[0.3]"; p["density"] = "[0.5]"; }
        return p;
    }

    private static TaskPoolReport FromJson(JsonObject report)
    {
        var tasks = report.Where(p => p.Key is not ("model_info" or "average"))
            .ToDictionary(p => p.Key, p => new TaskMetrics(p.Value!["accuracy"]!.GetValue<double>(), p.Value!["loss"]!.GetValue<double>()));
        var info = report["model_info"] is JsonObject mi ? mi.ToDictionary(p => p.Key, p => (object?)p.Value?.ToString()) : null;
        return new TaskPoolReport(tasks, info);
    }
}

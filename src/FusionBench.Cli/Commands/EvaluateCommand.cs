using FusionBench.Suites;
using System.CommandLine;
using System.Globalization;
using FusionBench.Core;
using FusionBench.Core.Checkpoints;
using FusionBench.Suites.Data;
using FusionBench.Suites.Image;
using FusionBench.Suites.Text;
using FusionBench.Core.ModelPools;
using FusionBench.Cli.Experiments;
using static TorchSharp.torch;

namespace FusionBench.Cli.Commands;

internal static class EvaluateCommand
{
    public static Command Create(CliContext context)
    {
        var suite = SuiteLocations.SuiteOption();
        var data = SuiteLocations.DataOption();
        var zoo = SuiteLocations.ZooOption();
        var model = new Option<string>("--model")
        {
            Description = "What to evaluate: pretrained, individual (each task with its own fine-tuned model), a task name (that task's model on every task), or a checkpoint PATH.",
            Required = true,
        };
        var lora = new Option<bool>("--lora") { Description = "Use the LoRA fine-tuned models instead of the fully fine-tuned ones." };
        var corruption = new Option<string?>("--corruption")
        {
            Description = $"Corrupt the test inputs: images {string.Join(", ", ImageCorruptions.All.Select(ImageCorruptions.Name))}; texts {string.Join(", ", TextCorruptions.All.Select(TextCorruptions.Name))}.",
        };
        var severity = new Option<int>("--severity") { Description = "Corruption severity, 1–5.", DefaultValueFactory = _ => 3 };
        var report = new Option<string?>("--report") { Description = "Write the FusionBench-style report JSON to this file." };
        var command = new Command("evaluate", "Evaluate a model on every task of the suite (accuracy and loss per task, and the average).")
        {
            suite, data, zoo, model, lora, corruption, severity, report,
        };
        command.SetAction(parse => CommandRunner.Run(context, () =>
        {
            string suiteName = SuiteLocations.CheckSuite(parse.GetValue(suite)); // an unknown suite fails before any work
            bool text = SuiteLocations.IsText(suiteName);
            string dataDir = SuiteLocations.DataDirectory(parse.GetValue(data), suiteName);
            string zooDir = SuiteLocations.ZooDirectory(parse.GetValue(zoo), suiteName);
            int level = parse.GetValue(severity);
            string? corruptionName = parse.GetValue(corruption);
            if (corruptionName is not null && level is < 1 or > 5) throw new CliException($"--severity must be 1–5, got {level}.");
            ImageCorruption? imageCorruption = null;
            TextCorruption? textCorruption = null;
            try
            {
                if (corruptionName is not null && text) textCorruption = TextCorruptions.Parse(corruptionName);
                else if (corruptionName is not null) imageCorruption = ImageCorruptions.Parse(corruptionName);
            }
            catch (ArgumentException e) { throw new CliException(e.Message); }
            IDataModelPool pool;
            FusionBench.Cli.Experiments.ITaskPoolWithBackbones taskPool;
            string fineTuning = "full";
            if (text)
            {
                SuiteLocations.EnsureTextZoo(dataDir, zooDir, context.Error, context.CancellationToken);
                var textPool = TextSuiteModelPool.Open(zooDir, dataDir, fineTuning: parse.GetValue(lora) ? FineTuning.Lora : FineTuning.Full);
                pool = textPool;
                fineTuning = textPool.FineTuning.ToString().ToLowerInvariant();
                taskPool = new BenchmarkSuites.TextTaskPool(textPool.CreateTaskPool(new TextEvaluationOptions { Corruption = textCorruption, Severity = level }));
            }
            else
            {
                SuiteLocations.EnsureZoo(dataDir, zooDir, suiteName, context.Error, context.CancellationToken);
                var imagePool = ImageSuiteModelPool.Open(zooDir, dataDir, parse.GetValue(lora) ? FineTuning.Lora : FineTuning.Full);
                pool = imagePool;
                fineTuning = imagePool.FineTuning.ToString().ToLowerInvariant();
                taskPool = new BenchmarkSuites.ImageTaskPool(imagePool.CreateTaskPool(new ImageEvaluationOptions { Corruption = imageCorruption, Severity = level }));
            }
            using var owned = (IDisposable)pool;
            string what = parse.GetValue(model)!;
            var loaded = new List<StateDict>();
            try
            {
                StateDict Load(IWeightSource source)
                {
                    var d = StateDict.CopyFrom(source);
                    loaded.Add(d);
                    return d;
                }
                var info = new Dictionary<string, object?> { ["model"] = what, ["suite"] = suiteName, ["fine_tuning"] = fineTuning };
                TaskPoolReport result;
                if (what == "pretrained")
                {
                    var w = Load(pool.Pretrained!);
                    result = taskPool.Evaluate(_ => w, info, context.CancellationToken);
                }
                else if (what == "individual")
                {
                    var models = pool.ModelNames.ToDictionary(n => n, n => Load(pool.GetModel(n)));
                    result = taskPool.Evaluate(t => models[t], info, context.CancellationToken);
                }
                else if (pool.ModelNames.Contains(what))
                {
                    var w = Load(pool.GetModel(what));
                    result = taskPool.Evaluate(_ => w, info, context.CancellationToken);
                }
                else if (File.Exists(what) || Directory.Exists(what))
                {
                    using var source = Checkpoint.Open(what);
                    var w = Load(source);
                    // Depth-upscaled and mixture-of-experts backbones have other layer tensors; the embeddings must match.
                    foreach (var name in pool.Architecture.Parameters.Keys.Where(n => n.StartsWith("embeddings.", StringComparison.Ordinal) || n.Contains(".embeddings.", StringComparison.Ordinal)))
                        if (!w.ContainsKey(name)) throw new CliException($"{what} is not a backbone of this suite: it has no tensor '{name}'.");
                    result = taskPool.Evaluate(_ => w, info, context.CancellationToken);
                }
                else
                {
                    throw new CliException($"--model '{what}' is not pretrained, individual, a task ({string.Join(", ", pool.ModelNames)}) or an existing checkpoint path.");
                }
                WriteReport(context.Out, result);
                if (parse.GetValue(report) is string path) SuiteLocations.WriteReport(path, result, context.Out);
                return 0;
            }
            finally
            {
                foreach (var d in loaded) d.Dispose();
            }
        }));
        return command;
    }

    internal static void WriteReport(TextWriter o, TaskPoolReport r)
    {
        var rows = r.Tasks.Select(t => new[] { t.Key, F(t.Value.Accuracy), F(t.Value.Loss) }).ToList();
        rows.Add(new[] { "average", F(r.Average.Accuracy), F(r.Average.Loss) });
        TextTable.Write(o, new[] { "task", "accuracy", "loss" }, rows);

        static string F(double v) => v.ToString("F4", CultureInfo.InvariantCulture);
    }
}

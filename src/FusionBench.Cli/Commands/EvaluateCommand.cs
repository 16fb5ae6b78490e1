using System.CommandLine;
using System.Globalization;
using FusionBench.Core;
using FusionBench.Core.Checkpoints;
using FusionBench.Suites.Data;
using FusionBench.Suites.Image;
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
        var corruption = new Option<string?>("--corruption") { Description = $"Corrupt the test images: {string.Join(", ", ImageCorruptions.All.Select(ImageCorruptions.Name))}." };
        var severity = new Option<int>("--severity") { Description = "Corruption severity, 1–5.", DefaultValueFactory = _ => 3 };
        var report = new Option<string?>("--report") { Description = "Write the FusionBench-style report JSON to this file." };
        var command = new Command("evaluate", "Evaluate a model on every task of the suite (accuracy and loss per task, and the average).")
        {
            suite, data, zoo, model, lora, corruption, severity, report,
        };
        command.SetAction(parse => CommandRunner.Run(context, () =>
        {
            string suiteName = SuiteLocations.CheckImageSuite(parse.GetValue(suite), "evaluate"); // an unknown suite fails before any work
            string dataDir = SuiteLocations.DataDirectory(parse.GetValue(data));
            string zooDir = SuiteLocations.ZooDirectory(parse.GetValue(zoo), suiteName);
            var evaluation = new ImageEvaluationOptions { Severity = parse.GetValue(severity) };
            if (parse.GetValue(corruption) is string c)
            {
                try { evaluation = evaluation with { Corruption = ImageCorruptions.Parse(c) }; }
                catch (ArgumentException e) { throw new CliException(e.Message); }
                if (evaluation.Severity is < 1 or > 5) throw new CliException($"--severity must be 1–5, got {evaluation.Severity}.");
            }
            SuiteLocations.EnsureZoo(dataDir, zooDir, suiteName, context.Error, context.CancellationToken);
            using var pool = ImageSuiteModelPool.Open(zooDir, dataDir, parse.GetValue(lora) ? FineTuning.Lora : FineTuning.Full);
            var taskPool = pool.CreateTaskPool(evaluation);
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
                var info = new Dictionary<string, object?> { ["model"] = what, ["suite"] = suiteName, ["fine_tuning"] = pool.FineTuning.ToString().ToLowerInvariant() };
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
                    foreach (var name in pool.Architecture.Parameters.Keys.Where(n => n.Contains(".embeddings.", StringComparison.Ordinal)))
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

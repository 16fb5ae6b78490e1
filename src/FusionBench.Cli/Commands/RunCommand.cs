using System.CommandLine;
using System.Globalization;
using FusionBench.Core;
using FusionBench.Suites.Image;
using FusionBench.Cli.Experiments;

namespace FusionBench.Cli.Commands;

internal static class RunCommand
{
    public static Command Create(CliContext context)
    {
        var suite = SuiteLocations.SuiteOption();
        var data = SuiteLocations.DataOption();
        var zoo = SuiteLocations.ZooOption();
        var config = new Option<string?>("--config") { Description = "An experiment config (YAML or JSON) with method, modelpool and taskpool sections." };
        var method = new Option<string?>("--method") { Description = "The fusion method (see `fusionbench list`), when no --config is given." };
        var sets = new Option<string[]>("--set") { Description = "A method parameter as KEY=VALUE (repeatable)." };
        var lora = new Option<bool>("--lora") { Description = "Fuse the LoRA fine-tuned models instead of the fully fine-tuned ones." };
        var report = new Option<string?>("--report") { Description = "Write the FusionBench-style report JSON to this file." };
        var output = new Option<string?>("--output") { Description = "Run folder (resolved config, report, weights when output.save_weights=true); sweeps get one subfolder per run." };
        var overrides = new Argument<string[]>("OVERRIDES") { Description = "Config overrides such as method.scaling_factor=0.4 or taskpool.corruption=contrast; a comma list is a sweep.", Arity = ArgumentArity.ZeroOrMore };
        var command = new Command("run", "Fuse the suite's model pool (or a config's pool) with a method and evaluate the result on every task.")
        {
            suite, data, zoo, config, method, sets, lora, report, output, overrides,
        };
        command.SetAction(parse => CommandRunner.Run(context, () =>
        {
            using var services = context.Services(parse);
            ExperimentConfig baseConfig;
            if (parse.GetValue(config) is string path) baseConfig = ExperimentConfig.Load(path);
            else if (parse.GetValue(method) is string m)
            {
                var parameters = (parse.GetValue(sets) ?? Array.Empty<string>()).Select(s => MergeCommand.SplitPair(s, "--set", "KEY=VALUE"));
                baseConfig = ExperimentConfig.FromMethod(m, parameters, parse.GetValue(suite)!);
            }
            else throw new CliException("Give --method NAME or --config FILE.");
            var extra = new List<string>();
            if (parse.GetValue(data) is string d) extra.Add($"modelpool.data={d}");
            if (parse.GetValue(zoo) is string z) extra.Add($"modelpool.zoo_dir={z}");
            if (parse.GetValue(lora)) extra.Add("modelpool.fine_tuning=lora");
            var runs = baseConfig.WithOverrides(extra.Concat(parse.GetValue(overrides) ?? Array.Empty<string>()));
            string? outputDir = parse.GetValue(output);
            for (int i = 0; i < runs.Count; i++)
            {
                var (label, runConfig) = runs[i];
                if (runs.Count > 1) context.Out.WriteLine($"== run {i + 1}/{runs.Count}: {label}");
                string? runDir = outputDir is null ? null : runs.Count == 1 ? outputDir : Path.Combine(outputDir, $"{i + 1:D2}-{Sanitize(label)}");
                var outcome = ExperimentRunner.Run(runConfig, services, runDir, context.Error, context.CancellationToken);
                if (outcome.Report is TaskPoolReport r)
                {
                    EvaluateCommand.WriteReport(context.Out, r);
                    if (parse.GetValue(report) is string reportPath && runs.Count == 1) SuiteLocations.WriteReport(reportPath, r, context.Out);
                }
                context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{outcome.Method}: fused in {outcome.WallSeconds:F2} s."));
                if (runDir is not null) context.Out.WriteLine($"Run folder: {runDir}");
            }
            return 0;
        }));
        return command;
    }

    private static string Sanitize(string label) => string.Concat(label.Select(c => char.IsLetterOrDigit(c) || c is '.' or '-' or '_' or '=' ? c : '_'));
}

using System.CommandLine;
using System.Globalization;
using FusionBench.Core;
using FusionBench.Core.Suites.Image;
using Microsoft.Extensions.DependencyInjection;

namespace FusionBench.Cli.Commands;

internal static class RunCommand
{
    public static Command Create(CliContext context)
    {
        var suite = SuiteLocations.SuiteOption();
        var data = SuiteLocations.DataOption();
        var zoo = SuiteLocations.ZooOption();
        var method = new Option<string>("--method") { Description = "The fusion method (see `fusionbench list`).", Required = true };
        var sets = new Option<string[]>("--set") { Description = "A method parameter as KEY=VALUE (repeatable)." };
        var lora = new Option<bool>("--lora") { Description = "Fuse the LoRA fine-tuned models instead of the fully fine-tuned ones." };
        var report = new Option<string?>("--report") { Description = "Write the FusionBench-style report JSON to this file." };
        var command = new Command("run", "Fuse the suite's model pool with a method and evaluate the result on every task.")
        {
            suite, data, zoo, method, sets, lora, report,
        };
        command.SetAction(parse => CommandRunner.Run(context, () =>
        {
            using var services = context.Services(parse);
            var parameters = (parse.GetValue(sets) ?? Array.Empty<string>()).Select(s => MergeCommand.SplitPair(s, "--set", "KEY=VALUE")).ToList();
            var algorithm = services.GetRequiredService<IFusionAlgorithmProvider>().Create(parse.GetValue(method)!, parameters);
            string suiteName = parse.GetValue(suite)!;
            string dataDir = SuiteLocations.DataDirectory(parse.GetValue(data));
            string zooDir = SuiteLocations.ZooDirectory(parse.GetValue(zoo), suiteName);
            if (ImageZooManifest.TryLoad(Path.Combine(zooDir, ImageModelZoo.ManifestFile)) is null)
                ImageModelZoo.EnsureBuilt(dataDir, zooDir, ImageZooOptions.ForSuite(suiteName), false, new SynchronousProgress(l => context.Error.WriteLine(l)), context.CancellationToken);
            using var pool = ImageSuiteModelPool.Open(zooDir, dataDir, parse.GetValue(lora) ? FineTuning.Lora : FineTuning.Full);
            FusionResult result;
            using (FusionProgress.Listen(new SynchronousProgress(l => context.Error.WriteLine(l))))
                result = algorithm.Fuse(pool, context.CancellationToken);
            using var owned = result;
            var evaluated = pool.CreateTaskPool().Evaluate(result, context.CancellationToken);
            var info = new Dictionary<string, object?>(evaluated.ModelInfo)
            {
                ["suite"] = suiteName,
                ["fine_tuning"] = pool.FineTuning.ToString().ToLowerInvariant(),
                ["wall_time_seconds"] = result.WallTime.TotalSeconds,
                ["peak_memory_bytes"] = result.PeakMemoryBytes,
            };
            var final = new TaskPoolReport(evaluated.Tasks, info);
            EvaluateCommand.WriteReport(context.Out, final);
            context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{result.Method.Name}: fused in {result.WallTime.TotalSeconds:F2} s."));
            if (parse.GetValue(report) is string path)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
                File.WriteAllText(path, final.ToJson());
                context.Out.WriteLine($"Wrote {path}");
            }
            return 0;
        }));
        return command;
    }
}

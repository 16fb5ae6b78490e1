using System.CommandLine;
using System.Globalization;
using FusionBench.Suites.Image;

namespace FusionBench.Cli.Commands;

internal static class ZooCommand
{
    public static Command Create(CliContext context)
    {
        var suite = SuiteLocations.SuiteOption();
        var data = SuiteLocations.DataOption();
        var zoo = SuiteLocations.ZooOption();
        var force = new Option<bool>("--force") { Description = "Rebuild even if a zoo built with the same options is cached." };
        var lora = new Option<bool>("--lora")
        {
            Description = "Text suite: also fine-tune a LoRA adapter per task (r 16, α 32 on query/value), added to a cached zoo in place. The image suites always build theirs.",
        };
        var build = new Command("build", "Build a suite's model zoo (image: pretrain the backbone, fit the heads, fine-tune one full and one LoRA model per task; text: zero-shot heads and full fine-tunes of all-MiniLM-L6-v2, LoRA with --lora); cached.")
        {
            suite, data, zoo, force, lora,
        };
        build.SetAction(parse => CommandRunner.Run(context, () =>
        {
            string suiteName = SuiteLocations.CheckSuite(parse.GetValue(suite));
            if (SuiteLocations.IsText(suiteName))
            {
                string textZoo = SuiteLocations.ZooDirectory(parse.GetValue(zoo), suiteName);
                var textProgress = new SynchronousProgress<FusionProgress>(p => context.Error.WriteLine(p.ToString()));
                var built = FusionBench.Suites.Text.TextModelZoo.EnsureBuilt(SuiteLocations.DataDirectory(parse.GetValue(data), suiteName),
                    SuiteLocations.ModelsDirectory(), textZoo, new FusionBench.Suites.Text.TextZooOptions { Lora = parse.GetValue(lora) ? new FusionBench.Suites.Text.TextLoraOptions() : null },
                    parse.GetValue(force), textProgress, context.CancellationToken);
                WriteTextSummary(context.Out, built, textZoo);
                return 0;
            }
            var options = ImageZooOptions.ForSuite(suiteName);
            string zooDir = SuiteLocations.ZooDirectory(parse.GetValue(zoo), suiteName);
            var progress = new SynchronousProgress<FusionProgress>(p => context.Error.WriteLine(p.ToString()));
            var manifest = ImageModelZoo.EnsureBuilt(SuiteLocations.DataDirectory(parse.GetValue(data)), zooDir, options, parse.GetValue(force), progress, context.CancellationToken);
            WriteSummary(context.Out, manifest, zooDir);
            return 0;
        }));
        return new Command("zoo", "Build a suite's model zoo.") { build };
    }

    internal static void WriteTextSummary(TextWriter o, FusionBench.Suites.Text.TextZooManifest m, string zooDir)
    {
        o.WriteLine($"Zoo {m.Suite} in {zooDir} (pretrained: {m.Pretrained})");
        bool lora = m.Tasks.All(t => t.LoraAccuracy.HasValue);
        var rows = m.Tasks.Select(t => new[] { t.Name, t.NumClasses.ToString(CultureInfo.InvariantCulture), P(t.PretrainedAccuracy), P(t.FullAccuracy),
            t.LoraAccuracy is double l ? P(l) : "-", t.FineTuneSeconds.ToString("F0", CultureInfo.InvariantCulture),
            t.LoraFineTuneSeconds is double ls ? ls.ToString("F0", CultureInfo.InvariantCulture) : "-" }).ToList();
        rows.Add(new[] { "average", "", P(m.Tasks.Average(t => t.PretrainedAccuracy)), P(m.Tasks.Average(t => t.FullAccuracy)),
            lora ? P(m.Tasks.Average(t => t.LoraAccuracy!.Value)) : "-", "", "" });
        TextTable.Write(o, new[] { "task", "classes", "zero-shot", "fine-tuned", "LoRA", "seconds", "LoRA seconds" }, rows);
        if (m.Seconds.TryGetValue("total", out double total))
            o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Built in {total:F1} s (fine-tuning {m.Seconds.GetValueOrDefault("fine_tuning"):F1} s)."));
        if (m.Seconds.TryGetValue("lora_total", out double loraTotal))
            o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"LoRA added in {loraTotal:F1} s (fine-tuning {m.Seconds.GetValueOrDefault("lora_fine_tuning"):F1} s)."));

        static string P(double a) => a.ToString("F3", CultureInfo.InvariantCulture);
    }

    internal static void WriteSummary(TextWriter o, ImageZooManifest m, string zooDir)
    {
        o.WriteLine($"Zoo {m.Suite} in {zooDir}");
        var rows = m.Tasks.Select(t => new[]
        {
            t.Name, P(t.PretrainedAccuracy), P(t.FullAccuracy), t.LoraAccuracy is double l ? P(l) : "-", P(t.FullAllTasksAverage),
        }).ToList();
        rows.Add(new[]
        {
            "average", P(m.Tasks.Average(t => t.PretrainedAccuracy)), P(m.Tasks.Average(t => t.FullAccuracy)),
            m.Tasks.All(t => t.LoraAccuracy.HasValue) ? P(m.Tasks.Average(t => t.LoraAccuracy!.Value)) : "-", P(m.Tasks.Average(t => t.FullAllTasksAverage)),
        });
        TextTable.Write(o, new[] { "task", "pretrained", "full", "lora", "full model on all 8 tasks" }, rows);
        if (m.Seconds.TryGetValue("total", out double total))
            o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Built in {total:F1} s (pretraining {m.Seconds.GetValueOrDefault("pretraining"):F1} s, fine-tuning {m.Seconds.GetValueOrDefault("fine_tuning"):F1} s)."));

        static string P(double a) => a.ToString("F3", CultureInfo.InvariantCulture);
    }
}

/// <summary>An <see cref="IProgress{T}"/> that reports on the calling thread (Progress&lt;T&gt; posts to the thread pool, out of order).</summary>
internal sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
{
    public void Report(T value) => report(value);
}

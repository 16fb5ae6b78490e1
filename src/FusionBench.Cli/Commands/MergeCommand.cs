using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using FusionBench.Core;
using FusionBench.Core.Algorithms;
using FusionBench.Core.Checkpoints;
using FusionBench.Core.MergeKit;
using FusionBench.Core.ModelPools;
using Microsoft.Extensions.DependencyInjection;

namespace FusionBench.Cli.Commands;

internal static class MergeCommand
{
    public static Command Create(CliContext context)
    {
        var method = new Option<string?>("--method") { Description = "The fusion method (see `fusionbench list`); or use --config." };
        var config = new Option<string?>("--config") { Description = "A MergeKit configuration (YAML) to run instead of --method/--model; model paths are relative to the current directory." };
        var seed = new Option<long>("--seed") { Description = "With --config: the seed of random pruning (dare_*, della*).", DefaultValueFactory = _ => 0 };
        var pretrained = new Option<string?>("--pretrained") { Description = "The pretrained (base) checkpoint: .safetensors, a Hugging Face folder, or .bin/.pt." };
        var models = new Option<string[]>("--model")
        {
            Description = "A fine-tuned checkpoint as NAME=PATH (repeatable; NAME defaults to the file or folder name).",
            Arity = ArgumentArity.OneOrMore,
        };
        var sets = new Option<string[]>("--set") { Description = "A method parameter as KEY=VALUE, e.g. scaling_factor=0.4 or weights=[0.2,0.8] (repeatable)." };
        var output = new Option<string>("--output") { Description = "Where to write: a .safetensors file, a .bin/.pt file, or a folder (Hugging Face layout).", Required = true };
        var dtype = new Option<string?>("--dtype") { Description = "Write floating-point tensors as float32, float16 or bfloat16 (default: each tensor's own dtype)." };
        var maxShard = new Option<string>("--max-shard-size") { Description = "Largest shard when writing a folder, e.g. 5GB or 500MB.", DefaultValueFactory = _ => "5GB" };
        var command = new Command("merge", "Merge checkpoints with a fusion method and write the merged weights.")
        {
            method, config, pretrained, models, sets, output, maxShard, dtype, seed,
        };
        command.SetAction(parse => CommandRunner.Run(context, () =>
        {
            if (parse.GetValue(config) is string configPath)
                return RunMergeKitConfig(context, configPath, parse.GetValue(output)!, ParseSize(parse.GetValue(maxShard)!), parse.GetValue(seed),
                    parse.GetValue(method) is not null || (parse.GetValue(models)?.Length ?? 0) > 0 || parse.GetValue(pretrained) is not null
                    || (parse.GetValue(sets)?.Length ?? 0) > 0 || parse.GetValue(dtype) is not null);
            if (parse.GetValue(method) is null || (parse.GetValue(models)?.Length ?? 0) == 0)
                throw new CliUsageException("merge needs --method and at least one --model, or --config FILE (a MergeKit configuration).");
            using var services = context.Services(parse);
            var provider = services.GetRequiredService<IFusionAlgorithmProvider>();
            var parameters = (parse.GetValue(sets) ?? Array.Empty<string>()).Select(s => SplitPair(s, "--set", "KEY=VALUE")).ToList();
            // Resolve the method and its parameters before opening any checkpoint: a typo fails fast.
            var algorithm = provider.Create(parse.GetValue(method)!, parameters);
            long shardBytes = ParseSize(parse.GetValue(maxShard)!);
            TorchSharp.torch.ScalarType? outputDType = parse.GetValue(dtype) switch
            {
                null => null,
                "float32" or "fp32" => TorchSharp.torch.ScalarType.Float32,
                "float16" or "fp16" => TorchSharp.torch.ScalarType.Float16,
                "bfloat16" or "bf16" => TorchSharp.torch.ScalarType.BFloat16,
                var other => throw new CliException($"--dtype must be float32, float16 or bfloat16, got '{other}'."),
            };
            string outputPath = parse.GetValue(output)!;
            var modelPairs = parse.GetValue(models)!.Select(ParseModel).ToList();

            using var pool = ModelPool.FromCheckpoints(parse.GetValue(pretrained), modelPairs);
            using var progress = new ProgressReporter(context.Error, "merging");
            using var counted = CountingPool.Wrap(pool, progress);
            // Streams tensor by tensor when the method can (averages, task arithmetic, DARE); a folder output gets the
            // pretrained folder's config and tokenizer files.
            string? pretrainedPath = parse.GetValue(pretrained);
            var merged = StreamingMerge.MergeToCheckpoint(algorithm, counted, outputPath, shardBytes,
                pretrainedPath is not null && Directory.Exists(pretrainedPath) ? pretrainedPath : null, context.CancellationToken, outputDType,
                progress);
            progress.Stop();
            string how = merged.Streamed ? ", streamed tensor by tensor" : "";
            if (merged.TaskParts > 0) how += $"; per-task parts of {merged.TaskParts} tasks in {TaskSpecificWeights.FolderName}/";
            context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Merged {pool.ModelNames.Count} model(s) with {algorithm.Info.Name} ({FormatParameters(merged.Parameters)}){how}."));
            context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Wrote {outputPath} ({merged.Tensors} tensors, {Bytes(merged.Bytes)}) in {merged.Elapsed.TotalSeconds:F2} s."));
            return 0;
        }));
        return command;
    }

    private static int RunMergeKitConfig(CliContext context, string configPath, string outputPath, long shardBytes, long seed, bool mixed)
    {
        if (mixed) throw new CliUsageException("--config takes the models, method, parameters and dtype from the file; drop --method, --model, --pretrained, --set and --dtype.");
        var configuration = MergeKitConfiguration.Load(configPath);
        using var progress = new ProgressReporter(context.Error, "merging");
        var result = MergeKitMerge.Run(configuration, outputPath, new MergeKitMergeOptions { MaxShardBytes = shardBytes, Seed = seed },
            progress, context.CancellationToken);
        progress.Stop();
        context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Merged {configPath} with MergeKit's {result.Method} ({result.Layers} layers), streamed tensor by tensor."));
        context.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Wrote {outputPath} ({result.Tensors} tensors, {Bytes(result.Bytes)}) in {result.Elapsed.TotalSeconds:F2} s."));
        return 0;
    }

    private static KeyValuePair<string, string> ParseModel(string text)
    {
        int eq = text.IndexOf('=');
        if (eq > 0) return new(text[..eq], text[(eq + 1)..]);
        string trimmed = text.TrimEnd('/', '\\');
        string name = Directory.Exists(trimmed) ? Path.GetFileName(trimmed) : Path.GetFileNameWithoutExtension(trimmed);
        return new(name, text);
    }

    internal static KeyValuePair<string, string> SplitPair(string text, string option, string shape)
    {
        int eq = text.IndexOf('=');
        if (eq <= 0) throw new CliException($"{option} expects {shape}, got '{text}'.");
        return new(text[..eq].Trim(), text[(eq + 1)..].Trim());
    }

    internal static long ParseSize(string text)
    {
        string t = text.Trim().ToUpperInvariant();
        (string suffix, long factor)[] units = { ("GB", 1_000_000_000), ("MB", 1_000_000), ("KB", 1_000), ("B", 1) };
        foreach (var (suffix, factor) in units)
        {
            if (!t.EndsWith(suffix, StringComparison.Ordinal)) continue;
            if (double.TryParse(t[..^suffix.Length], NumberStyles.Float, CultureInfo.InvariantCulture, out double v) && v > 0) return (long)(v * factor);
            break;
        }
        if (long.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out long b) && b > 0) return b;
        throw new CliException($"--max-shard-size expects a size such as 5GB, 500MB or a byte count, got '{text}'.");
    }

    private static string FormatParameters(IReadOnlyDictionary<string, object?> parameters) =>
        parameters.Count == 0 ? "no parameters" : string.Join(", ", parameters.Select(p => $"{p.Key}={FusionParameterValue.Format(p.Value)}"));

    internal static string Bytes(long bytes) => bytes switch
    {
        >= 1_000_000_000 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e9:F2} GB"),
        >= 1_000_000 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e6:F1} MB"),
        >= 1_000 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1e3:F1} kB"),
        _ => $"{bytes} B",
    };
}

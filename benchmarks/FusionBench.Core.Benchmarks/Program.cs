using BenchmarkDotNet.Engines;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using FusionBench.Core.Benchmarks;
using FusionBench.Core.Checkpoints;

// `make-checkpoints DIR [MODELS] [PARAMETERS]` writes a pretrained + MODELS fine-tuned safetensors checkpoints
// (default 8 × 100M float32 = 400 MB each) for the CLI peak-memory measurement in benchmarks/README.md.
if (args.Length > 0 && args[0] == "make-checkpoints")
{
    string dir = args.Length > 1 ? args[1] : "checkpoints";
    int models = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 8;
    long parameters = args.Length > 3 ? long.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 100_000_000;
    Directory.CreateDirectory(dir);
    using (var pre = BenchmarkModels.Random(parameters, 4_000_000, 0))
    {
        Checkpoint.Save(pre, Path.Combine(dir, "pretrained.safetensors"));
        for (int i = 1; i <= models; i++)
        {
            using var ft = BenchmarkModels.Random(parameters, 4_000_000, i, pre);
            Checkpoint.Save(ft, Path.Combine(dir, $"task{i}.safetensors"));
            Console.WriteLine($"wrote task{i}.safetensors");
        }
    }
    return;
}

// `make-image-experiment DIR IMAGES` writes a CLIP-vision pool in Hugging Face layout with ImageFolder data of IMAGES
// per task and split, and one config per data-driven method (benchmarks/data-streaming.sh measures them).
if (args.Length > 0 && args[0] == "make-image-experiment")
{
    ImageExperiment.Write(Path.GetFullPath(args[1]), int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture));
    return;
}

// `make-llm DIR LAYERS MODELS [0.5b|1.5b]` writes Qwen2-0.5B- (or 1.5B-) shaped bf16 folders (pretrained + MODELS fine-tunes, LAYERS layers)
// for benchmarks/merge-at-scale.sh.
if (args.Length > 0 && args[0] == "make-llm")
{
    LlmCheckpoints.Write(args[1], int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture), int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture),
        args.Length > 4 ? args[4] : "0.5b");
    return;
}

// `make-lora DIR LAYERS ADAPTERS RANK` writes PEFT LoRA adapter folders lora1..N on make-llm's pretrained model.
if (args.Length > 0 && args[0] == "make-lora")
{
    var ic = System.Globalization.CultureInfo.InvariantCulture;
    LlmCheckpoints.WriteAdapters(args[1], int.Parse(args[2], ic), int.Parse(args[3], ic), int.Parse(args[4], ic));
    return;
}

// In process: BenchmarkDotNet's generated out-of-process project does not get the libtorch load fix.
// Each invocation moves gigabytes, so a few monitored iterations give stable means.
var job = Job.Default.WithStrategy(RunStrategy.Monitoring).WithLaunchCount(1).WithWarmupCount(1).WithIterationCount(5)
    .WithToolchain(InProcessEmitToolchain.Instance);
var config = DefaultConfig.Instance.AddJob(job.AsDefault()).WithOptions(ConfigOptions.DisableOptimizationsValidator);
BenchmarkSwitcher.FromAssembly(typeof(BenchmarkModels).Assembly).Run(args, config);

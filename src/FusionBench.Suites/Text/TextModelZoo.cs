using FusionBench.Core.TaskPools;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using FusionBench.Core;
using FusionBench.Core.Checkpoints;
using FusionBench.Core.Models;
using static TorchSharp.torch;

namespace FusionBench.Suites.Text;

/// <summary>How the text suite's zoo is built.</summary>
public sealed record TextZooOptions
{
    /// <summary>The suite's name.</summary>
    public string Suite { get; init; } = TextModelZoo.SuiteName;

    /// <summary>The fine-tuning recipe.</summary>
    public TextFineTuneOptions FineTune { get; init; } = new();

    /// <summary>The longest input, special tokens included. Default 64.</summary>
    public int MaxLength { get; init; } = 64;

    /// <summary>Training texts used per task (the first ones); 0 for all. Default 0.</summary>
    public int TrainPerTask { get; init; }

    /// <summary>Test texts evaluated per task; 0 for all. Default 0.</summary>
    public int TestPerTask { get; init; }

    /// <summary>Tasks to build, in the suite's order; null for all eight.</summary>
    public IReadOnlyList<string>? Tasks { get; init; }

    /// <summary>Layers of the backbone to keep (a slice of the real weights, for tests); 0 for all. Default 0.</summary>
    public int Layers { get; init; }

    /// <summary>
    /// LoRA fine-tunes to build next to the full ones, or null for none (the default). A zoo built without them gets
    /// them added in place, its full models kept.
    /// </summary>
    public TextLoraOptions? Lora { get; init; }

    /// <summary>Value equality over the option values, so a cached zoo is reused only with the same options.</summary>
    public bool Equals(TextZooOptions? other) => other is not null && JsonSerializer.Serialize(this) == JsonSerializer.Serialize(other);

    /// <inheritdoc />
    public override int GetHashCode() => JsonSerializer.Serialize(this).GetHashCode(StringComparison.Ordinal);
}

/// <summary>What a text zoo holds and how good its models are.</summary>
public sealed class TextZooManifest
{
    /// <summary>The suite.</summary>
    [JsonPropertyName("suite")] public string Suite { get; init; } = "";

    /// <summary>The options it was built with.</summary>
    [JsonPropertyName("options")] public TextZooOptions Options { get; init; } = new();

    /// <summary>The converted pretrained model's folder.</summary>
    [JsonPropertyName("pretrained")] public string Pretrained { get; init; } = "";

    /// <summary>Per task: sizes and test accuracies of the zero-shot pretrained model and the fine-tuned one.</summary>
    [JsonPropertyName("tasks")] public List<TextZooTask> Tasks { get; init; } = new();

    /// <summary>Seconds per stage.</summary>
    [JsonPropertyName("seconds")] public Dictionary<string, double> Seconds { get; init; } = new();

    /// <summary>Reads a manifest, or null if there is none or it does not parse.</summary>
    public static TextZooManifest? TryLoad(string path)
    {
        if (!File.Exists(path)) return null;
        try { return JsonSerializer.Deserialize<TextZooManifest>(File.ReadAllText(path)); }
        catch (JsonException) { return null; }
    }
}

/// <summary>One task of a text zoo.</summary>
public sealed class TextZooTask
{
    /// <summary>The task.</summary>
    [JsonPropertyName("name")] public string Name { get; init; } = "";

    /// <summary>Its classes.</summary>
    [JsonPropertyName("num_classes")] public int NumClasses { get; init; }

    /// <summary>Training texts used.</summary>
    [JsonPropertyName("train_size")] public int TrainSize { get; init; }

    /// <summary>Test texts evaluated.</summary>
    [JsonPropertyName("test_size")] public int TestSize { get; init; }

    /// <summary>Test accuracy of the pretrained backbone with the zero-shot head.</summary>
    [JsonPropertyName("pretrained_accuracy")] public double PretrainedAccuracy { get; init; }

    /// <summary>Test accuracy of the fine-tuned backbone with the same head.</summary>
    [JsonPropertyName("full_accuracy")] public double FullAccuracy { get; init; }

    /// <summary>Seconds of its fine-tune.</summary>
    [JsonPropertyName("fine_tune_seconds")] public double FineTuneSeconds { get; init; }

    /// <summary>Test accuracy of the LoRA fine-tune with the same head (null when not built).</summary>
    [JsonPropertyName("lora_accuracy")] public double? LoraAccuracy { get; init; }

    /// <summary>Seconds of its LoRA fine-tune (null when not built).</summary>
    [JsonPropertyName("lora_fine_tune_seconds")] public double? LoraFineTuneSeconds { get; init; }
}

/// <summary>
/// The text suite's model zoo (FusionBench's CLIP protocol on real all-MiniLM-L6-v2): per task a fixed zero-shot head
/// from its label sentences and one full fine-tune of the backbone (word embeddings frozen), deterministic from the
/// options, cached with a manifest. Fine-tuned checkpoints hold only the trained tensors; the rest is the pretrained
/// model's. A build writes a temporary sibling folder that replaces the zoo only when complete.
/// </summary>
public static class TextModelZoo
{
    /// <summary>The suite's name.</summary>
    public const string SuiteName = "text-minilm";

    /// <summary>The manifest's file name.</summary>
    public const string ManifestFile = "manifest.json";

    /// <summary>A task's head file.</summary>
    public static string HeadPath(string zoo, string task) => Path.Combine(zoo, "heads", task + ".safetensors");

    /// <summary>A task's fine-tuned tensors.</summary>
    public static string ModelPath(string zoo, string task) => Path.Combine(zoo, "full", task + ".safetensors");

    /// <summary>A task's LoRA adapter: a PEFT folder (<c>adapter_config.json</c>, <c>adapter_model.safetensors</c>).</summary>
    public static string LoraPath(string zoo, string task) => Path.Combine(zoo, "lora", task);

    /// <summary>Whether a zoo holds complete LoRA adapters built with <paramref name="lora"/>.</summary>
    public static bool HasLora(TextZooManifest manifest, string zoo, TextLoraOptions? lora = null) =>
        manifest.Options.Lora is { } built && (lora is null || Same(built, lora))
        && manifest.Tasks.All(t => t.LoraAccuracy.HasValue && File.Exists(Path.Combine(LoraPath(zoo, t.Name), "adapter_model.safetensors")));

    private static bool Same(TextLoraOptions a, TextLoraOptions b) => JsonSerializer.Serialize(a) == JsonSerializer.Serialize(b);

    /// <summary>Returns the cached zoo if built with the same options and complete; otherwise builds it.</summary>
    public static TextZooManifest EnsureBuilt(string dataDirectory, string modelsDirectory, string zooDirectory, TextZooOptions options,
        bool force = false, IProgress<FusionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        // The full zoo if it is complete and built with these options (LoRA aside), else null.
        TextZooManifest? FullZoo()
        {
            var existing = TextZooManifest.TryLoad(Path.Combine(zooDirectory, ManifestFile));
            return !force && existing is not null && (existing.Options with { Lora = null }).Equals(options with { Lora = null })
                && existing.Tasks.All(t => File.Exists(HeadPath(zooDirectory, t.Name)) && File.Exists(ModelPath(zooDirectory, t.Name))) ? existing : null;
        }
        TextZooManifest? Cached()
        {
            if (FullZoo() is not { } existing || (options.Lora is not null && !HasLora(existing, zooDirectory, options.Lora))) return null;
            progress?.Report(new FusionProgress("zoo", 0, 0, TimeSpan.Zero, $"using the cached zoo in {zooDirectory} (built with the same options; --force rebuilds)"));
            return existing;
        }
        if (Cached() is { } cached) return cached;
        // One training at a time; a build that finished while this one waited is used, not repeated.
        using var gate = TrainingGate.Enter("zoo", progress, cancellationToken);
        if (Cached() is { } done) return done;
        if (FullZoo() is { } full)
        {
            progress?.Report(new FusionProgress("zoo", 0, 0, TimeSpan.Zero, $"adding LoRA fine-tunes to the cached zoo in {zooDirectory}"));
            return AddLora(dataDirectory, zooDirectory, full, options.Lora!, progress, cancellationToken);
        }
        return AtomicFolder.Write(zooDirectory, building =>
        {
            var built = Build(dataDirectory, modelsDirectory, building, options with { Lora = null }, progress, cancellationToken);
            return options.Lora is null ? built : AddLora(dataDirectory, building, built, options.Lora, progress, cancellationToken);
        });
    }

    /// <summary>
    /// Fine-tunes a LoRA adapter per task of a built zoo and records it in the manifest. Each adapter folder is written
    /// atomically and the manifest last (atomically), so an interrupted run leaves the zoo as it was.
    /// </summary>
    private static TextZooManifest AddLora(string dataDirectory, string zoo, TextZooManifest m, TextLoraOptions lora, IProgress<FusionProgress>? progress, CancellationToken ct)
    {
        var clockTotal = Stopwatch.StartNew();
        var o = m.Options;
        var tasks = TextSuiteData.Load(dataDirectory);
        var model = new BertModel(BertConfig.MiniLmL6);
        var encoder = new BertTextEncoder(Path.Combine(m.Pretrained, "vocab.txt"), o.MaxLength);
        using var pretrained = LoadPretrained(m.Pretrained, o.Layers);
        var records = new List<TextZooTask>();
        double seconds = 0;
        foreach (var record in m.Tasks)
        {
            ct.ThrowIfCancellationRequested();
            var task = tasks.Single(t => t.Name == record.Name);
            using var headFile = SafeTensorsFile.Open(HeadPath(zoo, task.Name));
            using var head = headFile.Read("weight");
            var clock = Stopwatch.StartNew();
            var stepProgress = progress is null ? null : new Prefixed(progress, $"fine-tuning {task.Name} (LoRA r={lora.Rank})");
            using var adapters = TextFineTuning.FineTuneLora(model, pretrained, head, encoder, Take(task.Train, record.TrainSize), o.FineTune, lora, stepProgress, ct);
            double elapsed = clock.Elapsed.TotalSeconds;
            seconds += elapsed;
            AtomicFolder.Write(LoraPath(zoo, task.Name), folder =>
            {
                Checkpoint.Save(adapters, Path.Combine(folder, "adapter_model.safetensors"));
                File.WriteAllText(Path.Combine(folder, "adapter_config.json"), PeftConfig(lora));
                return 0;
            });
            using var merged = TextFineTuning.MergeLora(pretrained, adapters, lora);
            var weights = new Dictionary<string, Tensor>(pretrained, StringComparer.Ordinal);
            foreach (var name in merged.TensorNames) weights[name] = merged[name];
            double accuracy = Accuracy(model, weights, head, encoder, Take(task.Test, record.TestSize));
            records.Add(new TextZooTask
            {
                Name = record.Name, NumClasses = record.NumClasses, TrainSize = record.TrainSize, TestSize = record.TestSize,
                PretrainedAccuracy = record.PretrainedAccuracy, FullAccuracy = record.FullAccuracy, FineTuneSeconds = record.FineTuneSeconds,
                LoraAccuracy = accuracy, LoraFineTuneSeconds = elapsed,
            });
            progress?.Report(new FusionProgress($"fine-tuning {task.Name} (LoRA)", 0, 0, clock.Elapsed,
                string.Create(CultureInfo.InvariantCulture, $"done, zero-shot {record.PretrainedAccuracy:P1}, LoRA {accuracy:P1} (full {record.FullAccuracy:P1})")));
        }
        var secondsByStage = new Dictionary<string, double>(m.Seconds) { ["lora_fine_tuning"] = seconds, ["lora_total"] = clockTotal.Elapsed.TotalSeconds };
        var manifest = new TextZooManifest { Suite = m.Suite, Options = o with { Lora = lora }, Pretrained = m.Pretrained, Tasks = records, Seconds = secondsByStage };
        string path = Path.Combine(zoo, ManifestFile), temporary = path + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(manifest, new JsonSerializerOptions { WriteIndented = true }));
        File.Move(temporary, path, overwrite: true);
        return manifest;
    }

    /// <summary>PEFT's <c>adapter_config.json</c> for an adapter of all-MiniLM-L6-v2.</summary>
    private static string PeftConfig(TextLoraOptions lora) => JsonSerializer.Serialize(new Dictionary<string, object?>
    {
        ["peft_type"] = "LORA", ["task_type"] = "FEATURE_EXTRACTION", ["base_model_name_or_path"] = "sentence-transformers/all-MiniLM-L6-v2",
        ["r"] = lora.Rank, ["lora_alpha"] = lora.Alpha, ["target_modules"] = lora.TargetModules, ["lora_dropout"] = 0.0, ["bias"] = "none",
        ["fan_in_fan_out"] = false, ["use_rslora"] = false, ["inference_mode"] = true,
    }, new JsonSerializerOptions { WriteIndented = true });

    /// <summary>The pretrained weights of the zoo's backbone (all layers, or the first <see cref="TextZooOptions.Layers"/>).</summary>
    public static StateDict LoadPretrained(string minilmFolder, int layers)
    {
        using var file = SafeTensorsFile.Open(Path.Combine(minilmFolder, "model.safetensors"));
        var weights = new StateDict("all-MiniLM-L6-v2");
        foreach (var name in file.TensorNames)
            if (layers <= 0 || !name.StartsWith("encoder.layer.", StringComparison.Ordinal) || int.Parse(name.Split('.')[2], CultureInfo.InvariantCulture) < layers)
                weights.Add(name, file.Read(name));
        return weights;
    }

    private static TextZooManifest Build(string dataDirectory, string modelsDirectory, string zoo, TextZooOptions o, IProgress<FusionProgress>? progress, CancellationToken ct)
    {
        var total = Stopwatch.StartNew();
        string minilm = MiniLmCheckpoint.EnsureConverted(modelsDirectory);
        var tasks = TextSuiteData.Load(dataDirectory).Where(t => o.Tasks is null || o.Tasks.Contains(t.Name)).ToList();
        if (o.Tasks is not null && tasks.Count != o.Tasks.Count)
            throw new ArgumentException($"Unknown text task(s): {string.Join(", ", o.Tasks.Except(tasks.Select(t => t.Name)))}.");
        var model = new BertModel(BertConfig.MiniLmL6);
        var encoder = new BertTextEncoder(Path.Combine(minilm, "vocab.txt"), o.MaxLength);
        using var pretrained = LoadPretrained(minilm, o.Layers);
        Directory.CreateDirectory(Path.Combine(zoo, "heads"));
        Directory.CreateDirectory(Path.Combine(zoo, "full"));
        var records = new List<TextZooTask>();
        double fineTuning = 0;
        foreach (var task in tasks)
        {
            ct.ThrowIfCancellationRequested();
            var train = Take(task.Train, o.TrainPerTask);
            var test = Take(task.Test, o.TestPerTask);
            using var head = TextPromptHeads.Build(model, pretrained, encoder, task.Prompts);
            using (var h = new StateDict("head")) { h.Add("weight", head.clone()); Checkpoint.Save(h, HeadPath(zoo, task.Name)); }
            double zeroShot = Accuracy(model, pretrained, head, encoder, test);
            var clock = Stopwatch.StartNew();
            var stepProgress = progress is null ? null : new Prefixed(progress, $"fine-tuning {task.Name}");
            using var tuned = TextFineTuning.FineTune(model, pretrained, head, encoder, train, o.FineTune, stepProgress, ct);
            double seconds = clock.Elapsed.TotalSeconds;
            fineTuning += seconds;
            double accuracy = Accuracy(model, tuned, head, encoder, test);
            using (var trained = new StateDict(task.Name))
            {
                foreach (var name in tuned.TensorNames.Where(n => !TextFineTuning.IsFrozen(n))) trained.Add(name, tuned[name].alias());
                Checkpoint.Save(trained, ModelPath(zoo, task.Name));
            }
            records.Add(new TextZooTask
            {
                Name = task.Name, NumClasses = task.NumClasses, TrainSize = train.Count, TestSize = test.Count,
                PretrainedAccuracy = zeroShot, FullAccuracy = accuracy, FineTuneSeconds = seconds,
            });
            progress?.Report(new FusionProgress($"fine-tuning {task.Name}", 0, 0, clock.Elapsed,
                string.Create(CultureInfo.InvariantCulture, $"done, zero-shot {zeroShot:P1}, fine-tuned {accuracy:P1}")));
        }
        var manifest = new TextZooManifest
        {
            Suite = o.Suite, Options = o, Pretrained = minilm, Tasks = records,
            Seconds = new() { ["fine_tuning"] = fineTuning, ["total"] = total.Elapsed.TotalSeconds },
        };
        File.WriteAllText(Path.Combine(zoo, ManifestFile), JsonSerializer.Serialize(manifest, new JsonSerializerOptions { WriteIndented = true }));
        return manifest;
    }

    private static TextSplit Take(TextSplit s, int n) =>
        n <= 0 || n >= s.Count ? s : new TextSplit(s.Texts.Take(n).ToList(), s.Labels.Take(n).ToList());

    /// <summary>Test accuracy with a head (<see cref="TextClassificationEvaluation"/>, as the task pool measures it).</summary>
    internal static double Accuracy(BertModel model, IReadOnlyDictionary<string, Tensor> weights, Tensor head, BertTextEncoder encoder, TextSplit split)
    {
        using var ids = encoder.EncodeBatch(split.Texts);
        using var labels = tensor(split.Labels.Select(l => (long)l).ToArray());
        return TextClassificationEvaluation.Evaluate(x => TextPromptHeads.Logits(head, model.Forward(weights, x)), ids, labels, encoder.PadTokenId).Accuracy;
    }

    private sealed class Prefixed(IProgress<FusionProgress> inner, string operation) : IProgress<FusionProgress>
    {
        public void Report(FusionProgress value) => inner.Report(value with { Operation = operation });
    }
}

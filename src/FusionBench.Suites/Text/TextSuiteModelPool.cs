using FusionBench.Core;
using FusionBench.Core.Checkpoints;
using FusionBench.Core.ModelPools;
using FusionBench.Core.Models;
using FusionBench.Core.TaskPools;
using FusionBench.Suites.Data;
using TorchSharp;
using static TorchSharp.torch;

namespace FusionBench.Suites.Text;

/// <summary>
/// The text suite's model pool over a built zoo: the pretrained all-MiniLM-L6-v2 backbone, one fully fine-tuned
/// backbone per task (the zoo's trained tensors over the pretrained ones), BERT as the architecture, and per task its
/// fixed zero-shot head and tokenised training and test texts (padded to the task's longest text, at most the zoo's max
/// length; <see cref="BertModel"/> masks the padding). Merges merge the backbone only; each task keeps its head.
/// </summary>
public sealed class TextSuiteModelPool : IDataModelPool, IDisposable
{
    private readonly StateDict _pretrained;
    private readonly Dictionary<string, IWeightSource> _models = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Tensor> _heads = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (Tensor Train, Tensor Test, Tensor TestLabels)> _data = new(StringComparer.Ordinal);

    private TextSuiteModelPool(TextZooManifest manifest, StateDict pretrained, IReadOnlyList<TextTask> tasks, string zoo, IReadOnlyList<string>? fused, FineTuning fineTuning)
    {
        Manifest = manifest;
        FineTuning = fineTuning;
        _pretrained = pretrained;
        Tasks = tasks;
        var encoder = Encoder = new BertTextEncoder(Path.Combine(manifest.Pretrained, "vocab.txt"), manifest.Options.MaxLength);
        // Heads and test data of every task (all are evaluated); fine-tuned models of the fused ones only.
        foreach (var t in manifest.Tasks)
        {
            var task = tasks.Single(x => x.Name == t.Name);
            if (fused is null || fused.Contains(t.Name))
                _models[t.Name] = new OverlaySource(pretrained, fineTuning == FineTuning.Lora ? LoadLora(zoo, t.Name, pretrained, manifest.Options.Lora!) : SafeTensorsFile.Open(TextModelZoo.ModelPath(zoo, t.Name)));
            using (var head = SafeTensorsFile.Open(TextModelZoo.HeadPath(zoo, t.Name))) _heads[t.Name] = head.Read("weight");
            _data[t.Name] = (encoder.EncodeBatch(task.Train.Texts.Take(t.TrainSize).ToList()),
                encoder.EncodeBatch(task.Test.Texts.Take(t.TestSize).ToList()),
                tensor(task.Test.Labels.Take(t.TestSize).Select(l => (long)l).ToArray()));
        }
    }

    /// <summary>Opens a built text zoo with the suite's data.</summary>
    /// <param name="zooDirectory">The zoo's folder.</param>
    /// <param name="dataDirectory">The suite's data folder.</param>
    /// <param name="tasks">The tasks whose models the pool holds and whose training data the data-driven methods use (the
    /// generalization study fuses six); null for every task of the zoo. Its task pool evaluates every task either way.</param>
    /// <param name="fineTuning">The fully fine-tuned models, or the LoRA adapters merged into the pretrained weights.</param>
    /// <exception cref="FileNotFoundException">The zoo or its data is missing; the message says how to build it.</exception>
    /// <exception cref="ArgumentException">A task the zoo does not hold.</exception>
    /// <exception cref="FusionException">LoRA models asked of a zoo built without them.</exception>
    public static TextSuiteModelPool Open(string zooDirectory, string dataDirectory, IReadOnlyList<string>? tasks = null, FineTuning fineTuning = FineTuning.Full)
    {
        var manifest = TextZooManifest.TryLoad(Path.Combine(zooDirectory, TextModelZoo.ManifestFile))
            ?? throw new FileNotFoundException($"No text zoo in {zooDirectory}: build it with 'fusionbench zoo build --suite {TextModelZoo.SuiteName}'.",
                Path.Combine(zooDirectory, TextModelZoo.ManifestFile));
        if (fineTuning == FineTuning.Lora && !TextModelZoo.HasLora(manifest, zooDirectory))
            throw new FusionException($"The text zoo in {zooDirectory} has no LoRA models: add them with 'fusionbench zoo build --suite {TextModelZoo.SuiteName} --lora'.");
        if (tasks?.Except(manifest.Tasks.Select(t => t.Name)).ToList() is { Count: > 0 } unknown)
            throw new ArgumentException($"The text zoo has no task {string.Join(", ", unknown)} (tasks: {string.Join(", ", manifest.Tasks.Select(t => t.Name))}).", nameof(tasks));
        var data = TextSuiteData.Load(dataDirectory);
        var pretrained = TextModelZoo.LoadPretrained(manifest.Pretrained, manifest.Options.Layers);
        try
        {
            return new TextSuiteModelPool(manifest, pretrained, data, zooDirectory, tasks, fineTuning);
        }
        catch
        {
            pretrained.Dispose();
            throw;
        }
    }

    /// <summary>The zoo's manifest.</summary>
    public TextZooManifest Manifest { get; }

    /// <summary>Whether the pool's models are the full or the LoRA fine-tunes.</summary>
    public FineTuning FineTuning { get; }

    /// <summary>The suite's tasks (all eight, whatever the zoo holds).</summary>
    public IReadOnlyList<TextTask> Tasks { get; }

    /// <inheritdoc />
    public IWeightSource? Pretrained => _pretrained;

    /// <inheritdoc />
    public IReadOnlyList<string> ModelNames => Manifest.Tasks.Select(t => t.Name).Where(_models.ContainsKey).ToList();

    /// <inheritdoc />
    public IWeightSource GetModel(string name) => _models.TryGetValue(name, out var m) ? m
        : throw new KeyNotFoundException($"The text zoo has no model '{name}' (models: {string.Join(", ", _models.Keys)}).");

    /// <inheritdoc />
    public IFunctionalModel Architecture { get; } = new BertModel(BertConfig.MiniLmL6);

    /// <inheritdoc />
    public IReadOnlyList<string> TaskNames => ModelNames;

    /// <inheritdoc />
    public Tensor TrainInputs(string task) => Data(task).Train;

    /// <inheritdoc />
    public Tensor TestInputs(string task) => Data(task).Test;

    /// <summary>A task's test labels.</summary>
    public Tensor TestLabels(string task) => Data(task).TestLabels;

    /// <inheritdoc />
    public Tensor Logits(string task, Tensor features) =>
        TextPromptHeads.Logits(_heads.TryGetValue(task, out var h) ? h : throw new KeyNotFoundException($"No head for task '{task}'."), features);

    /// <summary>The tokenizer of the zoo's backbone.</summary>
    public BertTextEncoder Encoder { get; }

    /// <summary>The task pool that evaluates fused results on this pool's tasks, on clean or corrupted test texts.</summary>
    public TextClassificationTaskPool CreateTaskPool(TextEvaluationOptions? options = null) => new(this, options ?? new TextEvaluationOptions());

    private (Tensor Train, Tensor Test, Tensor TestLabels) Data(string task) =>
        _data.TryGetValue(task, out var d) ? d : throw new KeyNotFoundException($"No data for task '{task}'.");

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var m in _models.Values) m.Dispose();
        foreach (var h in _heads.Values) h.Dispose();
        foreach (var (a, b, c) in _data.Values) { a.Dispose(); b.Dispose(); c.Dispose(); }
        _pretrained.Dispose();
    }

    /// <summary>A task's LoRA adapter merged into the pretrained weights (only the adapted tensors).</summary>
    private static StateDict LoadLora(string zoo, string task, StateDict pretrained, TextLoraOptions lora)
    {
        using var file = SafeTensorsFile.Open(Path.Combine(TextModelZoo.LoraPath(zoo, task), "adapter_model.safetensors"));
        using var adapters = new StateDict(task);
        foreach (var name in file.TensorNames) adapters.Add(name, file.Read(name));
        var merged = TextFineTuning.MergeLora(pretrained, adapters, lora);
        return merged;
    }

    /// <summary>A fine-tuned model: the zoo's trained tensors over the pretrained ones (the frozen tensors are the pretrained model's).</summary>
    private sealed class OverlaySource(StateDict pretrained, IWeightSource trained) : IWeightSource
    {
        public string Name => trained.Name;
        public IReadOnlyList<string> TensorNames => pretrained.TensorNames;
        public bool Contains(string tensorName) => pretrained.Contains(tensorName);
        public TensorInfo GetInfo(string tensorName) => trained.Contains(tensorName) ? trained.GetInfo(tensorName) : pretrained.GetInfo(tensorName);
        public Tensor Read(string tensorName) => trained.Contains(tensorName) ? trained.Read(tensorName) : pretrained.Read(tensorName);
        public void Dispose() => trained.Dispose();
    }
}

/// <summary>How the text task pool evaluates: clean or corrupted test texts.</summary>
public sealed record TextEvaluationOptions
{
    /// <summary>A corruption applied to every test text (the robustness study), or null for clean test sets.</summary>
    public TextCorruption? Corruption { get; init; }

    /// <summary>The corruption's severity, 1–5. Default 3.</summary>
    public int Severity { get; init; } = 3;

    /// <summary>Seed of the corruption's random draws. Default 0.</summary>
    public long Seed { get; init; }

    /// <summary>Evaluate only each task's first N test texts (a cheaper robustness grid); 0 for all. Default 0.</summary>
    public int TestPerTask { get; init; }
}

/// <summary>Evaluates fused results on the text suite's test sets (accuracy and mean cross-entropy, FusionBench's report shape).</summary>
public sealed class TextClassificationTaskPool : ITaskPool
{
    private readonly TextSuiteModelPool _pool;
    private readonly TextEvaluationOptions _options;

    /// <summary>Creates the task pool over <paramref name="pool"/>'s tasks and test sets (it borrows them).</summary>
    public TextClassificationTaskPool(TextSuiteModelPool pool, TextEvaluationOptions options)
    {
        _pool = pool ?? throw new ArgumentNullException(nameof(pool));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        if (options.Corruption is not null && options.Severity is < 1 or > 5)
            throw new ArgumentOutOfRangeException(nameof(options), $"Severity must be 1–5, got {options.Severity}.");
        if (options.TestPerTask < 0) throw new ArgumentOutOfRangeException(nameof(options), $"TestPerTask must be ≥ 0, got {options.TestPerTask}.");
    }

    /// <inheritdoc />
    public IReadOnlyList<string> TaskNames => _pool.Manifest.Tasks.Select(t => t.Name).ToList();

    /// <inheritdoc />
    public TaskPoolReport Evaluate(FusionResult fused, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fused);
        var info = new Dictionary<string, object?> { ["method"] = fused.Method.Name, ["suite"] = TextModelZoo.SuiteName };
        // A shared model with per-task parts (EMR, TALL masks): each task is evaluated with its own weights.
        if (fused.TaskWeights is { } parts) return Evaluate(parts.Backbones(), info, cancellationToken);
        if (fused.HasWeights) return Evaluate(_ => fused.Weights, info, cancellationToken);
        var model = fused.Model!;
        return EvaluateEncoders(_ => model.Forward, info, cancellationToken);
    }

    /// <summary>Evaluates with a backbone chosen per task (the individual baseline evaluates each task with its own model).</summary>
    public TaskPoolReport Evaluate(Func<string, IReadOnlyDictionary<string, Tensor>> backboneFor, IReadOnlyDictionary<string, object?> modelInfo,
        CancellationToken cancellationToken = default) =>
        EvaluateEncoders(task => { var w = backboneFor(task); return x => _pool.Architecture.Forward(w, x); }, modelInfo, cancellationToken);

    private TaskPoolReport EvaluateEncoders(Func<string, Func<Tensor, Tensor>> encoderFor, IReadOnlyDictionary<string, object?> modelInfo, CancellationToken ct)
    {
        var results = new Dictionary<string, TaskMetrics>();
        var info = new Dictionary<string, object?>(modelInfo);
        if (_options.Corruption is TextCorruption c)
        {
            info["corruption"] = TextCorruptions.Name(c);
            info["severity"] = _options.Severity;
        }
        if (_options.TestPerTask > 0) info["test_per_task"] = _options.TestPerTask;
        int pad = _pool.Encoder.PadTokenId;
        foreach (var t in _pool.Manifest.Tasks)
        {
            ct.ThrowIfCancellationRequested();
            var encoder = encoderFor(t.Name);
            var logits = (Func<Tensor, Tensor>)(x => _pool.Logits(t.Name, encoder(x)));
            int n = _options.TestPerTask > 0 ? Math.Min(_options.TestPerTask, t.TestSize) : t.TestSize;
            using var labels = _pool.TestLabels(t.Name).narrow(0, 0, n);
            if (_options.Corruption is TextCorruption corruption)
            {
                var texts = _pool.Tasks.Single(x => x.Name == t.Name).Test.Texts.Take(n).ToList();
                using var ids = _pool.Encoder.EncodeBatch(TextCorruptions.Apply(texts, corruption, _options.Severity, _options.Seed).ToList());
                results[t.Name] = TextClassificationEvaluation.Evaluate(logits, ids, labels, pad);
            }
            else
            {
                using var ids = _pool.TestInputs(t.Name).narrow(0, 0, n);
                results[t.Name] = TextClassificationEvaluation.Evaluate(logits, ids, labels, pad);
            }
        }
        return new TaskPoolReport(results, info);
    }
}

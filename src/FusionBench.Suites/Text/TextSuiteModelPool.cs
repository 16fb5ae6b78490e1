using FusionBench.Core;
using FusionBench.Core.Checkpoints;
using FusionBench.Core.ModelPools;
using FusionBench.Core.Models;
using FusionBench.Core.TaskPools;
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

    private TextSuiteModelPool(TextZooManifest manifest, StateDict pretrained, IReadOnlyList<TextTask> tasks, string zoo)
    {
        Manifest = manifest;
        _pretrained = pretrained;
        Tasks = tasks;
        var encoder = new BertTextEncoder(Path.Combine(manifest.Pretrained, "vocab.txt"), manifest.Options.MaxLength);
        foreach (var t in manifest.Tasks)
        {
            var task = tasks.Single(x => x.Name == t.Name);
            _models[t.Name] = new OverlaySource(pretrained, SafeTensorsFile.Open(TextModelZoo.ModelPath(zoo, t.Name)));
            using (var head = SafeTensorsFile.Open(TextModelZoo.HeadPath(zoo, t.Name))) _heads[t.Name] = head.Read("weight");
            _data[t.Name] = (encoder.EncodeBatch(task.Train.Texts.Take(t.TrainSize).ToList()),
                encoder.EncodeBatch(task.Test.Texts.Take(t.TestSize).ToList()),
                tensor(task.Test.Labels.Take(t.TestSize).Select(l => (long)l).ToArray()));
        }
    }

    /// <summary>Opens a built text zoo with the suite's data.</summary>
    /// <exception cref="FileNotFoundException">The zoo or its data is missing; the message says how to build it.</exception>
    public static TextSuiteModelPool Open(string zooDirectory, string dataDirectory)
    {
        var manifest = TextZooManifest.TryLoad(Path.Combine(zooDirectory, TextModelZoo.ManifestFile))
            ?? throw new FileNotFoundException($"No text zoo in {zooDirectory}: build it with 'fusionbench zoo build --suite {TextModelZoo.SuiteName}'.",
                Path.Combine(zooDirectory, TextModelZoo.ManifestFile));
        var tasks = TextSuiteData.Load(dataDirectory);
        var pretrained = TextModelZoo.LoadPretrained(manifest.Pretrained, manifest.Options.Layers);
        try
        {
            return new TextSuiteModelPool(manifest, pretrained, tasks, zooDirectory);
        }
        catch
        {
            pretrained.Dispose();
            throw;
        }
    }

    /// <summary>The zoo's manifest.</summary>
    public TextZooManifest Manifest { get; }

    /// <summary>The suite's tasks (all eight, whatever the zoo holds).</summary>
    public IReadOnlyList<TextTask> Tasks { get; }

    /// <inheritdoc />
    public IWeightSource? Pretrained => _pretrained;

    /// <inheritdoc />
    public IReadOnlyList<string> ModelNames => Manifest.Tasks.Select(t => t.Name).ToList();

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

    /// <summary>The task pool that evaluates fused results on this pool's tasks.</summary>
    public TextClassificationTaskPool CreateTaskPool() => new(this);

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

    /// <summary>A fine-tuned model: the zoo's trained tensors over the pretrained ones (the frozen tensors are the pretrained model's).</summary>
    private sealed class OverlaySource(StateDict pretrained, SafeTensorsFile trained) : IWeightSource
    {
        public string Name => trained.Name;
        public IReadOnlyList<string> TensorNames => pretrained.TensorNames;
        public bool Contains(string tensorName) => pretrained.Contains(tensorName);
        public TensorInfo GetInfo(string tensorName) => trained.Contains(tensorName) ? trained.GetInfo(tensorName) : pretrained.GetInfo(tensorName);
        public Tensor Read(string tensorName) => trained.Contains(tensorName) ? trained.Read(tensorName) : pretrained.Read(tensorName);
        public void Dispose() => trained.Dispose();
    }
}

/// <summary>Evaluates fused results on the text suite's test sets (accuracy and mean cross-entropy, FusionBench's report shape).</summary>
public sealed class TextClassificationTaskPool(TextSuiteModelPool pool) : ITaskPool
{
    /// <inheritdoc />
    public IReadOnlyList<string> TaskNames => pool.TaskNames;

    /// <inheritdoc />
    public TaskPoolReport Evaluate(FusionResult fused, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fused);
        var info = new Dictionary<string, object?> { ["method"] = fused.Method.Name, ["suite"] = TextModelZoo.SuiteName };
        if (fused.HasWeights) return Evaluate(_ => fused.Weights, info, cancellationToken);
        var model = fused.Model!;
        return EvaluateEncoders(_ => model.Forward, info, cancellationToken);
    }

    /// <summary>Evaluates with a backbone chosen per task (the individual baseline evaluates each task with its own model).</summary>
    public TaskPoolReport Evaluate(Func<string, IReadOnlyDictionary<string, Tensor>> backboneFor, IReadOnlyDictionary<string, object?> modelInfo,
        CancellationToken cancellationToken = default) =>
        EvaluateEncoders(task => { var w = backboneFor(task); return x => pool.Architecture.Forward(w, x); }, modelInfo, cancellationToken);

    private TaskPoolReport EvaluateEncoders(Func<string, Func<Tensor, Tensor>> encoderFor, IReadOnlyDictionary<string, object?> modelInfo, CancellationToken ct)
    {
        var results = new Dictionary<string, TaskMetrics>();
        int pad = ((BertModel)pool.Architecture).Config.PadTokenId;
        foreach (var task in pool.TaskNames)
        {
            ct.ThrowIfCancellationRequested();
            var encoder = encoderFor(task);
            results[task] = TextEvaluation.Evaluate(x => pool.Logits(task, encoder(x)), pool.TestInputs(task), pool.TestLabels(task), pad);
        }
        return new TaskPoolReport(results, modelInfo);
    }
}

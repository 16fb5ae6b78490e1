using FusionBench.Core.Data;
using FusionBench.Core.Models;
using FusionBench.Core.TaskPools;
using TorchSharp;
using static TorchSharp.torch;

namespace FusionBench.Core.ModelPools.HuggingFace;

/// <summary>What a <see cref="HuggingFaceModelPool"/> opens: FusionBench's model pool and task pool, as paths.</summary>
public sealed record HuggingFacePoolOptions
{
    /// <summary>The pretrained model's folder (FusionBench's <c>_pretrained_</c>).</summary>
    public required string Pretrained { get; init; }

    /// <summary>The fine-tuned models' folders, by task name, in pool order.</summary>
    public required IReadOnlyList<KeyValuePair<string, string>> Models { get; init; }

    /// <summary>
    /// Per task, its training data: a CSV/TSV/JSONL file for a text model (<see cref="TextClassificationFile"/>), an
    /// ImageFolder tree for a vision model (<see cref="ImageFolderDataset"/>). What Fisher and RegMean use.
    /// </summary>
    public IReadOnlyDictionary<string, string> TrainData { get; init; } = new Dictionary<string, string>();

    /// <summary>Per task, its test data file: what the task pool evaluates and test-time methods (AdaMerging, WEMoE) adapt on.</summary>
    public IReadOnlyDictionary<string, string> TestData { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// Per task, training data held by the app: labelled texts (tokenised with the pool's tokenizer) or batches of model
    /// inputs and labels (token ids or pixels, as the architecture takes them). Used where <see cref="TrainData"/> names no file.
    /// </summary>
    public IReadOnlyDictionary<string, InMemoryData> TrainExamples { get; init; } = new Dictionary<string, InMemoryData>();

    /// <summary>Per task, test data held by the app (see <see cref="TrainExamples"/>).</summary>
    public IReadOnlyDictionary<string, InMemoryData> TestExamples { get; init; } = new Dictionary<string, InMemoryData>();

    /// <summary>Per task, a head file (<c>weight</c>, optional <c>bias</c>) used instead of the checkpoint's own head.</summary>
    public IReadOnlyDictionary<string, string> Heads { get; init; } = new Dictionary<string, string>();

    /// <summary>The longest input in tokens, special tokens included. Default 128.</summary>
    public int MaxLength { get; init; } = 128;

    /// <summary>
    /// How images are preprocessed for a vision model; null for CLIP's (resize, centre crop and normalisation with the
    /// pretrained folder's <c>preprocessor_config.json</c> mean and std when present, else CLIP's) at the model's size.
    /// </summary>
    public ImagePreprocessing? Images { get; init; }
}

/// <summary>
/// A model pool of Hugging Face folders (<see cref="HuggingFaceModel"/>): the pretrained model, one fine-tuned model per
/// task with its own classification head, and per task the data the data-driven methods and the task pool use — text
/// files tokenised with the pretrained folder's own <c>vocab.txt</c>, or ImageFolder trees preprocessed as CLIP does.
/// Merges merge the backbone; each task keeps its head.
/// </summary>
/// <remarks>
/// Text files are read row by row and tokenised into one int64 id matrix per split and task (8 bytes per token). The
/// task pool and the data-driven methods (Fisher, RegMean, AdaMerging, WEMoE, through <see cref="TrainBatch"/> and
/// <see cref="TestBatch"/>) decode images one batch at a time; only <see cref="TrainInputs"/>/<see cref="TestInputs"/>
/// decode a split whole (once).
/// </remarks>
public sealed class HuggingFaceModelPool : IDataModelPool, IDisposable
{
    private readonly HuggingFaceModel _pretrained;
    private readonly List<(string Name, HuggingFaceModel Model)> _models = new();
    private readonly Dictionary<string, TaskData> _train = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TaskData> _test = new(StringComparer.Ordinal);
    private readonly Dictionary<string, StateDict> _heads = new(StringComparer.Ordinal);

    private HuggingFaceModelPool(HuggingFaceModel pretrained, BertTextEncoder? encoder, ImagePreprocessing? images)
    {
        _pretrained = pretrained;
        Encoder = encoder;
        _images = images;
    }

    private readonly ImagePreprocessing? _images;

    /// <summary>Opens the folders and reads the data.</summary>
    /// <exception cref="FusionException">A folder, head or data file is missing, unsupported or does not fit; the message names it.</exception>
    public static HuggingFaceModelPool Open(HuggingFacePoolOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Models.Count == 0) throw new FusionException("The model pool names no fine-tuned model.");
        var pretrained = HuggingFaceModel.Open(options.Pretrained);
        HuggingFaceModelPool? pool = null;
        try
        {
            BertTextEncoder? encoder = null;
            ImagePreprocessing? images = null;
            if (pretrained.Architecture is BertModel)
            {
                string vocab = pretrained.VocabularyFile ?? throw new FusionException($"{options.Pretrained}: no vocab.txt for the BERT tokenizer.");
                encoder = new BertTextEncoder(vocab, options.MaxLength);
            }
            else if (pretrained.Architecture is ClipVisionModel clip) images = options.Images ?? ClipPreprocessing(options.Pretrained, clip.Config);
            pool = new HuggingFaceModelPool(pretrained, encoder, images);
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (name, folder) in options.Models)
            {
                if (!names.Add(name)) throw new FusionException($"Model name '{name}' appears twice in the pool.");
                var model = HuggingFaceModel.Open(folder, options.Heads.TryGetValue(name, out var h) ? h : null);
                pool._models.Add((name, model));
                CheckSameArchitecture(pretrained, model, name);
                pool._heads[name] = model.Head ?? throw new FusionException(
                    $"{folder}: model '{name}' has no classification head; give one with a head file (heads: {{{name}: PATH}}).");
            }
            foreach (var task in options.TrainData.Keys.Concat(options.TestData.Keys).Concat(options.Heads.Keys)
                         .Concat(options.TrainExamples.Keys).Concat(options.TestExamples.Keys).Distinct())
                if (!names.Contains(task)) throw new FusionException($"Data or a head is given for task '{task}', which names no model of the pool (models: {string.Join(", ", names)}).");
            foreach (var (name, model) in pool._models)
            {
                if (options.TrainData.TryGetValue(name, out var train)) pool._train[name] = pool.Read(train, model);
                else if (options.TrainExamples.TryGetValue(name, out var trainExamples)) pool._train[name] = pool.Read(trainExamples, model, name);
                if (options.TestData.TryGetValue(name, out var test)) pool._test[name] = pool.Read(test, model);
                else if (options.TestExamples.TryGetValue(name, out var testExamples)) pool._test[name] = pool.Read(testExamples, model, name);
            }
            return pool;
        }
        catch
        {
            if (pool is not null) pool.Dispose();
            else pretrained.Dispose();
            throw;
        }
    }

    private static void CheckSameArchitecture(HuggingFaceModel pretrained, HuggingFaceModel model, string name)
    {
        var a = pretrained.Architecture.Parameters;
        var b = model.Architecture.Parameters;
        foreach (var (tensor, info) in a)
            if (!b.TryGetValue(tensor, out var other) || !other.Shape.SequenceEqual(info.Shape))
                throw new FusionException($"{model.Folder}: model '{name}' is not the pretrained model's architecture (tensor '{tensor}' differs).");
    }

    private TaskData Read(string path, HuggingFaceModel model)
    {
        if (_images is not null)
        {
            if (!Directory.Exists(path)) throw new FusionException($"{path}: a vision model's data is an ImageFolder tree (ROOT/CLASS/IMAGE), not a file.");
            var dataset = ImageFolderDataset.Open(path, model.Labels);
            if (dataset.Classes.Count > model.Head!["weight"].shape[0])
                throw new FusionException($"{path}: {dataset.Classes.Count} classes, but the head of '{model.Folder}' has {model.Head["weight"].shape[0]}.");
            return new TaskData(null, null, dataset);
        }
        if (Encoder is null) throw new FusionException($"{path}: text data needs a text model; {_pretrained.Folder} is '{_pretrained.ModelType}'.");
        var examples = TextClassificationFile.ReadAll(path, (int)model.Head!["weight"].shape[0], model.Labels);
        if (examples.Count == 0) throw new FusionException($"{path}: no examples.");
        return Tokenised(examples);
    }

    /// <summary>Labelled texts as token ids (padded to the longest) and labels.</summary>
    private TaskData Tokenised(IReadOnlyList<TextExample> examples) =>
        new(Encoder!.EncodeBatch(examples.Select(e => e.Text).ToList()), tensor(examples.Select(e => (long)e.Label).ToArray()), null);

    /// <summary>The app's in-memory data for a task: texts tokenised here, or its batches concatenated once.</summary>
    private TaskData Read(InMemoryData data, HuggingFaceModel model, string task)
    {
        long classes = model.Head!["weight"].shape[0];
        if (data.Texts is { } texts)
        {
            if (Encoder is null) throw new FusionException($"Task '{task}': texts need a text model; {_pretrained.Folder} is '{_pretrained.ModelType}'.");
            var list = texts.ToList();
            if (list.Count == 0) throw new FusionException($"Task '{task}': no examples.");
            if (list.FirstOrDefault(e => e.Label < 0 || e.Label >= classes) is { Text: not null } bad)
                throw new FusionException($"Task '{task}': label {bad.Label} is outside the head's {classes} classes.");
            return Tokenised(list);
        }
        var inputs = new List<Tensor>();
        var labels = new List<Tensor>();
        try
        {
            foreach (var (x, y) in data.Batches!)
            {
                if (x.shape[0] != y.shape[0]) throw new FusionException($"Task '{task}': a batch has {x.shape[0]} inputs but {y.shape[0]} labels.");
                inputs.Add(x);
                labels.Add(y.to(ScalarType.Int64));
            }
            if (inputs.Count == 0) throw new FusionException($"Task '{task}': no batches.");
            // Token ids of different lengths are padded to the longest batch; pixels must agree in shape.
            if (inputs[0].dtype == ScalarType.Int64 && Encoder is not null)
            {
                long longest = inputs.Max(x => x.shape[1]);
                var padded = inputs.Select(x => x.shape[1] == longest ? x : nn.functional.pad(x, new[] { 0L, longest - x.shape[1] }, value: Encoder.PadTokenId)).ToList();
                return new TaskData(cat(padded, 0), cat(labels, 0), null);
            }
            return new TaskData(cat(inputs, 0), cat(labels, 0), null);
        }
        catch (Exception e) when (e is not FusionException)
        {
            throw new FusionException($"Task '{task}': its batches do not fit together ({e.Message.Split('\n')[0]}).");
        }
    }

    /// <summary>CLIP's preprocessing at the model's size, with the folder's <c>preprocessor_config.json</c> mean and std when it has them.</summary>
    private static ImagePreprocessing ClipPreprocessing(string folder, ClipVisionConfig config)
    {
        var p = new ImagePreprocessing { Size = config.ImageSize, Channels = config.NumChannels };
        string path = Path.Combine(folder, "preprocessor_config.json");
        if (File.Exists(path))
        {
            using var doc = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path));
            var r = doc.RootElement;
            if (r.TryGetProperty("image_mean", out var m)) p = p with { Mean = m.EnumerateArray().Select(x => x.GetSingle()).ToList() };
            if (r.TryGetProperty("image_std", out var sd)) p = p with { Std = sd.EnumerateArray().Select(x => x.GetSingle()).ToList() };
        }
        if (p.Mean.Count < p.Channels || p.Std.Count < p.Channels)
            throw new FusionException($"{folder}: image_mean and image_std need {p.Channels} values.");
        return p;
    }

    /// <summary>A task's split: token ids and labels (text), or an ImageFolder decoded when first needed (images).</summary>
    private sealed class TaskData(Tensor? ids, Tensor? labels, ImageFolderDataset? images) : IDisposable
    {
        private Tensor? _ids = ids, _labels = labels;

        public ImageFolderDataset? Images { get; } = images;

        public Tensor Inputs(ImagePreprocessing? p) { Load(p); return _ids!; }

        public Tensor Labels(ImagePreprocessing? p) { Load(p); return _labels!; }

        public long Count => Images?.Samples.Count ?? _ids!.shape[0];

        public Tensor Batch(long start, long count, ImagePreprocessing? p)
        {
            if (Images is null || _ids is not null) return _ids!.narrow(0, start, count);
            var (pixels, labels) = Images.Load((int)start, (int)count, p!);
            labels.Dispose();
            return pixels;
        }

        public Tensor Rows(Tensor rows, ImagePreprocessing? p)
        {
            if (Images is null || _ids is not null) return _ids!.index_select(0, rows);
            var (pixels, labels) = Images.Load(rows.data<long>().ToArray().Select(r => (int)r).ToList(), p!);
            labels.Dispose();
            return pixels;
        }

        private void Load(ImagePreprocessing? p)
        {
            if (_ids is not null || Images is null) return;
            (_ids, _labels) = Images.Load(0, Images.Samples.Count, p!);
        }

        public void Dispose() { _ids?.Dispose(); _labels?.Dispose(); }
    }

    /// <summary>The tokenizer (text models), or null.</summary>
    public BertTextEncoder? Encoder { get; }

    /// <inheritdoc />
    public IWeightSource? Pretrained => _pretrained.Backbone;

    /// <inheritdoc />
    public IReadOnlyList<string> ModelNames => _models.Select(m => m.Name).ToList();

    /// <inheritdoc />
    public IWeightSource GetModel(string name) => _models.FirstOrDefault(m => m.Name == name).Model?.Backbone
        ?? throw new KeyNotFoundException($"The pool has no model '{name}' (models: {string.Join(", ", ModelNames)}).");

    /// <inheritdoc />
    public IFunctionalModel Architecture => _pretrained.Architecture;

    /// <summary>The tasks with training data, in pool order (what Fisher and RegMean use).</summary>
    public IReadOnlyList<string> TaskNames => ModelNames.Where(_train.ContainsKey).ToList();

    /// <inheritdoc />
    /// <remarks>Images are decoded the first time a method asks for them.</remarks>
    public Tensor TrainInputs(string task) => _train.TryGetValue(task, out var d) ? d.Inputs(_images)
        : throw new FusionException($"Task '{task}' has no training data (give train_datasets: {{{task}: PATH}}).");

    /// <inheritdoc />
    /// <remarks>Images are decoded the first time a method asks for them.</remarks>
    public Tensor TestInputs(string task) => _test.TryGetValue(task, out var d) ? d.Inputs(_images)
        : throw new FusionException($"Task '{task}' has no test data (give test_datasets: {{{task}: PATH}}).");

    /// <inheritdoc />
    public long TrainCount(string task) => Split(_train, task, "train_datasets").Count;

    /// <inheritdoc />
    /// <remarks>Images are decoded for this batch only.</remarks>
    public Tensor TrainBatch(string task, long start, long count) => Split(_train, task, "train_datasets").Batch(start, count, _images);

    /// <inheritdoc />
    public long TestCount(string task) => Split(_test, task, "test_datasets").Count;

    /// <inheritdoc />
    /// <remarks>Images are decoded for this batch only.</remarks>
    public Tensor TestBatch(string task, Tensor rows) => Split(_test, task, "test_datasets").Rows(rows, _images);

    private static TaskData Split(Dictionary<string, TaskData> splits, string task, string key) => splits.TryGetValue(task, out var d) ? d
        : throw new FusionException($"Task '{task}' has no {(key == "train_datasets" ? "training" : "test")} data (give {key}: {{{task}: PATH}}).");

    /// <summary>A task's test labels.</summary>
    public Tensor TestLabels(string task) => _test.TryGetValue(task, out var d) ? d.Labels(_images)
        : throw new FusionException($"Task '{task}' has no test data.");

    /// <inheritdoc />
    public Tensor Logits(string task, Tensor features) =>
        LinearHead.Logits(_heads.TryGetValue(task, out var h) ? h : throw new KeyNotFoundException($"No head for task '{task}'."), features);

    /// <summary>The task pool that evaluates fused results on every task with test data, each with its own head.</summary>
    public ITaskPool CreateTaskPool() => new HuggingFaceTaskPool(this);

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var d in _train.Values.Concat(_test.Values)) d.Dispose();
        foreach (var (_, m) in _models) m.Dispose();
        _pretrained.Dispose();
    }

    /// <summary>Accuracy and loss per task with test data (FusionBench's report shape).</summary>
    private sealed class HuggingFaceTaskPool(HuggingFaceModelPool pool) : ITaskPool
    {
        public IReadOnlyList<string> TaskNames => pool.ModelNames.Where(pool._test.ContainsKey).ToList();

        public TaskPoolReport Evaluate(FusionResult fused, CancellationToken cancellationToken = default)
        {
            ArgumentNullException.ThrowIfNull(fused);
            if (TaskNames.Count == 0) throw new FusionException("The pool has no test data to evaluate on (give test_datasets).");
            var results = new Dictionary<string, TaskMetrics>();
            Func<Tensor, Tensor> encoder;
            var backbones = fused.TaskWeights?.Backbones();
            if (fused.HasWeights)
            {
                var w = fused.Weights;
                encoder = x => pool.Architecture.Forward(w, x);
            }
            else encoder = fused.Model!.Forward;
            foreach (var task in TaskNames)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (backbones is not null)
                {
                    // A shared model with per-task parts (EMR, TALL masks): this task's own weights.
                    var own = backbones(task);
                    encoder = x => pool.Architecture.Forward(own, x);
                }
                var data = pool._test[task];
                results[task] = data.Images is { } images
                    ? ImageEvaluation(x => pool.Logits(task, encoder(x)), images, pool._images!, cancellationToken)
                    : TextClassificationEvaluation.Evaluate(x => pool.Logits(task, encoder(x)), data.Inputs(null), data.Labels(null), pool.Encoder!.PadTokenId);
            }
            return new TaskPoolReport(results, new Dictionary<string, object?> { ["method"] = fused.Method.Name, ["pretrained"] = pool._pretrained.Folder });
        }

        /// <summary>Accuracy and mean cross-entropy over an ImageFolder, decoded one batch at a time.</summary>
        private static TaskMetrics ImageEvaluation(Func<Tensor, Tensor> logits, ImageFolderDataset images, ImagePreprocessing p, CancellationToken ct)
        {
            using var noGrad = no_grad();
            long correct = 0, n = 0;
            double loss = 0;
            foreach (var (pixels, labels) in images.Batches(64, p))
            {
                ct.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                using (pixels) using (labels)
                {
                    var z = logits(pixels);
                    correct += z.argmax(1).eq(labels).sum().ToInt64();
                    loss += nn.functional.cross_entropy(z, labels, reduction: nn.Reduction.Sum).ToDouble();
                    n += labels.shape[0];
                }
            }
            return new TaskMetrics((double)correct / n, loss / n);
        }
    }
}

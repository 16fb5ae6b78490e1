using FusionBench.Core.Checkpoints;
using FusionBench.Core.Models;

namespace FusionBench.Suites.Image;

/// <summary>
/// The image suite's model pool: the pretrained backbone, one fine-tuned backbone per task (full or LoRA, by
/// <see cref="FineTuning"/>), the architecture, the task heads, and each task's train and test data. Checkpoints are
/// read lazily; the data is in memory.
/// </summary>
public sealed class ImageSuiteModelPool : IDataModelPool, IDisposable
{
    private readonly ModelPool _weights;
    private readonly Dictionary<string, StateDict> _heads;
    private readonly Dictionary<string, ImageTask> _tasks;

    private ImageSuiteModelPool(ModelPool weights, ClipVisionModel architecture, IReadOnlyList<ImageTask> tasks,
        Dictionary<string, StateDict> heads, FineTuning fineTuning, ImageZooManifest manifest)
    {
        _weights = weights;
        Architecture = architecture;
        Tasks = tasks;
        _tasks = tasks.ToDictionary(t => t.Name);
        _heads = heads;
        FineTuning = fineTuning;
        Manifest = manifest;
    }

    /// <summary>Opens a built zoo.</summary>
    /// <param name="zooDirectory">The zoo folder (see <see cref="ImageModelZoo.EnsureBuilt"/>).</param>
    /// <param name="dataDirectory">The suite's data folder.</param>
    /// <param name="fineTuning">Full or LoRA fine-tuned models.</param>
    /// <param name="modelTasks">Which tasks' fine-tuned models the pool holds (all eight when null), e.g. the six seen
    /// tasks of the generalization study. <see cref="Tasks"/> always holds all eight for evaluation.</param>
    /// <exception cref="FileNotFoundException">The zoo is missing or incomplete; build it with <c>fusionbench zoo build</c>.</exception>
    public static ImageSuiteModelPool Open(string zooDirectory, string dataDirectory, FineTuning fineTuning = FineTuning.Full, IReadOnlyList<string>? modelTasks = null)
    {
        var manifest = ImageZooManifest.TryLoad(Path.Combine(zooDirectory, ImageModelZoo.ManifestFile))
            ?? throw new FileNotFoundException($"No model zoo in {zooDirectory} (run `fusionbench zoo build` first).", Path.Combine(zooDirectory, ImageModelZoo.ManifestFile));
        if (fineTuning == FineTuning.Lora && !manifest.Options.BuildLora)
            throw new FusionException($"The zoo in {zooDirectory} was built without LoRA models.");
        var names = modelTasks ?? manifest.Tasks.Select(t => t.Name).ToList();
        foreach (var n in names)
            if (manifest.Tasks.All(t => t.Name != n))
                throw new KeyNotFoundException($"The zoo has no task '{n}'. Tasks: {string.Join(", ", manifest.Tasks.Select(t => t.Name))}.");
        var heads = new Dictionary<string, StateDict>();
        IReadOnlyList<ImageTask>? tasks = null;
        ModelPool? weights = null;
        try
        {
            foreach (var t in manifest.Tasks)
            {
                using var file = SafeTensorsFile.Open(ImageModelZoo.HeadPath(zooDirectory, t.Name));
                heads[t.Name] = StateDict.CopyFrom(file);
            }
            weights = ModelPool.FromCheckpoints(ImageModelZoo.PretrainedPath(zooDirectory),
                names.Select(n => new KeyValuePair<string, string>(n, ImageModelZoo.ModelPath(zooDirectory, n, fineTuning))));
            tasks = ImageSuiteData.LoadTasks(dataDirectory, manifest.Options.TrainPerTask, manifest.Options.TestPerTask);
            var config = manifest.Options.Config;
            return new ImageSuiteModelPool(weights, new ClipVisionModel(config), tasks, heads, fineTuning, manifest);
        }
        catch
        {
            foreach (var h in heads.Values) h.Dispose();
            weights?.Dispose();
            foreach (var t in tasks ?? Array.Empty<ImageTask>()) t.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public IWeightSource? Pretrained => _weights.Pretrained;

    /// <inheritdoc />
    public IReadOnlyList<string> ModelNames => _weights.ModelNames;

    /// <inheritdoc />
    public IWeightSource GetModel(string name) => _weights.GetModel(name);

    /// <summary>The backbone architecture, with a functional forward.</summary>
    public ClipVisionModel Architecture { get; }

    IFunctionalModel IArchitectureModelPool.Architecture => Architecture;

    /// <summary>All eight tasks with their train and test data, in report order.</summary>
    public IReadOnlyList<ImageTask> Tasks { get; }

    /// <summary>Which fine-tuned models the pool holds.</summary>
    public FineTuning FineTuning { get; }

    /// <summary>The zoo's manifest.</summary>
    public ImageZooManifest Manifest { get; }

    IReadOnlyList<string> IDataModelPool.TaskNames => Tasks.Select(t => t.Name).ToList();

    /// <inheritdoc />
    public TorchSharp.torch.Tensor TrainInputs(string task) => GetTask(task).Train.Images;

    /// <inheritdoc />
    public TorchSharp.torch.Tensor TestInputs(string task) => GetTask(task).Test.Images;

    /// <inheritdoc />
    public TorchSharp.torch.Tensor Logits(string task, TorchSharp.torch.Tensor features) => LinearHead.Logits(GetHead(task), features);

    /// <summary>A task by name.</summary>
    public ImageTask GetTask(string name) =>
        _tasks.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"No task '{name}'. Tasks: {string.Join(", ", _tasks.Keys)}.");

    /// <summary>A task's classification head (<c>weight</c>, <c>bias</c>); owned by the pool.</summary>
    public StateDict GetHead(string task) =>
        _heads.TryGetValue(task, out var h) ? h : throw new KeyNotFoundException($"No head for task '{task}'.");

    /// <summary>A task pool evaluating on every task's (optionally corrupted) test set with the pool's heads.</summary>
    public ImageClassificationTaskPool CreateTaskPool(ImageEvaluationOptions? options = null) =>
        new(Architecture, Tasks, _heads, options ?? new ImageEvaluationOptions());

    /// <summary>Disposes checkpoints, heads and data.</summary>
    public void Dispose()
    {
        _weights.Dispose();
        foreach (var h in _heads.Values) h.Dispose();
        foreach (var t in Tasks) t.Dispose();
    }
}

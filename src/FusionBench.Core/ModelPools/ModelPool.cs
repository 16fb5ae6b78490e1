using FusionBench.Core.Checkpoints;

namespace FusionBench.Core.ModelPools;

/// <summary>A model pool over weight sources: checkpoints on disk or state dicts in memory.</summary>
public sealed class ModelPool : IModelPool, IDisposable
{
    private readonly Dictionary<string, IWeightSource> _models;
    private readonly List<string> _names;
    private readonly bool _ownsSources;

    /// <summary>Creates a pool.</summary>
    /// <param name="pretrained">The pretrained model, or null.</param>
    /// <param name="models">The fine-tuned models by name, in pool order.</param>
    /// <param name="ownsSources">Whether disposing the pool disposes the sources.</param>
    /// <exception cref="ArgumentException">A name is empty or repeated.</exception>
    public ModelPool(IWeightSource? pretrained, IEnumerable<KeyValuePair<string, IWeightSource>> models, bool ownsSources = true)
    {
        ArgumentNullException.ThrowIfNull(models);
        Pretrained = pretrained;
        _ownsSources = ownsSources;
        _models = new Dictionary<string, IWeightSource>(StringComparer.Ordinal);
        _names = new List<string>();
        foreach (var (name, source) in models)
        {
            if (string.IsNullOrWhiteSpace(name)) throw new ArgumentException("A model name is empty.", nameof(models));
            if (!_models.TryAdd(name, source ?? throw new ArgumentNullException(nameof(models), $"Model '{name}' is null.")))
                throw new ArgumentException($"Model name '{name}' appears twice.", nameof(models));
            _names.Add(name);
        }
    }

    /// <summary>
    /// Opens checkpoints (see <see cref="Checkpoint.Open"/>) into a pool that owns them. A model path that is a PEFT LoRA
    /// adapter folder (<c>adapter_config.json</c>) is that adapter on top of the pretrained model (<see cref="LoraAdapter"/>),
    /// so every method merges LoRA fine-tunes directly.
    /// </summary>
    /// <param name="pretrainedPath">The pretrained checkpoint, or null.</param>
    /// <param name="models">Fine-tuned checkpoints or LoRA adapter folders: name → path.</param>
    /// <exception cref="FusionException">An adapter without a pretrained model, or one that does not fit it.</exception>
    public static ModelPool FromCheckpoints(string? pretrainedPath, IEnumerable<KeyValuePair<string, string>> models)
    {
        ArgumentNullException.ThrowIfNull(models);
        var opened = new List<IWeightSource>();
        try
        {
            IWeightSource? pretrained = pretrainedPath is null ? null : Checkpoint.Open(pretrainedPath);
            if (pretrained is not null) opened.Add(pretrained);
            var list = new List<KeyValuePair<string, IWeightSource>>();
            foreach (var (name, path) in models)
            {
                IWeightSource source;
                if (LoraAdapter.IsAdapterFolder(path))
                    source = new LoraAdapter(path, pretrained ?? throw new FusionException($"{path} is a LoRA adapter: give its base model as the pretrained model."));
                else source = Checkpoint.Open(path);
                opened.Add(source);
                list.Add(new(name, source));
            }
            return new ModelPool(pretrained, list, ownsSources: true);
        }
        catch
        {
            foreach (var s in opened) s.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public IWeightSource? Pretrained { get; }

    /// <inheritdoc />
    public IReadOnlyList<string> ModelNames => _names;

    /// <inheritdoc />
    public IWeightSource GetModel(string name) =>
        _models.TryGetValue(name, out var m)
            ? m
            : throw new KeyNotFoundException($"The pool has no model '{name}'. Models: {string.Join(", ", _names)}.");

    /// <summary>Disposes the sources when the pool owns them.</summary>
    public void Dispose()
    {
        if (!_ownsSources) return;
        Pretrained?.Dispose();
        foreach (var m in _models.Values) m.Dispose();
    }
}

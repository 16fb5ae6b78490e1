using TorchSharp;

namespace FusionBench.Core;

/// <summary>
/// An ordered map from parameter name to tensor that owns its tensors: disposing the dictionary disposes them.
/// </summary>
/// <remarks>
/// Tensors added with <see cref="Add"/> become owned by the dictionary and leave any dispose scope, so a
/// <see cref="StateDict"/> can be built inside <c>torch.NewDisposeScope()</c> and returned from it.
/// </remarks>
public sealed class StateDict : IWeightSource, IReadOnlyDictionary<string, torch.Tensor>
{
    private readonly List<string> _names = new();
    private readonly Dictionary<string, torch.Tensor> _tensors = new(StringComparer.Ordinal);
    private bool _disposed;

    /// <summary>Creates an empty state dict.</summary>
    /// <param name="name">A name used in messages.</param>
    public StateDict(string name = "state_dict") => Name = name;

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public IReadOnlyList<string> TensorNames => _names;

    /// <summary>The number of tensors.</summary>
    public int Count => _names.Count;

    /// <summary>The tensor of that name (owned by this dictionary; do not dispose it).</summary>
    public torch.Tensor this[string tensorName] =>
        _tensors.TryGetValue(tensorName, out var t) ? t : throw new KeyNotFoundException($"'{Name}' has no tensor '{tensorName}'.");

    /// <summary>Adds a tensor and takes ownership of it. The tensor is detached from any dispose scope.</summary>
    /// <exception cref="ArgumentException">A tensor of that name is already present.</exception>
    public void Add(string tensorName, torch.Tensor tensor)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(tensorName);
        ArgumentNullException.ThrowIfNull(tensor);
        if (_tensors.ContainsKey(tensorName))
            throw new ArgumentException($"'{Name}' already has a tensor '{tensorName}'.", nameof(tensorName));
        tensor.DetachFromDisposeScope();
        _tensors.Add(tensorName, tensor);
        _names.Add(tensorName);
    }

    /// <inheritdoc />
    public bool Contains(string tensorName) => _tensors.ContainsKey(tensorName);

    /// <inheritdoc />
    public TensorInfo GetInfo(string tensorName) => new(this[tensorName].dtype, this[tensorName].shape);

    /// <summary>Returns an alias of the stored tensor (same storage); dispose the alias, not the stored tensor.</summary>
    public torch.Tensor Read(string tensorName) => this[tensorName].alias();

    /// <inheritdoc />
    public torch.Tensor ReadRows(string tensorName, long start, long count) => this[tensorName].narrow(0, start, count);

    /// <summary>Total bytes held by the tensors.</summary>
    public long ByteCount => _tensors.Values.Sum(t => t.NumberOfElements * t.ElementSize);

    /// <summary>Creates a deep copy of every tensor in <paramref name="source"/>.</summary>
    public static StateDict CopyFrom(IWeightSource source)
    {
        ArgumentNullException.ThrowIfNull(source);
        var copy = new StateDict(source.Name);
        foreach (var name in source.TensorNames)
        {
            using var t = source.Read(name);
            copy.Add(name, t.clone());
        }
        return copy;
    }

    /// <inheritdoc />
    public IEnumerable<string> Keys => _names;

    /// <inheritdoc />
    public IEnumerable<torch.Tensor> Values => _names.Select(n => _tensors[n]);

    /// <inheritdoc />
    public bool ContainsKey(string key) => _tensors.ContainsKey(key);

    /// <inheritdoc />
    public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out torch.Tensor value) => _tensors.TryGetValue(key, out value);

    /// <inheritdoc />
    public IEnumerator<KeyValuePair<string, torch.Tensor>> GetEnumerator() =>
        _names.Select(n => new KeyValuePair<string, torch.Tensor>(n, _tensors[n])).GetEnumerator();

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Disposes every tensor.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        foreach (var t in _tensors.Values) t.Dispose();
        _tensors.Clear();
        _names.Clear();
    }
}

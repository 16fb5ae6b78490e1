using System.Text.Json;
using static TorchSharp.torch;

namespace FusionBench.Core.Checkpoints;

/// <summary>
/// A PEFT LoRA adapter folder (<c>adapter_config.json</c> + <c>adapter_model.safetensors</c>) on top of its base model,
/// as a model: every tensor is the base model's, except each adapted module's weight, which is
/// W + s·B·A with s = α/r (or α/√r with <c>use_rslora</c>; per-module α and r from <c>alpha_pattern</c>/<c>rank_pattern</c>,
/// r read from A's shape), transposed for <c>fan_in_fan_out</c> — PEFT's <c>merge_and_unload</c>. Computed lazily,
/// tensor by tensor, in float32, and returned in the base tensor's dtype. Tensors the adapter saves whole
/// (<c>modules_to_save</c>) replace the base's. DoRA, adapter biases and other PEFT types are errors naming the file.
/// </summary>
public sealed class LoraAdapter : IWeightSource
{
    private const string Prefix = "base_model.model.";
    private readonly IWeightSource _base;
    private readonly SafeTensorsFile _adapter;
    private readonly Dictionary<string, (string A, string B, double Scale)> _adapted = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _replaced = new(StringComparer.Ordinal);
    private readonly bool _fanInFanOut;

    /// <summary>Whether a folder is a PEFT adapter (it has <c>adapter_config.json</c>).</summary>
    public static bool IsAdapterFolder(string path) => Directory.Exists(path) && File.Exists(Path.Combine(path, "adapter_config.json"));

    /// <summary>Opens an adapter folder over its base model (which the adapter does not own).</summary>
    /// <exception cref="FusionException">Not a LoRA adapter this reader supports, or it does not fit the base model; the message names the file.</exception>
    public LoraAdapter(string folder, IWeightSource baseModel)
    {
        ArgumentNullException.ThrowIfNull(folder);
        _base = baseModel ?? throw new ArgumentNullException(nameof(baseModel));
        Name = folder;
        string configPath = Path.Combine(folder, "adapter_config.json");
        if (!File.Exists(configPath)) throw new FusionException($"{folder}: no adapter_config.json (not a PEFT adapter folder).");
        using var doc = JsonDocument.Parse(File.ReadAllText(configPath));
        var c = doc.RootElement;
        string Str(string key, string fallback) => c.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : fallback;
        bool Flag(string key) => c.TryGetProperty(key, out var v) && v.ValueKind == JsonValueKind.True;
        if (Str("peft_type", "LORA") != "LORA") throw new FusionException($"{configPath}: peft_type '{Str("peft_type", "")}' is not supported (LORA is).");
        if (Flag("use_dora")) throw new FusionException($"{configPath}: use_dora is not supported (DoRA's magnitude vector changes the merge).");
        if (Str("bias", "none") != "none") throw new FusionException($"{configPath}: bias '{Str("bias", "")}' is not supported (only 'none').");
        _fanInFanOut = Flag("fan_in_fan_out");
        bool rslora = Flag("use_rslora");
        double alpha = c.TryGetProperty("lora_alpha", out var la) ? la.GetDouble() : 8;
        var alphaPattern = Patterns(c, "alpha_pattern");
        var rankPattern = Patterns(c, "rank_pattern");
        string weights = Path.Combine(folder, "adapter_model.safetensors");
        if (!File.Exists(weights))
            throw new FusionException($"{folder}: no adapter_model.safetensors{(File.Exists(Path.Combine(folder, "adapter_model.bin")) ? " (adapter_model.bin is not read: save the adapter with safe_serialization)" : "")}.");
        _adapter = SafeTensorsFile.Open(weights);
        try
        {
            foreach (var name in _adapter.TensorNames)
            {
                string key = name.StartsWith(Prefix, StringComparison.Ordinal) ? name[Prefix.Length..] : name;
                if (key.EndsWith(".lora_A.weight", StringComparison.Ordinal))
                {
                    string module = key[..^".lora_A.weight".Length];
                    string b = name[..^"lora_A.weight".Length] + "lora_B.weight";
                    if (!_adapter.Contains(b)) throw new FusionException($"{weights}: {name} has no matching lora_B.");
                    string target = module + ".weight";
                    if (!_base.Contains(target)) throw new FusionException($"{weights}: adapts '{target}', which the base model {_base.Name} does not have.");
                    long r = _adapter.GetInfo(name).Shape[0];
                    if (rankPattern.FirstOrDefault(p => Matches(module, p.Key)) is { Key: not null } rp && (long)rp.Value != r)
                        throw new FusionException($"{weights}: {name} has rank {r} but rank_pattern says {rp.Value}.");
                    double a = alphaPattern.FirstOrDefault(p => Matches(module, p.Key)) is { Key: not null } ap ? ap.Value : alpha;
                    _adapted[target] = (name, b, rslora ? a / Math.Sqrt(r) : a / r);
                }
                else if (key.EndsWith(".lora_B.weight", StringComparison.Ordinal)) continue;
                else if (key.Contains(".lora_", StringComparison.Ordinal))
                    throw new FusionException($"{weights}: tensor '{name}' is a LoRA part this reader does not merge (embedding or magnitude adapters).");
                else
                {
                    // modules_to_save: PEFT stores "<module>.modules_to_save.default.<param>" or the plain name.
                    string plain = key.Replace(".modules_to_save.default.", ".", StringComparison.Ordinal);
                    if (!_base.Contains(plain)) throw new FusionException($"{weights}: tensor '{name}' replaces '{plain}', which the base model does not have.");
                    _replaced[plain] = name;
                }
            }
            if (_adapted.Count == 0 && _replaced.Count == 0) throw new FusionException($"{weights}: no LoRA weights.");
        }
        catch
        {
            _adapter.Dispose();
            throw;
        }
    }

    private static List<KeyValuePair<string, double>> Patterns(JsonElement c, string key) =>
        c.TryGetProperty(key, out var p) && p.ValueKind == JsonValueKind.Object
            ? p.EnumerateObject().Select(x => new KeyValuePair<string, double>(x.Name, x.Value.GetDouble())).ToList()
            : new List<KeyValuePair<string, double>>();

    /// <summary>PEFT matches a pattern key against the module name's end (a dotted suffix) or as a regex over the whole name.</summary>
    private static bool Matches(string module, string pattern) =>
        module == pattern || module.EndsWith("." + pattern, StringComparison.Ordinal)
        || System.Text.RegularExpressions.Regex.IsMatch(module, @"\A(?:.*\.)?(?:" + pattern + @")\z");

    /// <summary>The tensors the adapter changes (adapted weights and saved modules).</summary>
    public IReadOnlyCollection<string> ChangedTensors => _adapted.Keys.Concat(_replaced.Keys).ToList();

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public IReadOnlyList<string> TensorNames => _base.TensorNames;

    /// <inheritdoc />
    public bool Contains(string tensorName) => _base.Contains(tensorName);

    /// <inheritdoc />
    public TensorInfo GetInfo(string tensorName) => _base.GetInfo(tensorName);

    /// <inheritdoc />
    public Tensor Read(string tensorName)
    {
        if (_replaced.TryGetValue(tensorName, out var saved)) return _adapter.Read(saved);
        if (!_adapted.ContainsKey(tensorName)) return _base.Read(tensorName);
        var shape = _base.GetInfo(tensorName).Shape;
        return Adapted(tensorName, _base.Read(tensorName), 0, shape.Length == 0 ? 1 : shape[0]);
    }

    /// <inheritdoc />
    /// <remarks>Rows of a tensor the adapter does not change come straight from the base; adapted rows are W[rows] + s·(B·A)[rows].</remarks>
    public Tensor ReadRows(string tensorName, long start, long count)
    {
        if (_replaced.TryGetValue(tensorName, out var saved)) return _adapter.ReadRows(saved, start, count);
        if (!_adapted.ContainsKey(tensorName)) return _base.ReadRows(tensorName, start, count);
        return Adapted(tensorName, _base.ReadRows(tensorName, start, count), start, count);
    }

    /// <inheritdoc />
    public void ReadRowsInto(string tensorName, long start, long count, Tensor destination)
    {
        if (_replaced.TryGetValue(tensorName, out var saved))
        {
            _adapter.ReadRowsInto(saved, start, count, destination);
            return;
        }
        if (!_adapted.ContainsKey(tensorName))
        {
            _base.ReadRowsInto(tensorName, start, count, destination);
            return;
        }
        // W's rows land in the destination, then W + s·(B·A)[rows] is formed in float32 in two buffers reused from
        // block to block and written back over them in W's dtype.
        _base.ReadRowsInto(tensorName, start, count, destination);
        long n = destination.numel();
        using var w32 = Scratch(ref _w32, n);
        using var product = Scratch(ref _delta, n);
        w32.copy_(destination);
        AddDelta(tensorName, start, count, w32, product);
        destination.copy_(w32);
    }

    // Float32 work buffers of ReadRowsInto, kept at the largest block read so far.
    private Tensor? _w32, _delta;

    /// <summary>A flat float32 view of <paramref name="n"/> elements of a buffer kept in <paramref name="slot"/>, grown when too small.</summary>
    private static Tensor Scratch(ref Tensor? slot, long n)
    {
        if (slot is null || slot.numel() < n)
        {
            slot?.Dispose();
            slot = empty(n, ScalarType.Float32);
            slot.DetachFromDisposeScope();
        }
        return slot.narrow(0, 0, n);
    }

    /// <summary>Rows start … start + count − 1 of W + s·B·A, from those rows of W (disposed); computed in float32, returned in W's dtype.</summary>
    private Tensor Adapted(string tensorName, Tensor wRows, long start, long count)
    {
        using var scope = NewDisposeScope();
        using var w = wRows;
        var w32 = empty(w.shape, ScalarType.Float32).copy_(w); // a copy: W may be the base model's own memory
        AddDelta(tensorName, start, count, w32, empty(w.numel(), ScalarType.Float32));
        return w32.to(w.dtype).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// <paramref name="w32"/> (rows start … start + count − 1 of W in float32) += s·(B·A) of those rows, the product
    /// formed in <paramref name="product"/> (as many float32 elements): the one formula of <see cref="Read"/>,
    /// <see cref="ReadRows"/> and <see cref="ReadRowsInto"/>.
    /// </summary>
    private void AddDelta(string tensorName, long start, long count, Tensor w32, Tensor product)
    {
        using var scope = NewDisposeScope();
        var (a, b, scale) = Factors(tensorName);
        // fan_in_fan_out stores W as [in, out], so ΔW = (B·A)ᵀ and its rows are columns of B·A.
        var delta = _fanInFanOut
            ? product.view(b.shape[0], count).addmm_(b, a.narrow(1, start, count), beta: 0, alpha: 1).t()
            : product.view(count, a.shape[1]).addmm_(b.narrow(0, start, count), a, beta: 0, alpha: 1);
        w32.view(delta.shape).add_(delta, alpha: scale);
    }

    /// <summary>
    /// A and B of one adapted tensor in float32, in the caller's dispose scope, and its scale. Read again for every row
    /// block: keeping them across blocks pinned the native heap (long-lived small chunks between freed ones) and cost
    /// ~40 MB of peak memory per adapter, for a few percent of speed.
    /// </summary>
    private (Tensor A, Tensor B, double Scale) Factors(string tensorName)
    {
        var lora = _adapted[tensorName];
        Tensor a, b;
        using (var read = NewDisposeScope())
        {
            a = _adapter.Read(lora.A).to(ScalarType.Float32).MoveToOuterDisposeScope();
            b = _adapter.Read(lora.B).to(ScalarType.Float32).MoveToOuterDisposeScope();
        }
        var fullShape = _base.GetInfo(tensorName).Shape;
        if (fullShape.Length != 2 || (_fanInFanOut ? a.shape[1] != fullShape[0] || b.shape[0] != fullShape[1] : b.shape[0] != fullShape[0] || a.shape[1] != fullShape[1]))
        {
            var bad = _fanInFanOut ? new[] { a.shape[1], b.shape[0] } : new[] { b.shape[0], a.shape[1] };
            throw new FusionException($"{Name}: B·A for '{tensorName}' is [{string.Join(", ", bad)}], the base weight is [{string.Join(", ", fullShape)}].");
        }
        return (a, b, lora.Scale);
    }

    /// <summary>Disposes the adapter file (not the base model).</summary>
    public void Dispose()
    {
        _w32?.Dispose();
        _delta?.Dispose();
        _w32 = _delta = null;
        _adapter.Dispose();
    }
}

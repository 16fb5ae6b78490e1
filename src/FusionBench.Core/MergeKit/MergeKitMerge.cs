using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using FusionBench.Core.Algorithms;
using FusionBench.Core.Algorithms.Merging.GeneralizedTaskArithmetic;
using FusionBench.Core.Algorithms.Merging.Karcher;
using FusionBench.Core.Algorithms.Merging.ModelStock;
using FusionBench.Core.Algorithms.Merging.NuSlerp;
using FusionBench.Core.Checkpoints;
using FusionBench.Core.TaskVectors;
using TorchSharp;
using static TorchSharp.torch;

namespace FusionBench.Core.MergeKit;

/// <summary>How <see cref="MergeKitMerge"/> runs a configuration.</summary>
public sealed record MergeKitMergeOptions
{
    /// <summary>The folder relative model paths are resolved against; null: the current directory.</summary>
    public string? BaseDirectory { get; init; }

    /// <summary>The largest shard of the output folder.</summary>
    public long MaxShardBytes { get; init; } = Checkpoint.DefaultMaxShardBytes;

    /// <summary>Seed of random pruning (dare_*, della*): one generator per model and tensor, FusionBench.Core's rule.</summary>
    public long Seed { get; init; }
}

/// <summary>What <see cref="MergeKitMerge.Run"/> wrote.</summary>
/// <param name="Method">MergeKit's method name.</param>
/// <param name="Tensors">Tensors written.</param>
/// <param name="Bytes">Bytes of tensor data written.</param>
/// <param name="Layers">Layers of the output model.</param>
/// <param name="Elapsed">Merge and write.</param>
public sealed record MergeKitMergeResult(string Method, int Tensors, long Bytes, int Layers, TimeSpan Elapsed);

/// <summary>
/// Runs a MergeKit configuration as MergeKit's planner does, tensor by tensor and streamed to disk: each output tensor
/// gathers its inputs (a slice's layer <c>start + i</c> of every source becomes output layer <c>offset + i</c>), the
/// parameters are evaluated for it (source, slice, then global parameters; gradients at the layer's relative position
/// t = i/(n − 1), non-layer tensors at t = 0; filters by substring of the tensor name), and the method computes it.
/// Methods: <c>linear</c>, <c>task_arithmetic</c>, <c>ties</c>, <c>dare_ties</c>, <c>dare_linear</c>, <c>breadcrumbs</c>,
/// <c>breadcrumbs_ties</c>, <c>della</c>, <c>della_linear</c>, <c>slerp</c>, <c>nuslerp</c>, <c>model_stock</c>,
/// <c>karcher</c>, <c>passthrough</c>. Inputs are cast to <c>dtype</c> on load as in MergeKit, then computed in float32
/// (MergeKit computes in <c>dtype</c> itself, so float16 results may differ by a rounding step).
/// </summary>
public static class MergeKitMerge
{
    private static readonly Regex LayerName = new(@"^(?<prefix>(?:.*\.)?(?:layers|h|blocks|layer))\.(?<index>\d+)\.(?<rest>.+)$", RegexOptions.CultureInvariant);

    private static readonly IReadOnlyDictionary<string, (string[] Global, string[] PerModel)> MethodParameters = new Dictionary<string, (string[], string[])>
    {
        ["linear"] = (new[] { "normalize" }, new[] { "weight" }),
        ["slerp"] = (new[] { "t" }, Array.Empty<string>()),
        ["nuslerp"] = (new[] { "nuslerp_row_wise", "nuslerp_flatten" }, new[] { "weight" }),
        ["karcher"] = (new[] { "max_iter", "tol" }, Array.Empty<string>()),
        ["model_stock"] = (new[] { "filter_wise" }, Array.Empty<string>()),
        ["passthrough"] = (Array.Empty<string>(), new[] { "scale" }),
    }.Concat(MergeKitVariant.Presets.Select(p => KeyValuePair.Create(p.Key, (MergeKitVariant.GlobalParameters.ToArray(), p.Value.PerModelParameters.ToArray()))))
     .ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);

    /// <summary>The methods a configuration may name.</summary>
    public static IReadOnlyCollection<string> Methods => (IReadOnlyCollection<string>)MethodParameters.Keys;

    /// <summary>Merges <paramref name="configuration"/> into the folder <paramref name="outputPath"/> (atomically: nothing is left on failure).</summary>
    /// <exception cref="FusionException">The configuration names an unsupported method or parameter, a model is missing, or shapes disagree.</exception>
    public static MergeKitMergeResult Run(MergeKitConfiguration configuration, string outputPath, MergeKitMergeOptions? options = null,
        IProgress<FusionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(outputPath);
        options ??= new MergeKitMergeOptions();
        var clock = Stopwatch.StartNew();
        using var plan = CreatePlan(configuration, options);
        var (tensors, bytes) = StreamingMerge.Write(plan, outputPath, options.MaxShardBytes, plan.SideFilesFrom, plan.RewriteConfig, progress, cancellationToken);
        return new MergeKitMergeResult(configuration.MergeMethod, tensors, bytes, plan.Layers, clock.Elapsed);
    }

    /// <summary>
    /// The merged model as a lazy source: reading a tensor merges it (reading that tensor of each input). Dispose it to
    /// close the input checkpoints.
    /// </summary>
    public static IWeightSource Open(MergeKitConfiguration configuration, MergeKitMergeOptions? options = null) =>
        CreatePlan(configuration, options ?? new MergeKitMergeOptions());

    private static Plan CreatePlan(MergeKitConfiguration configuration, MergeKitMergeOptions options)
    {
        if (!MethodParameters.TryGetValue(configuration.MergeMethod, out var known))
            throw new FusionException($"merge_method '{configuration.MergeMethod}' is not supported; supported: {string.Join(", ", MethodParameters.Keys.Order())}.");
        var allowed = new HashSet<string>(known.Global.Concat(known.PerModel), StringComparer.Ordinal);
        void Check(IReadOnlyDictionary<string, MergeKitSetting> parameters, string where)
        {
            foreach (var key in parameters.Keys)
                if (!allowed.Contains(key))
                    throw new FusionException($"{where}: parameter '{key}' is not a parameter of '{configuration.MergeMethod}' (it takes: {string.Join(", ", allowed.Order())}).");
        }
        Check(configuration.Parameters, "parameters");
        foreach (var (slice, i) in configuration.Slices.Select((s, i) => (s, i)))
        {
            Check(slice.Parameters, $"slices[{i}].parameters");
            foreach (var s in slice.Sources) Check(s.Parameters, $"parameters of {s.Model}");
        }
        return new Plan(configuration, options);
    }

    /// <summary>One input model, opened once.</summary>
    private sealed class Input(string reference, string path, IWeightSource source) : IDisposable
    {
        public string Reference { get; } = reference;
        public string Path { get; } = path;
        public IWeightSource Source { get; } = source;
        public int Layers { get; } = CountLayers(path, source);
        public void Dispose() => Source.Dispose();
    }

    private sealed record Gathered(Input Input, string InputName, IReadOnlyDictionary<string, MergeKitSetting> Parameters);

    private sealed record OutputTensor(string Name, double T, IReadOnlyList<Gathered> Inputs, int BaseIndex, IReadOnlyDictionary<string, MergeKitSetting> SliceParameters, TensorInfo Info);

    private sealed class Plan : IWeightSource
    {
        private readonly MergeKitConfiguration _config;
        private readonly MergeKitMergeOptions _options;
        private readonly Dictionary<string, Input> _inputs = new(StringComparer.Ordinal);
        private readonly Dictionary<string, OutputTensor> _outputs = new(StringComparer.Ordinal);
        private readonly List<string> _names = new();
        private readonly ScalarType? _dtype, _outDType;

        public Plan(MergeKitConfiguration config, MergeKitMergeOptions options)
        {
            _config = config;
            _options = options;
            _dtype = DType(config.DType, "dtype");
            _outDType = DType(config.OutDType, "out_dtype");
            try
            {
                Build();
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public int Layers { get; private set; }
        public string? SideFilesFrom { get; private set; }
        public string Name => "mergekit:" + _config.MergeMethod;
        public IReadOnlyList<string> TensorNames => _names;
        public bool Contains(string tensorName) => _outputs.ContainsKey(tensorName);
        public TensorInfo GetInfo(string tensorName) => Output(tensorName).Info;

        private OutputTensor Output(string name) => _outputs.TryGetValue(name, out var o) ? o : throw new KeyNotFoundException($"The merge has no tensor '{name}'.");

        private Input Get(string reference)
        {
            string path = Resolve(reference);
            if (_inputs.TryGetValue(path, out var input)) return input;
            if (!File.Exists(path) && !Directory.Exists(path))
                throw new FusionException($"Model '{reference}' not found (looked for {path}); models are local paths here, nothing is downloaded.");
            input = new Input(reference, path, Checkpoint.Open(path));
            _inputs[path] = input;
            return input;
        }

        private string Resolve(string reference) =>
            System.IO.Path.GetFullPath(System.IO.Path.IsPathRooted(reference) ? reference : System.IO.Path.Combine(_options.BaseDirectory ?? Directory.GetCurrentDirectory(), reference));

        private void Build()
        {
            var baseInput = _config.BaseModel is null ? null : Get(_config.BaseModel);
            var slices = new List<(List<(Input Input, int Start, int Count, IReadOnlyDictionary<string, MergeKitSetting> Parameters)> Sources, Input? Base, IReadOnlyDictionary<string, MergeKitSetting> Parameters)>();
            foreach (var slice in _config.Slices)
            {
                var sources = slice.Sources.Select(s =>
                {
                    var input = Get(s.Model);
                    var (start, end) = s.LayerRange ?? (0, input.Layers);
                    if (end > input.Layers)
                        throw new FusionException($"layer_range [{start}, {end}] of {s.Model} exceeds its {input.Layers} layers.");
                    return (input, start, end - start, s.Parameters);
                }).ToList();
                var sliceBase = slice.BaseModel is null ? baseInput : Get(slice.BaseModel);
                // MergeKit's normalize_config: a models: configuration gets its base model as the last source.
                if (_config.FromModels && sliceBase is not null && sources.All(s => s.input != sliceBase))
                    sources.Add((sliceBase, 0, sliceBase.Layers, new Dictionary<string, MergeKitSetting>()));
                if (sources.Select(s => s.Item3).Distinct().Count() != 1)
                    throw new FusionException($"The sources of a slice must have the same number of layers ({string.Join(", ", sources.Select(s => $"{s.input.Reference}: {s.Item3}"))}).");
                slices.Add((sources.Select(s => (s.input, s.start, s.Item3, s.Parameters)).ToList(), sliceBase, slice.Parameters));
            }
            SideFilesFrom = Directory.Exists((baseInput ?? slices[0].Sources[0].Input).Path) ? (baseInput ?? slices[0].Sources[0].Input).Path : null;

            var first = slices[0].Sources[0].Input.Source;
            var last = slices[^1].Sources[0].Input.Source;
            bool IsPre(string n) => n.Contains("embed", StringComparison.Ordinal) || n.Contains("wte", StringComparison.Ordinal) || n.Contains("wpe", StringComparison.Ordinal);
            foreach (var n in first.TensorNames.Where(n => !LayerName.IsMatch(n) && IsPre(n)))
                Add(n, 0, slices[0].Sources.Select(s => (s.Input, n, s.Parameters)).ToList(), slices[0].Base, slices[0].Parameters);
            int offset = 0;
            foreach (var (sources, sliceBase, parameters) in slices)
            {
                int count = sources[0].Count;
                for (int i = 0; i < count; i++)
                {
                    double t = count > 1 ? (double)i / (count - 1) : 1.0;
                    var template = sources[0];
                    foreach (var n in template.Input.Source.TensorNames)
                    {
                        var m = LayerName.Match(n);
                        if (!m.Success || int.Parse(m.Groups["index"].Value, CultureInfo.InvariantCulture) != template.Start + i) continue;
                        string prefix = m.Groups["prefix"].Value, rest = m.Groups["rest"].Value;
                        Add($"{prefix}.{offset + i}.{rest}", t, sources.Select(s => (s.Input, $"{prefix}.{s.Start + i}.{rest}", s.Parameters)).ToList(), sliceBase, parameters);
                    }
                }
                offset += count;
            }
            Layers = offset;
            foreach (var n in last.TensorNames.Where(n => !LayerName.IsMatch(n) && !IsPre(n)))
                Add(n, 0, slices[^1].Sources.Select(s => (s.Input, n, s.Parameters)).ToList(), slices[^1].Base, slices[^1].Parameters);
        }

        private void Add(string name, double t, List<(Input Input, string InputName, IReadOnlyDictionary<string, MergeKitSetting> Parameters)> sources, Input? baseInput, IReadOnlyDictionary<string, MergeKitSetting> sliceParameters)
        {
            var gathered = new List<Gathered>();
            foreach (var (input, inputName, parameters) in sources)
            {
                string? actual = input.Source.Contains(inputName) ? inputName
                    // A tied output embedding: MergeKit reads lm_head from embed_tokens when a model has no lm_head.
                    : inputName == "lm_head.weight" && input.Source.Contains("model.embed_tokens.weight") ? "model.embed_tokens.weight" : null;
                if (actual is null) throw new FusionException($"Tensor '{inputName}' is missing from {input.Reference}.");
                gathered.Add(new Gathered(input, actual, parameters));
            }
            var info = gathered[0].Input.Source.GetInfo(gathered[0].InputName);
            foreach (var g in gathered)
                if (!g.Input.Source.GetInfo(g.InputName).Shape.SequenceEqual(info.Shape))
                    throw new FusionException($"Tensor '{g.InputName}' of {g.Input.Reference} has shape [{string.Join(", ", g.Input.Source.GetInfo(g.InputName).Shape)}], " +
                        $"but [{string.Join(", ", info.Shape)}] in {gathered[0].Input.Reference} (MergeKit's embedding cropping is not supported).");
            int baseIndex = baseInput is null ? -1 : gathered.FindIndex(g => g.Input == baseInput);
            var reference = baseIndex >= 0 ? gathered[baseIndex] : gathered[0];
            var refInfo = reference.Input.Source.GetInfo(reference.InputName);
            var outType = refInfo.IsFloatingPoint ? _outDType ?? _dtype ?? refInfo.DType : refInfo.DType;
            _outputs[name] = new OutputTensor(name, t, gathered, baseIndex, sliceParameters, refInfo with { DType = outType });
            _names.Add(name);
        }

        public string RewriteConfig(string json)
        {
            if (JsonNode.Parse(json) is not JsonObject config) return json;
            foreach (var key in new[] { "num_hidden_layers", "n_layer", "num_layers" })
                if (config.ContainsKey(key)) config[key] = Layers;
            if ((_config.OutDType ?? _config.DType) is string dtype) config["torch_dtype"] = dtype;
            return config.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
        }

        public Tensor Read(string tensorName)
        {
            var o = Output(tensorName);
            using var scope = NewDisposeScope();
            Tensor result;
            if (!o.Info.IsFloatingPoint)
            {
                var r = o.BaseIndex >= 0 ? o.Inputs[o.BaseIndex] : o.Inputs[0];
                result = r.Input.Source.Read(r.InputName).clone();
            }
            else
            {
                var computeType = o.Info.DType == ScalarType.Float64 && _dtype is null ? ScalarType.Float64 : ScalarType.Float32;
                var tensors = o.Inputs.Select(g =>
                {
                    var t = g.Input.Source.Read(g.InputName);
                    if (_dtype is { } d && t.dtype != d) t = t.to(d); // MergeKit casts every input to dtype on load
                    return t.to(computeType);
                }).ToList();
                result = Compute(o, tensors).to(o.Info.DType);
            }
            return result.MoveToOuterDisposeScope();
        }

        private double? Lookup(string parameter, Gathered? source, string tensorName, OutputTensor o)
        {
            foreach (var level in new[] { source?.Parameters, o.SliceParameters, _config.Parameters })
                if (level is not null && level.TryGetValue(parameter, out var setting) && setting.Evaluate(tensorName, o.T) is double v)
                    return v;
            return null;
        }

        private double Global(string parameter, OutputTensor o, double defaultValue) => Lookup(parameter, null, o.Name, o) ?? defaultValue;

        private double PerModel(string parameter, Gathered g, OutputTensor o, double? defaultValue) =>
            Lookup(parameter, g, g.InputName, o) ?? defaultValue
            ?? throw new FusionException($"'{_config.MergeMethod}' needs parameter '{parameter}' for {g.Input.Reference} (tensor {g.InputName}).");

        private Tensor Compute(OutputTensor o, IReadOnlyList<Tensor> tensors)
        {
            string method = _config.MergeMethod;
            var others = Enumerable.Range(0, tensors.Count).Where(i => i != o.BaseIndex).ToList();
            Tensor Base() => o.BaseIndex >= 0 ? tensors[o.BaseIndex] : throw new FusionException($"'{method}' needs a base_model among the inputs of {o.Name}.");
            switch (method)
            {
                case "linear":
                {
                    var weights = o.Inputs.Select(g => PerModel("weight", g, o, null)).ToList();
                    var sum = zeros_like(tensors[0]);
                    for (int i = 0; i < tensors.Count; i++) sum.add_(tensors[i].mul(weights[i]));
                    // MergeKit divides by Σw with no guard against 0.
                    return Global("normalize", o, 1) != 0 ? sum.div_(weights.Sum()) : sum;
                }
                case "slerp":
                {
                    if (tensors.Count == 1) return tensors[0].clone();
                    if (tensors.Count != 2) throw new FusionException($"slerp merges exactly two models (the base and one other); {o.Name} has {tensors.Count}.");
                    double t = Lookup("t", null, o.Name, o) ?? throw new FusionException("slerp needs parameter 't'.");
                    return TaskVectorKernels.Slerp(t, Base(), tensors[others[0]]);
                }
                case "nuslerp":
                {
                    if (tensors.Count == 1) return tensors[0].clone();
                    if (others.Count != 2) throw new FusionException($"nuslerp merges exactly two models (plus an optional base); {o.Name} has {others.Count}.");
                    double t = NuSlerpKernel.Factor(PerModel("weight", o.Inputs[others[0]], o, null), PerModel("weight", o.Inputs[others[1]], o, null));
                    int dim = Global("nuslerp_row_wise", o, 0) != 0 ? 0 : -1;
                    bool flatten = Global("nuslerp_flatten", o, 1) != 0;
                    if (o.BaseIndex < 0) return NuSlerpKernel.Interpolate(t, tensors[others[0]], tensors[others[1]], dim, flatten);
                    var p = Base();
                    return NuSlerpKernel.Interpolate(t, tensors[others[0]].sub(p), tensors[others[1]].sub(p), dim, flatten).add_(p);
                }
                case "karcher":
                    return KarcherKernel.Merge(tensors, Enumerable.Repeat(1.0 / tensors.Count, tensors.Count).ToList(),
                        (int)Global("max_iter", o, 10), Global("tol", o, 1e-5));
                case "model_stock":
                {
                    if (tensors.Count == 1 && o.BaseIndex == 0) return tensors[0].clone();
                    if (others.Count < 2) throw new FusionException($"model_stock needs the base plus at least two models; {o.Name} has {tensors.Count} inputs.");
                    return ModelStockKernel.MergeKit(Base(), others.Select(i => tensors[i]).ToList(), Global("filter_wise", o, 0) != 0);
                }
                case "passthrough":
                {
                    if (tensors.Count != 1) throw new FusionException($"passthrough takes exactly one model per slice; {o.Name} has {tensors.Count}.");
                    return Lookup("scale", o.Inputs[0], o.Inputs[0].InputName, o) is double scale ? tensors[0].mul(scale) : tensors[0].clone();
                }
                default:
                {
                    var variant = MergeKitVariant.Presets[method];
                    var perModel = variant.PerModelParameters.ToDictionary(p => p, p => (IReadOnlyList<double>)others.Select(i =>
                        PerModel(p, o.Inputs[i], o, MergeKitVariant.PerModelDefault(p))).ToList());
                    var global = new Dictionary<string, double>
                    {
                        ["normalize"] = Global("normalize", o, variant.DefaultNormalize ? 1 : 0),
                        ["rescale"] = Global("rescale", o, variant.DefaultRescale ? 1 : 0),
                        ["lambda"] = Global("lambda", o, 1.0),
                    };
                    return MergeKitTaskArithmetic.MergeTensor(variant, o.Name, Base(), others.Select(i => tensors[i]).ToList(),
                        new ConstantMergeParameterSchedule(global, perModel), _options.Seed);
                }
            }
        }

        public void Dispose()
        {
            foreach (var input in _inputs.Values) input.Dispose();
            _inputs.Clear();
        }
    }

    private static ScalarType? DType(string? name, string key) => name switch
    {
        null => null,
        "float32" or "fp32" => ScalarType.Float32,
        "float16" or "fp16" or "half" => ScalarType.Float16,
        "bfloat16" or "bf16" => ScalarType.BFloat16,
        "float64" => ScalarType.Float64,
        _ => throw new FusionException($"{key} '{name}' is not supported (float32, float16, bfloat16, float64)."),
    };

    /// <summary>Layers of a model: config.json's num_hidden_layers (n_layer, num_layers), else the highest layer index + 1.</summary>
    private static int CountLayers(string path, IWeightSource source)
    {
        string config = Path.Combine(Directory.Exists(path) ? path : Path.GetDirectoryName(path) ?? ".", "config.json");
        if (File.Exists(config) && JsonNode.Parse(File.ReadAllText(config)) is JsonObject c)
            foreach (var key in new[] { "num_hidden_layers", "n_layer", "num_layers" })
                if (c[key] is JsonValue v && v.TryGetValue(out int n)) return n;
        int max = -1;
        foreach (var n in source.TensorNames)
            if (LayerName.Match(n) is { Success: true } m) max = Math.Max(max, int.Parse(m.Groups["index"].Value, CultureInfo.InvariantCulture));
        return max + 1;
    }
}

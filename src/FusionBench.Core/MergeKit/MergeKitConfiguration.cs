using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace FusionBench.Core.MergeKit;

/// <summary>A model of a MergeKit configuration (<c>model:</c> entry or slice source), with its per-model parameters.</summary>
/// <param name="Model">The model reference as written (a path).</param>
/// <param name="LayerRange">A slice source's half-open layer range, or null for a <c>models:</c> entry (all layers).</param>
/// <param name="Parameters">Per-model parameters by name.</param>
public sealed record MergeKitSource(string Model, (int Start, int End)? LayerRange, IReadOnlyDictionary<string, MergeKitSetting> Parameters);

/// <summary>A slice: sources of equal length merged layer by layer (slices are stacked in order).</summary>
/// <param name="Sources">The sources.</param>
/// <param name="BaseModel">The slice's base model, overriding the configuration's, or null.</param>
/// <param name="Parameters">Slice-level parameters.</param>
public sealed record MergeKitSlice(IReadOnlyList<MergeKitSource> Sources, string? BaseModel, IReadOnlyDictionary<string, MergeKitSetting> Parameters);

/// <summary>
/// A MergeKit merge configuration (the YAML that <c>mergekit-yaml</c> takes), as far as FusionBench.Core runs it:
/// <c>merge_method</c>, <c>base_model</c>, <c>models</c> or <c>slices</c> (with <c>sources</c>, <c>layer_range</c>),
/// global and per-model <c>parameters</c> (numbers, gradients, filters), <c>dtype</c>, <c>out_dtype</c> and
/// <c>tokenizer_source: base</c>. Any other key is an error that names it (see <see cref="Parse"/>).
/// </summary>
public sealed class MergeKitConfiguration
{
    private static readonly HashSet<string> TopKeys = new(StringComparer.Ordinal)
        { "merge_method", "base_model", "models", "slices", "parameters", "dtype", "out_dtype", "tokenizer_source", "name" };

    /// <summary>MergeKit's method name.</summary>
    public required string MergeMethod { get; init; }

    /// <summary>The base model, or null.</summary>
    public string? BaseModel { get; init; }

    /// <summary>The slices (a <c>models:</c> configuration is one slice whose sources span all layers).</summary>
    public required IReadOnlyList<MergeKitSlice> Slices { get; init; }

    /// <summary>Whether the configuration was written with <c>models:</c> (MergeKit then adds the base model as the last source).</summary>
    public bool FromModels { get; init; }

    /// <summary>Global parameters.</summary>
    public IReadOnlyDictionary<string, MergeKitSetting> Parameters { get; init; } = new Dictionary<string, MergeKitSetting>();

    /// <summary>The dtype every input is cast to on load, or null.</summary>
    public string? DType { get; init; }

    /// <summary>The dtype of the written tensors, or null (then <see cref="DType"/>, else each tensor's own).</summary>
    public string? OutDType { get; init; }

    /// <summary>Reads a configuration file.</summary>
    /// <exception cref="FusionException">The file is not a valid configuration, or uses a key this project does not support.</exception>
    public static MergeKitConfiguration Load(string path)
    {
        if (!File.Exists(path)) throw new FusionException($"MergeKit configuration '{path}' does not exist.");
        return Parse(File.ReadAllText(path), path);
    }

    /// <summary>Parses a configuration's YAML text.</summary>
    /// <param name="yaml">The text.</param>
    /// <param name="label">The file name used in errors.</param>
    public static MergeKitConfiguration Parse(string yaml, string label = "configuration")
    {
        YamlMappingNode root;
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(yaml));
            root = stream.Documents.Count == 1 && stream.Documents[0].RootNode is YamlMappingNode m
                ? m : throw new FusionException($"{label}: a MergeKit configuration is one YAML mapping.");
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new FusionException($"{label}: not valid YAML ({e.Start.Line}:{e.Start.Column}: {e.Message}).");
        }
        var keys = Keys(root, label, TopKeys, "key");
        string method = Text(Require(root, "merge_method", label), $"{label}: merge_method");
        string? baseModel = keys.TryGetValue("base_model", out var b) ? ModelName(b, $"{label}: base_model") : null;
        if (keys.TryGetValue("tokenizer_source", out var tok) && Text(tok, $"{label}: tokenizer_source") is var ts && ts != "base")
            throw new FusionException($"{label}: tokenizer_source '{ts}' is not supported (only 'base': the base model's tokenizer is copied).");
        bool hasModels = keys.ContainsKey("models"), hasSlices = keys.ContainsKey("slices");
        if (hasModels == hasSlices)
            throw new FusionException($"{label}: give exactly one of 'models' or 'slices'.");
        List<MergeKitSlice> slices;
        if (hasModels)
        {
            var sources = Sequence(keys["models"], $"{label}: models").Select((n, i) => Source(n, $"{label}: models[{i}]", slice: false)).ToList();
            slices = new() { new MergeKitSlice(sources, null, new Dictionary<string, MergeKitSetting>()) };
        }
        else
        {
            slices = Sequence(keys["slices"], $"{label}: slices").Select((n, i) =>
            {
                string where = $"{label}: slices[{i}]";
                var map = n as YamlMappingNode ?? throw new FusionException($"{where} must be a mapping.");
                var sk = Keys(map, where, new HashSet<string> { "sources", "base_model", "parameters", "residual_weight" }, "key");
                var sources = Sequence(Require(map, "sources", where), $"{where}.sources").Select((s, j) => Source(s, $"{where}.sources[{j}]", slice: true)).ToList();
                if (sources.Count == 0) throw new FusionException($"{where}.sources is empty.");
                return new MergeKitSlice(sources, sk.TryGetValue("base_model", out var sb) ? ModelName(sb, $"{where}.base_model") : null,
                    sk.TryGetValue("parameters", out var sp) ? ParameterMap(sp, $"{where}.parameters") : new Dictionary<string, MergeKitSetting>());
            }).ToList();
            if (slices.Count == 0) throw new FusionException($"{label}: slices is empty.");
        }
        return new MergeKitConfiguration
        {
            MergeMethod = method,
            BaseModel = baseModel,
            Slices = slices,
            FromModels = hasModels,
            Parameters = keys.TryGetValue("parameters", out var p) ? ParameterMap(p, $"{label}: parameters") : new Dictionary<string, MergeKitSetting>(),
            DType = keys.TryGetValue("dtype", out var d) ? Text(d, $"{label}: dtype") : null,
            OutDType = keys.TryGetValue("out_dtype", out var o) ? Text(o, $"{label}: out_dtype") : null,
        };
    }

    private static MergeKitSource Source(YamlNode node, string where, bool slice)
    {
        var map = node as YamlMappingNode ?? throw new FusionException($"{where} must be a mapping with 'model'.");
        var allowed = slice ? new HashSet<string> { "model", "layer_range", "parameters" } : new HashSet<string> { "model", "parameters" };
        var keys = Keys(map, where, allowed, "key");
        string model = ModelName(Require(map, "model", where), $"{where}.model");
        (int, int)? range = null;
        if (keys.TryGetValue("layer_range", out var lr))
        {
            var items = Sequence(lr, $"{where}.layer_range");
            if (items.Count != 2) throw new FusionException($"{where}.layer_range must be [start, end].");
            int start = Int(items[0], $"{where}.layer_range"), end = Int(items[1], $"{where}.layer_range");
            if (start < 0 || end <= start) throw new FusionException($"{where}.layer_range [{start}, {end}] is empty or negative.");
            range = (start, end);
        }
        else if (slice) throw new FusionException($"{where} needs a layer_range.");
        return new MergeKitSource(model, range, keys.TryGetValue("parameters", out var p) ? ParameterMap(p, $"{where}.parameters") : new Dictionary<string, MergeKitSetting>());
    }

    private static string ModelName(YamlNode node, string where)
    {
        // MergeKit also takes {model: {path: ...}} and "path+lora"/"path@revision"; those need the hub or a LoRA merge.
        if (node is YamlMappingNode m && m.Children.Count == 1 && m.Children.TryGetValue(new YamlScalarNode("path"), out var path))
            return Text(path, where);
        return Text(node, where);
    }

    private static IReadOnlyDictionary<string, MergeKitSetting> ParameterMap(YamlNode node, string where)
    {
        var map = node as YamlMappingNode ?? throw new FusionException($"{where} must be a mapping of parameter names to values.");
        return map.Children.ToDictionary(kv => Text(kv.Key, where), kv => Setting(kv.Value, $"{where}.{Text(kv.Key, where)}"), StringComparer.Ordinal);
    }

    private static MergeKitSetting Setting(YamlNode node, string where)
    {
        switch (node)
        {
            case YamlScalarNode s:
                return new MergeKitSetting.Scalar(Number(s, where));
            case YamlSequenceNode seq when seq.Children.All(c => c is YamlScalarNode):
                if (seq.Children.Count == 0) throw new FusionException($"{where}: an empty list is not a value.");
                return new MergeKitSetting.Gradient(seq.Children.Select(c => Number((YamlScalarNode)c, where)).ToList());
            case YamlSequenceNode seq when seq.Children.All(c => c is YamlMappingNode):
                return new MergeKitSetting.Conditional(seq.Children.Cast<YamlMappingNode>().Select((c, i) =>
                {
                    var k = Keys(c, $"{where}[{i}]", new HashSet<string> { "filter", "value" }, "key");
                    string? filter = k.TryGetValue("filter", out var f) ? Text(f, $"{where}[{i}].filter") : null;
                    return (filter, Setting(Require(c, "value", $"{where}[{i}]"), $"{where}[{i}].value"));
                }).ToList());
            case YamlMappingNode:
                throw new FusionException($"{where}: a single {{filter, value}} mapping is not a value (MergeKit rejects it too); write it as a list of conditions.");
            default:
                throw new FusionException($"{where}: expected a number, a list of numbers, or a list of {{filter, value}} conditions.");
        }
    }

    private static double Number(YamlScalarNode s, string where)
    {
        string v = s.Value ?? "";
        if (v is "true" or "True") return 1;
        if (v is "false" or "False") return 0;
        if (double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double d)) return d;
        throw new FusionException($"{where}: '{v}' is not a number (string-valued parameters are not supported).");
    }

    private static int Int(YamlNode node, string where) =>
        int.TryParse(Text(node, where), NumberStyles.Integer, CultureInfo.InvariantCulture, out int i) ? i : throw new FusionException($"{where}: '{Text(node, where)}' is not an integer.");

    private static string Text(YamlNode node, string where) =>
        node is YamlScalarNode { Value: { } v } ? v : throw new FusionException($"{where} must be a single value.");

    private static IReadOnlyList<YamlNode> Sequence(YamlNode node, string where) =>
        node is YamlSequenceNode s ? s.Children.ToList() : throw new FusionException($"{where} must be a list.");

    private static YamlNode Require(YamlMappingNode map, string key, string where) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var v) ? v : throw new FusionException($"{where}: '{key}' is missing.");

    private static Dictionary<string, YamlNode> Keys(YamlMappingNode map, string where, ISet<string> allowed, string what)
    {
        var result = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var (k, v) in map.Children)
        {
            string key = Text(k, where);
            if (!allowed.Contains(key))
                throw new FusionException($"{where}: {what} '{key}' is not supported by FusionBench.Core's MergeKit runner (supported: {string.Join(", ", allowed.Order())}).");
            result[key] = v;
        }
        return result;
    }
}

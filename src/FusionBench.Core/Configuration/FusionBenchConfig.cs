using System.Text.Json;
using System.Text.Json.Nodes;
using FusionBench.Core.DependencyInjection;
using FusionBench.Core.ModelPools.HuggingFace;
using YamlDotNet.RepresentationModel;

namespace FusionBench.Core.Configuration;

/// <summary>
/// An experiment config in FusionBench's shape — <c>method</c>, <c>modelpool</c> (<c>models</c> with
/// <c>_pretrained_</c>, <c>train_datasets</c>, <c>heads</c>) and <c>taskpool</c> (<c>test_datasets</c>) — read from
/// YAML or JSON and held as flat dotted keys (<c>method.scaling_factor</c>, <c>modelpool.models.sun397</c>). The CLI's
/// <c>fusionbench run --config</c> reads the same files.
/// </summary>
public sealed class FusionBenchConfig
{
    /// <summary>Creates a config from flat dotted keys.</summary>
    public FusionBenchConfig(IReadOnlyDictionary<string, string> values) => Values = values ?? throw new ArgumentNullException(nameof(values));

    /// <summary>Flat dotted keys → text values (lists as <c>[a,b]</c>).</summary>
    public IReadOnlyDictionary<string, string> Values { get; }

    /// <summary>A value, or null.</summary>
    public string? Get(string key) => Values.TryGetValue(key, out var v) ? v : null;

    /// <summary><c>method.name</c>.</summary>
    /// <exception cref="FusionException">The config names no method.</exception>
    public string MethodName => Get("method.name") ?? throw new FusionException("The config has no method.name.");

    /// <summary>The method's parameters: every <c>method.*</c> key but <c>name</c>, with FusionBench's names.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> MethodParameters =>
        Values.Where(kv => kv.Key.StartsWith("method.", StringComparison.Ordinal) && kv.Key != "method.name")
              .Select(kv => new KeyValuePair<string, string>(kv.Key["method.".Length..], kv.Value)).ToList();

    /// <summary>The pretrained model: <c>modelpool.models._pretrained_</c> (FusionBench's key) or <c>modelpool.pretrained</c>.</summary>
    public string? Pretrained => Get("modelpool.pretrained") ?? Get("modelpool.models._pretrained_");

    /// <summary>The entries of a map section (<c>modelpool.models</c>, <c>taskpool.test_datasets</c>, …), in file order.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Map(string section)
    {
        string prefix = section + ".";
        return Values.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal) && kv.Key.IndexOf('.', prefix.Length) < 0)
            .Select(kv => new KeyValuePair<string, string>(kv.Key[prefix.Length..], kv.Value)).ToList();
    }

    /// <summary>Reads a YAML (<c>.yaml</c>/<c>.yml</c>) or JSON (<c>.json</c>) file.</summary>
    /// <exception cref="FusionException">No such file, or it does not parse; the message names it.</exception>
    public static FusionBenchConfig Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FusionException($"Config not found: {path}");
        bool json = path.EndsWith(".json", StringComparison.OrdinalIgnoreCase);
        try { return new FusionBenchConfig(Flatten(File.ReadAllText(path), json)); }
        catch (FormatException e) { throw new FusionException($"{path}: {e.Message}"); }
    }

    /// <summary>Flattens YAML or JSON text into dotted keys; an empty YAML value means "use the default" and is left out.</summary>
    /// <exception cref="FormatException">The text does not parse or is empty.</exception>
    public static Dictionary<string, string> Flatten(string text, bool json)
    {
        var flat = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            if (json) FlattenJson(JsonNode.Parse(text) ?? throw new FormatException("the file is empty."), "", flat);
            else
            {
                var yaml = new YamlStream();
                yaml.Load(new StringReader(text));
                if (yaml.Documents.Count == 0) throw new FormatException("the file is empty.");
                FlattenYaml(yaml.Documents[0].RootNode, "", flat);
            }
        }
        catch (Exception e) when (e is JsonException or YamlDotNet.Core.YamlException)
        {
            throw new FormatException($"not valid {(json ? "JSON" : "YAML")}: {e.Message}", e);
        }
        return flat;
    }

    /// <summary>The configured method, from the registered ones, with the config's parameters.</summary>
    public IFusionAlgorithm CreateAlgorithm(IFusionAlgorithmProvider provider) =>
        (provider ?? throw new ArgumentNullException(nameof(provider))).Create(MethodName, MethodParameters);

    /// <summary>The model pool of Hugging Face folders and data files the config names.</summary>
    /// <exception cref="FusionException">No pretrained model or no fine-tuned model, or a bad <c>modelpool.max_length</c>.</exception>
    public HuggingFacePoolOptions ToPoolOptions()
    {
        string pretrained = Pretrained ?? throw new FusionException("The config names no pretrained model (modelpool.models._pretrained_).");
        var models = Map("modelpool.models").Where(kv => kv.Key != "_pretrained_").ToList();
        if (models.Count == 0) throw new FusionException("The config names no fine-tuned model (modelpool.models).");
        int maxLength = 128;
        if (Get("modelpool.max_length") is string ml && (!int.TryParse(ml, System.Globalization.CultureInfo.InvariantCulture, out maxLength) || maxLength <= 0))
            throw new FusionException($"modelpool.max_length must be a positive integer, got '{ml}'.");
        static Dictionary<string, string> Dict(IEnumerable<KeyValuePair<string, string>> e) => e.ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        return new HuggingFacePoolOptions
        {
            Pretrained = pretrained, Models = models, TrainData = Dict(Map("modelpool.train_datasets")), TestData = Dict(Map("taskpool.test_datasets")),
            Heads = Dict(Map("modelpool.heads")), MaxLength = maxLength,
        };
    }

    private static void FlattenJson(JsonNode node, string prefix, Dictionary<string, string> flat)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (k, v) in o)
                    if (v is not null) FlattenJson(v, prefix.Length == 0 ? k : $"{prefix}.{k}", flat);
                break;
            case JsonArray a:
                flat[prefix] = "[" + string.Join(",", a.Select(x => x is JsonValue jv && jv.TryGetValue<string>(out var s) ? s : x?.ToJsonString() ?? "null")) + "]";
                break;
            case JsonValue v:
                flat[prefix] = v.TryGetValue<string>(out var str) ? str : v.ToJsonString();
                break;
        }
    }

    private static void FlattenYaml(YamlNode node, string prefix, Dictionary<string, string> flat)
    {
        switch (node)
        {
            case YamlMappingNode m:
                foreach (var (k, v) in m.Children)
                {
                    string key = ((YamlScalarNode)k).Value ?? "";
                    FlattenYaml(v, prefix.Length == 0 ? key : $"{prefix}.{key}", flat);
                }
                break;
            case YamlSequenceNode s:
                flat[prefix] = "[" + string.Join(",", s.Children.Select(c => (c as YamlScalarNode)?.Value ?? "")) + "]";
                break;
            case YamlScalarNode sc:
                if (sc.Value is null or "" or "null" or "~") return; // an empty value means: use the default
                flat[prefix] = sc.Value;
                break;
        }
    }
}

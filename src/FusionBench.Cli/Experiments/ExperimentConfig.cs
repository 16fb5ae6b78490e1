using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using FusionBench.Core.Configuration;

namespace FusionBench.Cli.Experiments;

/// <summary>
/// An experiment in FusionBench's spirit: a <c>method</c>, a <c>modelpool</c> and a <c>taskpool</c> section, read from
/// YAML or JSON and held as flat dotted keys (<c>method.scaling_factor</c>) so command-line overrides and sweeps apply
/// uniformly.
/// </summary>
internal sealed class ExperimentConfig
{
    public static readonly IReadOnlyList<string> ModelPoolKeys = new[] { "suite", "fine_tuning", "tasks", "zoo_dir", "data", "pretrained", "models", "train_datasets", "heads", "max_length", "_target_" };
    public static readonly IReadOnlyList<string> TaskPoolKeys = new[] { "corruption", "severity", "seed", "batch_size", "test_datasets", "_target_" };

    /// <summary>Keys that are maps by task (or model) name: <c>modelpool.models.NAME</c>, …</summary>
    private static readonly IReadOnlyList<string> MapKeys = new[] { "models", "train_datasets", "heads", "test_datasets" };
    public static readonly IReadOnlyList<string> OutputKeys = new[] { "save_weights" };

    public ExperimentConfig(IReadOnlyDictionary<string, string> values) => Values = values;

    /// <summary>Flat dotted keys → text values (lists as <c>[a,b]</c>).</summary>
    public IReadOnlyDictionary<string, string> Values { get; }

    public string Method => Values.TryGetValue("method.name", out var m) ? m : throw new CliException("The experiment has no method.name.");

    /// <summary>The method's parameters (every <c>method.*</c> key but <c>name</c>).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> MethodParameters =>
        Values.Where(kv => kv.Key.StartsWith("method.", StringComparison.Ordinal) && kv.Key != "method.name")
              .Select(kv => new KeyValuePair<string, string>(kv.Key["method.".Length..], kv.Value)).ToList();

    public string? Get(string key) => Values.TryGetValue(key, out var v) ? v : null;

    /// <summary>Reads a YAML (.yaml/.yml) or JSON file (parsed by the library's <see cref="FusionBenchConfig"/>).</summary>
    public static ExperimentConfig Load(string path)
    {
        if (!File.Exists(path)) throw new CliException($"Experiment config not found: {path}");
        Dictionary<string, string> flat;
        try { flat = FusionBenchConfig.Flatten(File.ReadAllText(path), path.EndsWith(".json", StringComparison.OrdinalIgnoreCase)); }
        catch (FormatException e) { throw new CliException($"{path} is {e.Message}"); }
        var config = new ExperimentConfig(flat);
        config.ValidateKeys(path);
        return config;
    }

    /// <summary>A config from a method name and parameters (what <c>fusionbench run --method</c> builds).</summary>
    public static ExperimentConfig FromMethod(string method, IEnumerable<KeyValuePair<string, string>> parameters, string suite)
    {
        var flat = new Dictionary<string, string>(StringComparer.Ordinal) { ["method.name"] = method, ["modelpool.suite"] = suite };
        foreach (var (k, v) in parameters) flat["method." + k] = v;
        return new ExperimentConfig(flat);
    }

    /// <summary>
    /// Applies <c>key=value</c> overrides; a value with top-level commas (<c>method.scaling_factor=0.1,0.2</c>) is a sweep.
    /// </summary>
    /// <returns>One config per combination of swept values, with a label naming the swept values.</returns>
    public IReadOnlyList<(string Label, ExperimentConfig Config)> WithOverrides(IEnumerable<string> overrides)
    {
        var combos = new List<(string Label, Dictionary<string, string> Values)> { ("", new Dictionary<string, string>(Values, StringComparer.Ordinal)) };
        foreach (var o in overrides)
        {
            int eq = o.IndexOf('=');
            if (eq <= 0) throw new CliException($"An override must be KEY=VALUE (e.g. method.scaling_factor=0.4), got '{o}'.");
            string key = o[..eq].Trim(), value = o[(eq + 1)..].Trim();
            var values = SplitTopLevel(value);
            var next = new List<(string, Dictionary<string, string>)>();
            foreach (var (label, map) in combos)
                foreach (var v in values)
                {
                    var copy = new Dictionary<string, string>(map, StringComparer.Ordinal) { [key] = v };
                    next.Add((values.Count > 1 ? (label.Length > 0 ? label + "," : "") + $"{key}={v}" : label, copy));
                }
            combos = next;
        }
        var result = combos.Select(c => (c.Label, new ExperimentConfig(c.Values))).ToList();
        foreach (var (_, c) in result) c.ValidateKeys("the overrides");
        return result;
    }

    private void ValidateKeys(string where)
    {
        foreach (var key in Values.Keys)
        {
            var parts = key.Split('.');
            string section = parts[0];
            string sub = parts.Length > 1 ? parts[1] : "";
            bool ok = section switch
            {
                "method" => parts.Length == 2,
                "modelpool" => ModelPoolKeys.Contains(sub) && parts.Length == (MapKeys.Contains(sub) ? 3 : 2),
                "taskpool" => TaskPoolKeys.Contains(sub) && parts.Length == (MapKeys.Contains(sub) ? 3 : 2),
                "output" => OutputKeys.Contains(sub) && parts.Length == 2,
                _ => false,
            };
            if (ok) continue;
            string allowed = section switch
            {
                "modelpool" => string.Join(", ", ModelPoolKeys.Select(k => "modelpool." + k)),
                "taskpool" => string.Join(", ", TaskPoolKeys.Select(k => "taskpool." + k)),
                "output" => string.Join(", ", OutputKeys.Select(k => "output." + k)),
                _ => "method.name and method.<parameter>, modelpool.*, taskpool.*, output.*",
            };
            throw new CliException($"Unknown key '{key}' in {where}. Allowed: {allowed}.");
        }
        // FusionBench's class names are accepted as documentation of where a config came from; anything else is an error.
        foreach (var (section, package) in new[] { ("modelpool", "fusion_bench.modelpool."), ("taskpool", "fusion_bench.taskpool.") })
            if (Values.TryGetValue(section + "._target_", out var target) && !target.StartsWith(package, StringComparison.Ordinal))
                throw new CliException($"{section}._target_ '{target}' in {where} is not a FusionBench {section} class ({package}…).");
        if (Values.TryGetValue("taskpool.severity", out var s) && (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int sev) || sev is < 1 or > 5))
            throw new CliException($"taskpool.severity must be an integer 1–5, got '{s}'.");
        if (Values.TryGetValue("modelpool.fine_tuning", out var f) && f is not ("full" or "lora"))
            throw new CliException($"modelpool.fine_tuning must be full or lora, got '{f}'.");
        if (Values.TryGetValue("output.save_weights", out var w) && w is not ("true" or "false"))
            throw new CliException($"output.save_weights must be true or false, got '{w}'.");
    }

    private static List<string> SplitTopLevel(string value)
    {
        var parts = new List<string>();
        int depth = 0, start = 0;
        for (int i = 0; i < value.Length; i++)
        {
            if (value[i] is '[' or '(') depth++;
            else if (value[i] is ']' or ')') depth--;
            else if (value[i] == ',' && depth == 0)
            {
                parts.Add(value[start..i].Trim());
                start = i + 1;
            }
        }
        parts.Add(value[start..].Trim());
        return parts;
    }

    /// <summary>The resolved config as YAML (nested sections), for the run folder.</summary>
    public string ToYaml()
    {
        var root = new SortedDictionary<string, object>(StringComparer.Ordinal);
        foreach (var (key, value) in Values)
        {
            var parts = key.Split('.');
            var node = root;
            for (int i = 0; i < parts.Length - 1; i++)
            {
                if (!node.TryGetValue(parts[i], out var child)) node[parts[i]] = child = new SortedDictionary<string, object>(StringComparer.Ordinal);
                node = (SortedDictionary<string, object>)child;
            }
            node[parts[^1]] = value;
        }
        return new YamlDotNet.Serialization.SerializerBuilder().Build().Serialize(root);
    }
}

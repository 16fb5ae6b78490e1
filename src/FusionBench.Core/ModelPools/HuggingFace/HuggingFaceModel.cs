using System.Text.Json;
using FusionBench.Core.Checkpoints;
using FusionBench.Core.Models;
using static TorchSharp.torch;

namespace FusionBench.Core.ModelPools.HuggingFace;

/// <summary>
/// A Hugging Face model folder (<c>config.json</c> and weights) opened as what the fusion methods need: the
/// architecture its <c>model_type</c> names, the backbone's weights under the names that architecture reads, and the
/// classification head the checkpoint carries (or a head file).
/// </summary>
/// <remarks>
/// Supported: <c>bert</c> (<c>BertForSequenceClassification</c>: backbone <c>bert.*</c>, pooler on the first token,
/// head <c>classifier.weight</c>/<c>bias</c>; <c>BertModel</c>: mean pooling, head from a file) and the CLIP vision
/// tower (<c>clip_vision_model</c>, or the <c>vision_model.*</c> tensors of a <c>clip</c> checkpoint; head from a file).
/// Anything else is a <see cref="FusionException"/> naming the folder and what is not supported.
/// </remarks>
public sealed class HuggingFaceModel : IDisposable
{
    private HuggingFaceModel(string folder, string modelType, IFunctionalModel architecture, IWeightSource backbone, StateDict? head,
        IReadOnlyList<string>? labels)
    {
        Folder = folder;
        ModelType = modelType;
        Architecture = architecture;
        Backbone = backbone;
        Head = head;
        Labels = labels;
    }

    /// <summary>The folder.</summary>
    public string Folder { get; }

    /// <summary><c>config.json</c>'s <c>model_type</c>.</summary>
    public string ModelType { get; }

    /// <summary>The architecture, configured from <c>config.json</c>.</summary>
    public IFunctionalModel Architecture { get; }

    /// <summary>The backbone's weights under the architecture's names (read lazily).</summary>
    public IWeightSource Backbone { get; }

    /// <summary>The classification head (<c>weight</c> [classes, features], optional <c>bias</c>), or null if there is none.</summary>
    public StateDict? Head { get; }

    /// <summary>Class names in label-id order (<c>id2label</c>), or null when the config has none.</summary>
    public IReadOnlyList<string>? Labels { get; }

    /// <summary>The tokenizer's vocabulary (<c>vocab.txt</c>) next to the weights, or null.</summary>
    public string? VocabularyFile => File.Exists(Path.Combine(Folder, "vocab.txt")) ? Path.Combine(Folder, "vocab.txt") : null;

    /// <summary>Opens a Hugging Face model folder.</summary>
    /// <param name="folder">The folder with <c>config.json</c> and <c>model.safetensors</c> (or shards, or <c>pytorch_model.bin</c>).</param>
    /// <param name="headFile">A head checkpoint (<c>weight</c>, optional <c>bias</c>) used instead of the checkpoint's own
    /// head, or for architectures without one (CLIP's zero-shot heads, a sentence encoder); null for the checkpoint's.</param>
    /// <exception cref="FusionException">No <c>config.json</c>, an unsupported <c>model_type</c> or architecture, a tensor
    /// the architecture lacks or does not know, or a head that does not fit; the message names the file.</exception>
    public static HuggingFaceModel Open(string folder, string? headFile = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        string configPath = Path.Combine(folder, "config.json");
        if (!Directory.Exists(folder)) throw new FusionException($"{folder}: no such model folder.");
        if (!File.Exists(configPath)) throw new FusionException($"{folder}: no config.json (a Hugging Face model folder needs one to name its architecture).");
        JsonElement config;
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllText(configPath));
            config = doc.RootElement.Clone();
        }
        catch (JsonException e) { throw new FusionException($"{configPath}: not valid JSON ({e.Message})."); }
        string modelType = config.TryGetProperty("model_type", out var mt) && mt.ValueKind == JsonValueKind.String ? mt.GetString()! : "";
        var architectures = config.TryGetProperty("architectures", out var a) && a.ValueKind == JsonValueKind.Array
            ? a.EnumerateArray().Select(x => x.GetString() ?? "").ToList() : new List<string>();
        IWeightSource weights;
        try { weights = Checkpoint.Open(folder); }
        catch (FileNotFoundException e) { throw new FusionException(e.Message); }
        try
        {
            return modelType switch
            {
                "bert" => OpenBert(folder, configPath, config, architectures, weights, headFile),
                "clip_vision_model" => OpenClip(folder, configPath, config, weights, headFile, modelType),
                "clip" => OpenClip(folder, configPath, config.TryGetProperty("vision_config", out var v) ? v
                    : throw new FusionException($"{configPath}: a 'clip' config without vision_config."), weights, headFile, modelType),
                _ => throw new FusionException($"{configPath}: model_type '{modelType}' is not supported (supported: bert, clip_vision_model, clip)."),
            };
        }
        catch
        {
            weights.Dispose();
            throw;
        }
    }

    private static HuggingFaceModel OpenBert(string folder, string configPath, JsonElement config, List<string> architectures, IWeightSource weights, string? headFile)
    {
        bool classifier = architectures.Contains("BertForSequenceClassification");
        if (architectures.FirstOrDefault(x => x is not ("BertModel" or "BertForSequenceClassification")) is string other)
            throw new FusionException($"{configPath}: architecture '{other}' is not supported for bert (supported: BertModel, BertForSequenceClassification).");
        BertConfig bert;
        try { bert = BertConfig.FromHuggingFace(config.GetRawText(), classifier ? BertPooling.Pooler : BertPooling.Mean); }
        catch (FormatException e) { throw new FusionException($"{configPath}: {e.Message}"); }
        var model = new BertModel(bert);
        // A classifier's backbone is under "bert."; a BertModel's is at the top (or under "bert." when saved from a wrapper).
        string prefix = weights.TensorNames.Any(n => n.StartsWith("bert.", StringComparison.Ordinal)) ? "bert." : "";
        var headNames = classifier ? new[] { "classifier.weight", "classifier.bias" } : Array.Empty<string>();
        var backbone = Renamed.Create(weights, prefix, model.Parameters.Keys, headNames, folder,
            // The position ids buffer and a classifier's unused pooler are not weights this forward reads.
            optional: n => n is "embeddings.position_ids" || (!classifier && n.StartsWith("pooler.", StringComparison.Ordinal)));
        StateDict? head = headFile is not null ? LoadHead(headFile) : classifier ? ReadHead(weights, "classifier.", folder) : null;
        var labels = ReadLabels(config);
        CheckHead(head, bert.HiddenSize, labels, headFile ?? folder);
        return new HuggingFaceModel(folder, "bert", model, backbone, head, labels);
    }

    private static HuggingFaceModel OpenClip(string folder, string configPath, JsonElement vision, IWeightSource weights, string? headFile, string modelType)
    {
        string act = vision.TryGetProperty("hidden_act", out var h) ? h.GetString() ?? "quick_gelu" : "quick_gelu";
        if (act != "quick_gelu") throw new FusionException($"{configPath}: hidden_act '{act}' is not supported for CLIP (quick_gelu is).");
        int I(string name, int fallback) => vision.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number ? v.GetInt32() : fallback;
        ClipVisionConfig clip;
        try
        {
            clip = new ClipVisionConfig(I("image_size", 224), I("patch_size", 32), I("hidden_size", 768), I("intermediate_size", 3072),
                I("num_hidden_layers", 12), I("num_attention_heads", 12), I("num_channels", 3),
                vision.TryGetProperty("layer_norm_eps", out var eps) ? eps.GetDouble() : 1e-5);
            clip.Validate();
        }
        catch (ArgumentException e) { throw new FusionException($"{configPath}: {e.Message}"); }
        var model = new ClipVisionModel(clip);
        // A full CLIP checkpoint also holds the text tower and projections: only the vision tower is the backbone.
        var backbone = Renamed.Create(weights, "", model.Parameters.Keys, Array.Empty<string>(), folder,
            optional: n => n.EndsWith("position_ids", StringComparison.Ordinal),
            ignore: modelType == "clip" ? n => !n.StartsWith(ClipVisionModel.Prefix, StringComparison.Ordinal) : null);
        StateDict? head = headFile is not null ? LoadHead(headFile) : null;
        CheckHead(head, clip.HiddenSize, null, headFile ?? folder);
        return new HuggingFaceModel(folder, modelType, model, backbone, head, null);
    }

    private static IReadOnlyList<string>? ReadLabels(JsonElement config)
    {
        if (!config.TryGetProperty("id2label", out var m) || m.ValueKind != JsonValueKind.Object) return null;
        var pairs = m.EnumerateObject().Select(p => (Id: int.TryParse(p.Name, out int i) ? i : -1, Name: p.Value.GetString() ?? "")).OrderBy(p => p.Id).ToList();
        return pairs.Select((p, i) => p.Id == i ? p.Name : null).Any(x => x is null) ? null : pairs.Select(p => p.Name).ToList();
    }

    private static StateDict ReadHead(IWeightSource weights, string prefix, string folder)
    {
        if (!weights.Contains(prefix + "weight")) throw new FusionException($"{folder}: a BertForSequenceClassification checkpoint without {prefix}weight.");
        var head = new StateDict($"{folder}:head");
        head.Add("weight", weights.Read(prefix + "weight").to(ScalarType.Float32));
        if (weights.Contains(prefix + "bias")) head.Add("bias", weights.Read(prefix + "bias").to(ScalarType.Float32));
        return head;
    }

    private static StateDict LoadHead(string path)
    {
        using var source = Checkpoint.Open(path);
        if (!source.Contains("weight")) throw new FusionException($"{path}: a head file needs a 'weight' tensor [classes, features] (and optionally 'bias').");
        var head = new StateDict($"{path}:head");
        head.Add("weight", source.Read("weight").to(ScalarType.Float32));
        if (source.Contains("bias")) head.Add("bias", source.Read("bias").to(ScalarType.Float32));
        return head;
    }

    private static void CheckHead(StateDict? head, int features, IReadOnlyList<string>? labels, string where)
    {
        if (head is null) return;
        var w = head["weight"];
        if (w.dim() != 2 || w.shape[1] != features)
            throw new FusionException($"{where}: the head's weight is [{string.Join(", ", w.shape)}], expected [classes, {features}].");
        if (head.TryGetValue("bias", out var b) && (b.dim() != 1 || b.shape[0] != w.shape[0]))
            throw new FusionException($"{where}: the head's bias is [{string.Join(", ", b.shape)}], expected [{w.shape[0]}].");
        if (labels is not null && labels.Count != w.shape[0])
            throw new FusionException($"{where}: config.json names {labels.Count} labels but the head has {w.shape[0]} classes.");
    }

    /// <summary>Disposes the weights and the head.</summary>
    public void Dispose()
    {
        Backbone.Dispose();
        Head?.Dispose();
    }

    /// <summary>A view of a checkpoint under the architecture's names: the prefix stripped, checked against the architecture.</summary>
    private sealed class Renamed : IWeightSource
    {
        private readonly IWeightSource _inner;
        private readonly Dictionary<string, string> _map;

        private Renamed(IWeightSource inner, Dictionary<string, string> map, List<string> names)
        {
            _inner = inner;
            _map = map;
            TensorNames = names;
        }

        public static Renamed Create(IWeightSource inner, string prefix, IEnumerable<string> expected, IReadOnlyCollection<string> heads, string folder,
            Func<string, bool> optional, Func<string, bool>? ignore = null)
        {
            var map = new Dictionary<string, string>(StringComparer.Ordinal);
            var names = new List<string>();
            foreach (var n in inner.TensorNames)
            {
                if (heads.Contains(n) || (ignore?.Invoke(n) ?? false)) continue;
                if (!n.StartsWith(prefix, StringComparison.Ordinal))
                    throw new FusionException($"{folder}: tensor '{n}' is not part of the architecture (expected names under '{prefix}').");
                string name = n[prefix.Length..];
                map[name] = n;
                names.Add(name);
            }
            var known = expected.ToHashSet(StringComparer.Ordinal);
            if (names.FirstOrDefault(n => !known.Contains(n) && !optional(n)) is string unknown)
                throw new FusionException($"{folder}: tensor '{prefix}{unknown}' is not supported by the architecture (a different model class, or layers this forward does not run).");
            if (known.FirstOrDefault(n => !map.ContainsKey(n) && !optional(n)) is string missing)
                throw new FusionException($"{folder}: the checkpoint has no tensor '{prefix}{missing}', which the architecture needs.");
            return new Renamed(inner, map, names);
        }

        public string Name => _inner.Name;
        public IReadOnlyList<string> TensorNames { get; }
        public bool Contains(string tensorName) => _map.ContainsKey(tensorName);
        public TensorInfo GetInfo(string tensorName) => _inner.GetInfo(Inner(tensorName));
        public Tensor Read(string tensorName) => _inner.Read(Inner(tensorName));
        public void Dispose() => _inner.Dispose();

        private string Inner(string name) => _map.TryGetValue(name, out var n) ? n : throw new KeyNotFoundException($"{_inner.Name} has no tensor '{name}'.");
    }
}

using System.Text.Json;
using FusionBench.Core.Checkpoints;
using FusionBench.Core.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace FusionBench.Core.Tests.TestSupport;

/// <summary>Writes Hugging Face model folders for tests: tiny seeded BERT classifiers with their own vocabulary.</summary>
internal static class HuggingFaceFolders
{
    /// <summary>A tiny BERT: 2 layers, width 16, 2 heads, feed-forward 32, over <see cref="Words"/>.</summary>
    public static BertConfig TinyBert => new(VocabSize: 5 + Words.Length, HiddenSize: 16, NumHiddenLayers: 2, NumAttentionHeads: 2,
        IntermediateSize: 32, MaxPositionEmbeddings: 64);

    /// <summary>The tiny vocabulary's words (after BERT's special tokens).</summary>
    public static readonly string[] Words =
    {
        "the", "a", "cat", "dog", "sat", "ran", "on", "mat", "log", "red", "blue", "green", "big", "small", "happy", "sad",
        "good", "bad", "film", "book", "very", "not", "and", "is", "was",
    };

    /// <summary>Seeded random weights of <see cref="TinyBert"/> under BertModel's names (LayerNorm weights near 1).</summary>
    public static StateDict RandomBert(long seed, StateDict? around = null, double scale = 0.2)
    {
        using var g = new Generator((ulong)seed);
        var weights = new StateDict($"tiny-bert-{seed}");
        foreach (var (name, info) in new BertModel(TinyBert).Parameters)
        {
            var noise = randn(info.Shape, generator: g).mul_(scale);
            if (around is not null) weights.Add(name, around[name] + noise);
            else if (name.Contains("LayerNorm.weight")) weights.Add(name, noise.mul_(0.1).add_(1));
            else weights.Add(name, noise);
        }
        return weights;
    }

    /// <summary>
    /// Writes a BERT folder: <c>config.json</c>, <c>vocab.txt</c> and <c>model.safetensors</c>. With a head it is a
    /// <c>BertForSequenceClassification</c> (backbone under <c>bert.</c>, head <c>classifier.*</c>, <c>id2label</c>);
    /// without, a <c>BertModel</c>.
    /// </summary>
    public static string WriteBert(string folder, StateDict backbone, Tensor? classifierWeight = null, Tensor? classifierBias = null,
        IReadOnlyList<string>? labels = null, BertConfig? config = null)
    {
        var c = config ?? TinyBert;
        Directory.CreateDirectory(folder);
        bool classifier = classifierWeight is not null;
        using (var all = new StateDict("folder"))
        {
            foreach (var name in backbone.TensorNames) all.Add((classifier ? "bert." : "") + name, backbone[name].alias());
            if (classifierWeight is not null) all.Add("classifier.weight", classifierWeight.alias());
            if (classifierBias is not null) all.Add("classifier.bias", classifierBias.alias());
            Checkpoint.Save(all, Path.Combine(folder, "model.safetensors"));
        }
        var json = new Dictionary<string, object>
        {
            ["model_type"] = "bert", ["architectures"] = new[] { classifier ? "BertForSequenceClassification" : "BertModel" },
            ["vocab_size"] = c.VocabSize, ["hidden_size"] = c.HiddenSize, ["num_hidden_layers"] = c.NumHiddenLayers,
            ["num_attention_heads"] = c.NumAttentionHeads, ["intermediate_size"] = c.IntermediateSize, ["hidden_act"] = "gelu",
            ["max_position_embeddings"] = c.MaxPositionEmbeddings, ["type_vocab_size"] = c.TypeVocabSize, ["layer_norm_eps"] = c.LayerNormEps,
            ["pad_token_id"] = c.PadTokenId, ["position_embedding_type"] = "absolute",
        };
        if (labels is not null)
        {
            json["id2label"] = labels.Select((l, i) => (l, i)).ToDictionary(x => x.i.ToString(System.Globalization.CultureInfo.InvariantCulture), x => x.l);
            json["label2id"] = labels.Select((l, i) => (l, i)).ToDictionary(x => x.l, x => x.i);
        }
        File.WriteAllText(Path.Combine(folder, "config.json"), JsonSerializer.Serialize(json, new JsonSerializerOptions { WriteIndented = true }));
        File.WriteAllLines(Path.Combine(folder, "vocab.txt"), new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }.Concat(Words));
        return folder;
    }

    /// <summary>Writes a CSV with <c>text,label</c>: seeded sentences of the tiny vocabulary, labelled by <paramref name="label"/>.</summary>
    public static string WriteCsv(string path, int rows, long seed, Func<string, string> label)
    {
        var random = new Random((int)seed);
        var lines = new List<string> { "text,label" };
        for (int i = 0; i < rows; i++)
        {
            string text = string.Join(' ', Enumerable.Range(0, 3 + random.Next(6)).Select(_ => Words[random.Next(Words.Length)]));
            lines.Add($"\"{text}\",{label(text)}");
        }
        File.WriteAllLines(path, lines);
        return path;
    }
}

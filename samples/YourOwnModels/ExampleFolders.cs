using System.Text.Json;
using FusionBench.Core;
using FusionBench.Core.Checkpoints;
using FusionBench.Core.Models;
using static TorchSharp.torch;

/// <summary>
/// Writes stand-ins for your own models and data: a tiny random BERT as the "pretrained" model, two classifiers near it
/// in Hugging Face's BertForSequenceClassification layout (config.json, vocab.txt, model.safetensors), and CSV files.
/// </summary>
internal static class ExampleFolders
{
    private static readonly string[] Words = { "the", "a", "cat", "dog", "sat", "ran", "on", "mat", "red", "blue", "good", "bad", "film", "very", "not" };

    public static void Write(string root)
    {
        var config = new BertConfig(VocabSize: 5 + Words.Length, HiddenSize: 32, NumHiddenLayers: 2, NumAttentionHeads: 4, IntermediateSize: 64, MaxPositionEmbeddings: 64);
        using var g = new Generator(7);
        var shapes = new BertModel(config).Parameters;
        using var pretrained = new StateDict("pretrained");
        foreach (var (name, info) in shapes)
            pretrained.Add(name, name.Contains("LayerNorm.weight") ? ones(info.Shape) : randn(info.Shape, generator: g).mul_(0.2));
        WriteFolder(Path.Combine(root, "pretrained"), config, pretrained, null, null);
        foreach (var (task, labels) in new[] { ("sentiment", new[] { "neg", "pos" }), ("topic", new[] { "pets", "colours", "other" }) })
        {
            using var tuned = new StateDict(task);
            foreach (var name in pretrained.TensorNames) tuned.Add(name, pretrained[name] + randn(pretrained[name].shape, generator: g).mul_(0.05));
            WriteFolder(Path.Combine(root, task), config, tuned, randn(new long[] { labels.Length, config.HiddenSize }, generator: g), labels);
            var random = new Random(task.Length);
            foreach (var (split, rows) in new[] { ("train", 128), ("test", 64) })
                File.WriteAllLines(Path.Combine(root, $"{task}-{split}.csv"), new[] { "text,label" }.Concat(Enumerable.Range(0, rows).Select(_ =>
                {
                    string text = string.Join(' ', Enumerable.Range(0, 3 + random.Next(5)).Select(_ => Words[random.Next(Words.Length)]));
                    string label = task == "sentiment" ? (text.Contains("good") ? "pos" : "neg") : text.Contains("cat") || text.Contains("dog") ? "pets" : text.Contains("red") || text.Contains("blue") ? "colours" : "other";
                    return $"\"{text}\",{label}";
                })));
        }
    }

    private static void WriteFolder(string folder, BertConfig c, StateDict backbone, Tensor? classifier, string[]? labels)
    {
        Directory.CreateDirectory(folder);
        using var weights = new StateDict(folder);
        foreach (var name in backbone.TensorNames) weights.Add((classifier is null ? "" : "bert.") + name, backbone[name].alias());
        if (classifier is not null) { weights.Add("classifier.weight", classifier); weights.Add("classifier.bias", zeros(classifier.shape[0])); }
        Checkpoint.Save(weights, Path.Combine(folder, "model.safetensors"));
        var json = new Dictionary<string, object>
        {
            ["model_type"] = "bert", ["architectures"] = new[] { classifier is null ? "BertModel" : "BertForSequenceClassification" },
            ["vocab_size"] = c.VocabSize, ["hidden_size"] = c.HiddenSize, ["num_hidden_layers"] = c.NumHiddenLayers, ["num_attention_heads"] = c.NumAttentionHeads,
            ["intermediate_size"] = c.IntermediateSize, ["max_position_embeddings"] = c.MaxPositionEmbeddings, ["hidden_act"] = "gelu",
        };
        if (labels is not null) json["id2label"] = labels.Select((l, i) => (l, i)).ToDictionary(x => x.i.ToString(), x => x.l);
        File.WriteAllText(Path.Combine(folder, "config.json"), JsonSerializer.Serialize(json));
        File.WriteAllLines(Path.Combine(folder, "vocab.txt"), new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" }.Concat(Words));
    }
}

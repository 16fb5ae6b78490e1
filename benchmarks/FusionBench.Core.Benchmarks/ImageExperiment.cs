using System.Globalization;
using System.Text.Json;
using FusionBench.Core.Checkpoints;
using FusionBench.Core.Models;
using SkiaSharp;
using static TorchSharp.torch;

namespace FusionBench.Core.Benchmarks;

/// <summary>
/// Writes a user-style experiment for the data-streaming memory check: a random CLIP vision tower in Hugging Face
/// layout (32 × 32 RGB, patch 8, width 64, 4 layers), two fine-tunes near it with head files, ImageFolder train and test
/// trees of <c>images</c> PNGs per task, and one FusionBench-shaped config per data-driven method.
/// </summary>
internal static class ImageExperiment
{
    public static void Write(string dir, int images)
    {
        Directory.CreateDirectory(dir);
        var config = new ClipVisionConfig(ImageSize: 32, PatchSize: 8, HiddenSize: 64, IntermediateSize: 256, NumHiddenLayers: 4, NumAttentionHeads: 4, NumChannels: 3);
        var shapes = new ClipVisionModel(config).Parameters;
        using var g = new Generator(1);
        using var pretrained = new StateDict("pretrained");
        foreach (var (name, info) in shapes)
            pretrained.Add(name, info.DType != ScalarType.Float32 ? arange(info.Shape[^1]).view(info.Shape)
                : name.Contains("norm") && name.EndsWith("weight", StringComparison.Ordinal) ? ones(info.Shape) : randn(info.Shape, generator: g).mul_(0.05));
        string configJson = JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["model_type"] = "clip_vision_model", ["image_size"] = 32, ["patch_size"] = 8, ["hidden_size"] = 64, ["intermediate_size"] = 256,
            ["num_hidden_layers"] = 4, ["num_attention_heads"] = 4, ["num_channels"] = 3, ["hidden_act"] = "quick_gelu",
        });
        void Folder(string name, StateDict weights)
        {
            Directory.CreateDirectory(Path.Combine(dir, name));
            File.WriteAllText(Path.Combine(dir, name, "config.json"), configJson);
            Checkpoint.Save(weights, Path.Combine(dir, name, "model.safetensors"));
        }
        Folder("pretrained", pretrained);
        var random = new Random(2);
        foreach (var task in new[] { "stripes", "blocks" })
        {
            using (var tuned = new StateDict(task))
            {
                foreach (var name in pretrained.TensorNames)
                    tuned.Add(name, is_floating_point(pretrained[name].dtype) ? pretrained[name] + randn(pretrained[name].shape, generator: g).mul_(0.01) : pretrained[name].clone());
                Folder(task, tuned);
            }
            using (var head = new StateDict("head")) { head.Add("weight", randn(new long[] { 2, 64 }, generator: g)); Checkpoint.Save(head, Path.Combine(dir, task + "-head.safetensors")); }
            foreach (var split in new[] { "train", "test" })
                for (int i = 0; i < images; i++)
                {
                    string path = Path.Combine(dir, $"{task}-{split}", i % 2 == 0 ? "a" : "b", $"{i:D6}.png");
                    Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                    using var bitmap = new SKBitmap(48, 40, SKColorType.Rgba8888, SKAlphaType.Unpremul);
                    for (int y = 0; y < 40; y++)
                        for (int x = 0; x < 48; x++)
                            bitmap.SetPixel(x, y, new SKColor((byte)random.Next(256), (byte)(i % 2 == 0 ? x * 5 : y * 6), (byte)random.Next(256)));
                    using var png = bitmap.Encode(SKEncodedImageFormat.Png, 100);
                    File.WriteAllBytes(path, png.ToArray());
                }
        }
        foreach (var (method, parameters) in new[]
        {
            ("fisher_merging", "  num_fisher_examples: 256\n  batch_size: 32"),
            ("regmean", "  num_regmean_examples: 256\n  batch_size: 32"),
            ("layer_wise_adamerging", "  max_steps: 20\n  batch_size: 16"),
        })
            File.WriteAllText(Path.Combine(dir, $"exp-{method}.yaml"), string.Create(CultureInfo.InvariantCulture, $"""
                method:
                  name: {method}
                {parameters}
                modelpool:
                  models:
                    _pretrained_: {Path.Combine(dir, "pretrained")}
                    stripes: {Path.Combine(dir, "stripes")}
                    blocks: {Path.Combine(dir, "blocks")}
                  heads:
                    stripes: {Path.Combine(dir, "stripes-head.safetensors")}
                    blocks: {Path.Combine(dir, "blocks-head.safetensors")}
                  train_datasets:
                    stripes: {Path.Combine(dir, "stripes-train")}
                    blocks: {Path.Combine(dir, "blocks-train")}
                taskpool:
                  test_datasets:
                    stripes: {Path.Combine(dir, "stripes-test")}
                    blocks: {Path.Combine(dir, "blocks-test")}
                """));
    }
}

using System.Text.Json;
using System.Text.Json.Serialization;
using FusionBench.Core.Models;

namespace FusionBench.Suites.Image;

/// <summary>What a built zoo holds and how it was made: written as <c>manifest.json</c> next to the checkpoints.</summary>
public sealed class ImageZooManifest
{
    /// <summary>Bumped when the zoo's layout or training changes, so an older cached zoo is rebuilt.</summary>
    public const int CurrentVersion = 1;

    /// <summary>The manifest format version.</summary>
    [JsonPropertyName("version")] public int Version { get; init; } = CurrentVersion;

    /// <summary>The suite name.</summary>
    [JsonPropertyName("suite")] public string Suite { get; init; } = "";

    /// <summary>The options the zoo was built with.</summary>
    [JsonPropertyName("options")] public ImageZooOptions Options { get; init; } = new();

    /// <summary>The backbone configuration (Hugging Face CLIPVisionConfig field names).</summary>
    [JsonPropertyName("config")] public Dictionary<string, object> Config { get; init; } = new();

    /// <summary>Pretraining: task, accuracy on its own held-out data, seconds.</summary>
    [JsonPropertyName("pretraining")] public PretrainingRecord Pretraining { get; init; } = new();

    /// <summary>One entry per task, in report order.</summary>
    [JsonPropertyName("tasks")] public List<TaskRecord> Tasks { get; init; } = new();

    /// <summary>Wall-clock seconds of each build stage.</summary>
    [JsonPropertyName("seconds")] public Dictionary<string, double> Seconds { get; init; } = new();

    /// <summary>Pretraining facts.</summary>
    public sealed class PretrainingRecord
    {
        /// <summary>What the backbone was pretrained on.</summary>
        [JsonPropertyName("task")] public string Task { get; init; } = "";

        /// <summary>Accuracy on held-out pretraining examples.</summary>
        [JsonPropertyName("accuracy")] public double Accuracy { get; init; }
    }

    /// <summary>One task of the zoo.</summary>
    public sealed class TaskRecord
    {
        /// <summary>Task name.</summary>
        [JsonPropertyName("name")] public string Name { get; init; } = "";

        /// <summary>Source dataset.</summary>
        [JsonPropertyName("source")] public string Source { get; init; } = "";

        /// <summary>Transform applied.</summary>
        [JsonPropertyName("transform")] public string Transform { get; init; } = "";

        /// <summary>Class names.</summary>
        [JsonPropertyName("classes")] public List<string> Classes { get; init; } = new();

        /// <summary>Training examples.</summary>
        [JsonPropertyName("train_size")] public int TrainSize { get; init; }

        /// <summary>Test examples.</summary>
        [JsonPropertyName("test_size")] public int TestSize { get; init; }

        /// <summary>Test accuracy of the pretrained backbone with this task's head.</summary>
        [JsonPropertyName("pretrained_accuracy")] public double PretrainedAccuracy { get; init; }

        /// <summary>Test accuracy of this task's fully fine-tuned model.</summary>
        [JsonPropertyName("full_accuracy")] public double FullAccuracy { get; init; }

        /// <summary>Test accuracy of this task's LoRA model (null when not built).</summary>
        [JsonPropertyName("lora_accuracy")] public double? LoraAccuracy { get; init; }

        /// <summary>Average accuracy over all eight tasks of this task's fully fine-tuned model (each task with its own head).</summary>
        [JsonPropertyName("full_all_tasks_average")] public double FullAllTasksAverage { get; init; }

        /// <summary>Seconds spent fine-tuning (full, LoRA).</summary>
        [JsonPropertyName("seconds")] public Dictionary<string, double> Seconds { get; init; } = new();
    }

    internal static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>Reads a manifest, or null if the file does not exist or is not a manifest of the current version.</summary>
    public static ImageZooManifest? TryLoad(string path)
    {
        if (!File.Exists(path)) return null;
        try
        {
            var m = JsonSerializer.Deserialize<ImageZooManifest>(File.ReadAllText(path), Json);
            return m?.Version == CurrentVersion ? m : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    internal static Dictionary<string, object> ConfigFields(ClipVisionConfig c) => new()
    {
        ["model_type"] = "clip_vision_model",
        ["image_size"] = c.ImageSize,
        ["patch_size"] = c.PatchSize,
        ["hidden_size"] = c.HiddenSize,
        ["intermediate_size"] = c.IntermediateSize,
        ["num_hidden_layers"] = c.NumHiddenLayers,
        ["num_attention_heads"] = c.NumAttentionHeads,
        ["num_channels"] = c.NumChannels,
        ["layer_norm_eps"] = c.LayerNormEps,
        ["hidden_act"] = "quick_gelu",
    };
}

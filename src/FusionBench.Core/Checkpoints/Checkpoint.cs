using System.Text.Json;
using System.Text.RegularExpressions;
using FusionBench.Core.Internal;

namespace FusionBench.Core.Checkpoints;

/// <summary>Opens and saves checkpoints in the formats Hugging Face and PyTorch use.</summary>
public static partial class Checkpoint
{
    /// <summary>Hugging Face's default largest shard when saving (5 GB).</summary>
    public const long DefaultMaxShardBytes = 5_000_000_000;

    private static readonly string[] PyTorchExtensions = { ".bin", ".pt", ".pth" };

    /// <summary>Whether <see cref="Save"/> writes <paramref name="path"/> as a Hugging Face folder (not a single file).</summary>
    internal static bool SavesAsFolder(string path) =>
        !path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase) && !PyTorchExtensions.Any(e => path.EndsWith(e, StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Opens a checkpoint: a <c>.safetensors</c> file, a <c>.bin</c>/<c>.pt</c>/<c>.pth</c> PyTorch state dict, an
    /// <c>*.index.json</c> shard index, or a Hugging Face model folder holding <c>model.safetensors</c>,
    /// <c>model.safetensors.index.json</c>, <c>pytorch_model.bin</c> or <c>pytorch_model.bin.index.json</c>.
    /// </summary>
    /// <returns>A lazily read source; the caller owns and disposes it.</returns>
    /// <exception cref="FileNotFoundException">Nothing is at the path, or the folder holds no known weight file.</exception>
    /// <exception cref="CheckpointFormatException">The file is malformed.</exception>
    public static IWeightSource Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path)) return OpenDirectory(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Checkpoint not found: {path}", path);
        if (path.EndsWith(".index.json", StringComparison.OrdinalIgnoreCase)) return ShardedCheckpoint.Open(path);
        if (PyTorchExtensions.Any(e => path.EndsWith(e, StringComparison.OrdinalIgnoreCase)))
            // torch.save's zip format is read tensor by tensor with a restricted unpickler; the pre-1.6 format whole.
            return TorchZipCheckpoint.IsZip(path) ? TorchZipCheckpoint.Open(path) : PyTorchCheckpoint.Load(path);
        return SafeTensorsFile.Open(path);
    }

    private static IWeightSource OpenDirectory(string dir)
    {
        string[] candidates = { "model.safetensors.index.json", "model.safetensors", "pytorch_model.bin.index.json", "pytorch_model.bin" };
        foreach (var c in candidates)
        {
            string p = Path.Combine(dir, c);
            if (File.Exists(p)) return Open(p);
        }
        var single = Directory.GetFiles(dir, "*.safetensors");
        if (single.Length == 1) return SafeTensorsFile.Open(single[0]);
        throw new FileNotFoundException(
            $"{dir}: no weights found (looked for {string.Join(", ", candidates)}, or a single *.safetensors file).", dir);
    }

    /// <summary>
    /// Saves weights: to a <c>.safetensors</c> file, a <c>.bin</c>/<c>.pt</c>/<c>.pth</c> PyTorch file, or else a
    /// Hugging Face folder — <c>model.safetensors</c>, or shards <c>model-0000i-of-0000N.safetensors</c> plus
    /// <c>model.safetensors.index.json</c> when the weights exceed <paramref name="maxShardBytes"/>.
    /// </summary>
    /// <remarks>
    /// Every file is written to a temporary name and renamed into place once all are complete, so an error or a
    /// cancellation leaves no partial output (and an earlier output at that path intact).
    /// </remarks>
    public static void Save(IWeightSource weights, string path, long maxShardBytes = DefaultMaxShardBytes,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(path);
        if (maxShardBytes <= 0) throw new ArgumentOutOfRangeException(nameof(maxShardBytes), "The shard size must be positive.");
        var metadata = new Dictionary<string, string> { ["format"] = "pt" };
        if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase))
        {
            SafeTensorsWriter.Write(path, weights, null, metadata, cancellationToken);
            return;
        }
        if (PyTorchExtensions.Any(e => path.EndsWith(e, StringComparison.OrdinalIgnoreCase)))
        {
            PyTorchCheckpoint.Save(path, weights, cancellationToken);
            return;
        }
        SaveDirectory(weights, path, maxShardBytes, metadata, cancellationToken);
    }

    private static void SaveDirectory(IWeightSource weights, string dir, long maxShardBytes,
        Dictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        if (File.Exists(dir)) throw new IOException($"{dir} is a file; give a .safetensors path or a folder.");
        var shards = PlanShards(weights, maxShardBytes);
        Directory.CreateDirectory(dir);
        var files = new List<(string Tmp, string Final)>();
        try
        {
            for (int i = 0; i < shards.Count; i++)
            {
                string fileName = shards.Count == 1 ? "model.safetensors" : $"model-{i + 1:D5}-of-{shards.Count:D5}.safetensors";
                string final = Path.Combine(dir, fileName);
                string tmp = AtomicFile.TempPathFor(final);
                files.Add((tmp, final));
                SafeTensorsWriter.WriteTo(tmp, weights, shards[i], metadata, cancellationToken);
            }
            if (shards.Count > 1)
            {
                string final = Path.Combine(dir, "model.safetensors.index.json");
                string tmp = AtomicFile.TempPathFor(final);
                files.Add((tmp, final));
                File.WriteAllText(tmp, BuildIndex(weights, shards, files));
            }
            cancellationToken.ThrowIfCancellationRequested();
        }
        catch
        {
            foreach (var (tmp, _) in files) AtomicFile.TryDelete(tmp);
            throw;
        }
        // Everything is written: drop weight files of an earlier save (another shard count would mix), then rename.
        foreach (var old in Directory.GetFiles(dir).Where(f => IsModelWeightFile(Path.GetFileName(f))))
            File.Delete(old);
        foreach (var (tmp, final) in files) File.Move(tmp, final, overwrite: true);
    }

    private static List<List<string>> PlanShards(IWeightSource weights, long maxShardBytes)
    {
        var shards = new List<List<string>> { new() };
        long size = 0;
        foreach (var name in weights.TensorNames)
        {
            var info = weights.GetInfo(name);
            long bytes = info.ByteCount;
            if (size > 0 && size + bytes > maxShardBytes)
            {
                shards.Add(new List<string>());
                size = 0;
            }
            shards[^1].Add(name);
            size += bytes;
        }
        return shards;
    }

    private static string BuildIndex(IWeightSource weights, List<List<string>> shards, List<(string Tmp, string Final)> files)
    {
        long total = weights.TensorNames.Sum(n => weights.GetInfo(n).ByteCount);
        var map = new SortedDictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < shards.Count; i++)
            foreach (var n in shards[i]) map[n] = Path.GetFileName(files[i].Final);
        var index = new { metadata = new { total_size = total }, weight_map = map };
        return JsonSerializer.Serialize(index, new JsonSerializerOptions { WriteIndented = true });
    }

    private static bool IsModelWeightFile(string fileName) =>
        fileName == "model.safetensors" || fileName == "model.safetensors.index.json" || ShardName().IsMatch(fileName);

    [GeneratedRegex(@"^model-\d{5}-of-\d{5}\.safetensors$")]
    private static partial Regex ShardName();
}

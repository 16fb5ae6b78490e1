using System.Text.Json;
using TorchSharp;

namespace FusionBench.Core.Checkpoints;

/// <summary>
/// A Hugging Face sharded checkpoint: an index JSON (<c>model.safetensors.index.json</c> or
/// <c>pytorch_model.bin.index.json</c>) whose <c>weight_map</c> sends each tensor name to a shard file.
/// Shards are opened on first use.
/// </summary>
public sealed class ShardedCheckpoint : IWeightSource
{
    private readonly string _directory;
    private readonly Dictionary<string, string> _weightMap;
    private readonly List<string> _names;
    private readonly Dictionary<string, IWeightSource> _shards = new(StringComparer.Ordinal);

    private ShardedCheckpoint(string indexPath, Dictionary<string, string> weightMap, List<string> names)
    {
        Name = indexPath;
        _directory = Path.GetDirectoryName(Path.GetFullPath(indexPath))!;
        _weightMap = weightMap;
        _names = names;
    }

    /// <summary>The index file path.</summary>
    public string Name { get; }

    /// <inheritdoc />
    public IReadOnlyList<string> TensorNames => _names;

    /// <summary>Opens an index file and checks that every shard it names exists.</summary>
    /// <exception cref="CheckpointFormatException">The index is malformed or names a missing shard.</exception>
    public static ShardedCheckpoint Open(string indexPath)
    {
        if (!File.Exists(indexPath)) throw new FileNotFoundException($"Checkpoint index not found: {indexPath}", indexPath);
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllBytes(indexPath)); }
        catch (JsonException e) { throw new CheckpointFormatException(indexPath, null, $"index is not valid JSON ({e.Message}).", e); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
                throw new CheckpointFormatException(indexPath, null, "index has no 'weight_map' object.");
            var weightMap = new Dictionary<string, string>(StringComparer.Ordinal);
            var names = new List<string>();
            string dir = Path.GetDirectoryName(Path.GetFullPath(indexPath))!;
            foreach (var p in map.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String)
                    throw new CheckpointFormatException(indexPath, p.Name, "weight_map value is not a file name.");
                string shard = p.Value.GetString()!;
                if (shard.Contains("..", StringComparison.Ordinal) || Path.IsPathRooted(shard))
                    throw new CheckpointFormatException(indexPath, p.Name, $"shard '{shard}' is outside the checkpoint folder.");
                if (!File.Exists(Path.Combine(dir, shard)))
                    throw new CheckpointFormatException(indexPath, p.Name, $"shard file '{shard}' does not exist.");
                weightMap[p.Name] = shard;
                names.Add(p.Name);
            }
            return new ShardedCheckpoint(indexPath, weightMap, names);
        }
    }

    /// <summary>The shard file names, in order of first use in the index.</summary>
    public IReadOnlyList<string> ShardFiles => _weightMap.Values.Distinct().ToList();

    /// <inheritdoc />
    public bool Contains(string tensorName) => _weightMap.ContainsKey(tensorName);

    /// <inheritdoc />
    public TensorInfo GetInfo(string tensorName)
    {
        var (shard, _) = ShardOf(tensorName);
        return shard.GetInfo(tensorName);
    }

    /// <inheritdoc />
    public torch.Tensor Read(string tensorName)
    {
        var (shard, _) = ShardOf(tensorName);
        return shard.Read(tensorName);
    }

    /// <inheritdoc />
    public torch.Tensor ReadRows(string tensorName, long start, long count) => ShardOf(tensorName).Shard.ReadRows(tensorName, start, count);

    /// <inheritdoc />
    public void ReadRowsInto(string tensorName, long start, long count, torch.Tensor destination) =>
        ShardOf(tensorName).Shard.ReadRowsInto(tensorName, start, count, destination);

    private (IWeightSource Shard, string File) ShardOf(string tensorName)
    {
        if (!_weightMap.TryGetValue(tensorName, out var file))
            throw new KeyNotFoundException($"{Name}: no tensor named '{tensorName}'.");
        if (!_shards.TryGetValue(file, out var shard))
        {
            shard = Checkpoint.Open(Path.Combine(_directory, file));
            _shards[file] = shard;
        }
        if (!shard.Contains(tensorName))
            throw new CheckpointFormatException(Name, tensorName, $"the index maps it to '{file}', which does not contain it.");
        return (shard, file);
    }

    /// <summary>Closes every opened shard.</summary>
    public void Dispose()
    {
        foreach (var s in _shards.Values) s.Dispose();
        _shards.Clear();
    }
}

using System.Collections;
using TorchSharp;
using TorchSharp.PyBridge;

namespace FusionBench.Core.Checkpoints;

/// <summary>
/// A PyTorch state dict saved with <c>torch.save</c> (<c>.bin</c>, <c>.pt</c>, <c>.pth</c>), read through
/// TorchSharp.PyBridge's unpickler.
/// </summary>
/// <remarks>
/// <see cref="Checkpoint.Open"/> reads torch.save's zip format (PyTorch ≥ 1.6) tensor by tensor with a restricted
/// unpickler instead; <see cref="Load"/> is for the legacy pre-1.6 format, loaded whole (names sorted ordinally).
/// </remarks>
public static class PyTorchCheckpoint
{
    /// <summary>Loads a pickled state dict into memory.</summary>
    /// <exception cref="CheckpointFormatException">The file is not a readable PyTorch state dict.</exception>
    public static StateDict Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Checkpoint file not found: {path}", path);
        Hashtable table;
        try
        {
            table = PyTorchUnpickler.UnpickleStateDict(path);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new CheckpointFormatException(path, null, $"not a readable PyTorch state dict ({e.GetType().Name}: {e.Message}).", e);
        }
        var dict = new StateDict(path);
        try
        {
            foreach (var key in table.Keys.Cast<object>().Select(k => k.ToString()!).OrderBy(k => k, StringComparer.Ordinal))
            {
                if (table[key] is not torch.Tensor t)
                    throw new CheckpointFormatException(path, key, $"value is a {table[key]?.GetType().Name ?? "null"}, not a tensor.");
                dict.Add(key, t);
            }
            return dict;
        }
        catch
        {
            dict.Dispose();
            foreach (var v in table.Values) (v as IDisposable)?.Dispose();
            throw;
        }
    }

    /// <summary>Saves a state dict in PyTorch's zip pickle format, atomically.</summary>
    public static void Save(string path, IWeightSource source, CancellationToken cancellationToken = default)
    {
        Internal.AtomicFile.Write(path, tmp =>
        {
            var dict = new Dictionary<string, torch.Tensor>(StringComparer.Ordinal);
            try
            {
                foreach (var name in source.TensorNames)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    dict[name] = source.Read(name);
                }
                using var fs = File.Create(tmp);
                PyTorchPickler.PickleStateDict(fs, dict);
            }
            finally
            {
                foreach (var t in dict.Values) t.Dispose();
            }
        });
    }
}

using System.IO.Compression;
using System.Text;
using FusionBench.Core.Internal;
using TorchSharp;

namespace FusionBench.Core.Checkpoints;

/// <summary>
/// A state dict saved by <c>torch.save</c> in its zip format (PyTorch ≥ 1.6: <c>archive/data.pkl</c> plus one
/// <c>archive/data/&lt;key&gt;</c> entry per storage), read tensor by tensor: opening parses only the pickle (names, dtypes,
/// shapes, strides and storage keys); <see cref="Read"/> reads that tensor's storage. The pickle is interpreted by a
/// restricted unpickler that only knows the opcodes and globals <c>torch.save</c> writes for a state dict
/// (<c>collections.OrderedDict</c>, <c>torch._utils._rebuild_tensor_v2</c>/<c>_rebuild_parameter</c> and the typed
/// storages); any other global is an error, so no pickled code is ever run.
/// </summary>
internal sealed class TorchZipCheckpoint : IWeightSource
{
    private readonly string _path;
    private readonly ZipArchive _zip;
    private readonly string _prefix;
    private readonly Dictionary<string, TensorRef> _tensors;
    private readonly List<string> _names;
    private readonly object _gate = new();

    internal sealed record StorageRef(string Key, torch.ScalarType DType, long Elements);

    internal sealed record TensorRef(StorageRef Storage, long Offset, long[] Shape, long[] Stride);

    private TorchZipCheckpoint(string path, ZipArchive zip, string prefix, Dictionary<string, TensorRef> tensors, List<string> names)
    {
        _path = path;
        _zip = zip;
        _prefix = prefix;
        _tensors = tensors;
        _names = names;
    }

    /// <summary>Whether a file is a zip archive (torch.save's format since PyTorch 1.6), by its magic bytes.</summary>
    public static bool IsZip(string path)
    {
        using var f = File.OpenRead(path);
        Span<byte> magic = stackalloc byte[4];
        return f.Read(magic) == 4 && magic[0] == 'P' && magic[1] == 'K' && magic[2] == 3 && magic[3] == 4;
    }

    public static TorchZipCheckpoint Open(string path)
    {
        ZipArchive zip;
        try
        {
            zip = ZipFile.OpenRead(path);
        }
        catch (InvalidDataException e)
        {
            throw new CheckpointFormatException(path, null, $"not a readable zip archive ({e.Message}).", e);
        }
        try
        {
            var pickle = zip.Entries.FirstOrDefault(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) || e.FullName == "data.pkl")
                ?? throw new CheckpointFormatException(path, null, "a zip archive without data.pkl (not a torch.save file).");
            string prefix = pickle.FullName[..^"data.pkl".Length];
            byte[] bytes;
            using (var s = pickle.Open())
            using (var m = new MemoryStream())
            {
                s.CopyTo(m);
                bytes = m.ToArray();
            }
            var root = new RestrictedUnpickler(path, bytes).Load();
            if (root is not RestrictedUnpickler.PickledDict dict)
                throw new CheckpointFormatException(path, null, $"the pickle holds a {RestrictedUnpickler.Describe(root)}, not a state dict.");
            var tensors = new Dictionary<string, TensorRef>(StringComparer.Ordinal);
            var names = new List<string>();
            foreach (var (key, value) in dict.Items)
            {
                string name = key as string ?? throw new CheckpointFormatException(path, null, $"a state-dict key is a {RestrictedUnpickler.Describe(key)}, not a string.");
                if (value is not TensorRef t) throw new CheckpointFormatException(path, name, $"value is a {RestrictedUnpickler.Describe(value)}, not a tensor.");
                if (zip.GetEntry(prefix + "data/" + t.Storage.Key) is null) throw new CheckpointFormatException(path, name, $"storage '{t.Storage.Key}' is missing from the archive.");
                tensors[name] = t;
                names.Add(name);
            }
            return new TorchZipCheckpoint(path, zip, prefix, tensors, names);
        }
        catch
        {
            zip.Dispose();
            throw;
        }
    }

    public string Name => _path;
    public IReadOnlyList<string> TensorNames => _names;
    public bool Contains(string tensorName) => _tensors.ContainsKey(tensorName);

    public TensorInfo GetInfo(string tensorName) => new(Ref(tensorName).Storage.DType, Ref(tensorName).Shape);

    private TensorRef Ref(string name) => _tensors.TryGetValue(name, out var t) ? t : throw new KeyNotFoundException($"{_path} has no tensor '{name}'.");

    public torch.Tensor Read(string tensorName)
    {
        var t = Ref(tensorName);
        var storage = t.Storage;
        int size = SafeTensorsDType.SizeOf(storage.DType);
        var flat = torch.empty(storage.Elements, storage.DType);
        try
        {
            lock (_gate)
            {
                using var s = _zip.GetEntry(_prefix + "data/" + storage.Key)!.Open();
                long bytes = storage.Elements * size;
                unsafe
                {
                    byte* p = (byte*)NativeTensorMemory.DataPointer(flat);
                    long done = 0;
                    while (done < bytes)
                    {
                        int n = s.Read(new Span<byte>(p + done, (int)Math.Min(int.MaxValue, bytes - done)));
                        if (n == 0) throw new CheckpointFormatException(_path, tensorName, $"storage '{storage.Key}' is shorter than its {storage.Elements} elements.");
                        done += n;
                    }
                }
            }
            long needed = t.Shape.Length == 0 ? 1 : t.Offset + t.Shape.Zip(t.Stride, (d, st) => (d - 1) * st).Sum() + 1;
            if (t.Shape.Any(d => d == 0)) needed = 0;
            if (needed > storage.Elements) throw new CheckpointFormatException(_path, tensorName, "its view reaches past its storage.");
            // A view of a shared storage (tied weights, slices) is copied out, so each tensor owns its memory.
            using var view = flat.as_strided(t.Shape, t.Stride, t.Offset);
            return view.contiguous().clone();
        }
        finally
        {
            flat.Dispose();
        }
    }

    public void Dispose() => _zip.Dispose();
}

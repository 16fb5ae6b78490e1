using System.Text.Json;
using FusionBench.Core.Internal;
using Microsoft.Win32.SafeHandles;
using TorchSharp;

namespace FusionBench.Core.Checkpoints;

/// <summary>
/// A single <c>.safetensors</c> file, opened lazily: the header is read and validated on open, each tensor is read
/// on demand straight into tensor memory.
/// </summary>
/// <remarks>
/// Validation rejects a header whose length runs past the end of the file, JSON that is not a tensor table,
/// unknown dtypes, negative dimensions, offsets outside the data section or overlapping another tensor, and a byte
/// range whose length differs from dtype size × element count. Each error names the file and the tensor.
/// </remarks>
public sealed class SafeTensorsFile : IWeightSource
{
    /// <summary>Headers larger than this are rejected as corrupt (the reference implementation uses the same bound).</summary>
    public const long MaxHeaderBytes = 100_000_000;

    private readonly SafeFileHandle _handle;
    private readonly Dictionary<string, Entry> _entries;
    private readonly List<string> _names;
    private readonly long _dataStart;

    private sealed record Entry(TensorInfo Info, long Begin, long End);

    private SafeTensorsFile(string path, SafeFileHandle handle, Dictionary<string, Entry> entries, List<string> names,
        long dataStart, IReadOnlyDictionary<string, string> metadata)
    {
        Name = path;
        _handle = handle;
        _entries = entries;
        _names = names;
        _dataStart = dataStart;
        Metadata = metadata;
    }

    /// <summary>The file path.</summary>
    public string Name { get; }

    /// <summary>The <c>__metadata__</c> string map of the header (empty if absent).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <inheritdoc />
    public IReadOnlyList<string> TensorNames => _names;

    /// <summary>Opens and validates a safetensors file.</summary>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="CheckpointFormatException">The file is malformed; the message says where.</exception>
    public static SafeTensorsFile Open(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("safetensors I/O needs a little-endian CPU.");
        if (!File.Exists(path)) throw new FileNotFoundException($"Checkpoint file not found: {path}", path);
        var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
        try
        {
            var (entries, names, dataStart, metadata) = ReadHeader(path, handle);
            return new SafeTensorsFile(path, handle, entries, names, dataStart, metadata);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static (Dictionary<string, Entry>, List<string>, long, IReadOnlyDictionary<string, string>) ReadHeader(string path, SafeFileHandle handle)
    {
        long fileLength = RandomAccess.GetLength(handle);
        if (fileLength < 8)
            throw new CheckpointFormatException(path, null, $"file is {fileLength} bytes, too short for the 8-byte header length.");
        Span<byte> lenBytes = stackalloc byte[8];
        RandomAccess.Read(handle, lenBytes, 0);
        ulong headerLength = BitConverter.ToUInt64(lenBytes);
        if (headerLength > MaxHeaderBytes)
            throw new CheckpointFormatException(path, null, $"header length {headerLength} exceeds the {MaxHeaderBytes}-byte limit (not a safetensors file, or corrupt).");
        if (8 + (long)headerLength > fileLength)
            throw new CheckpointFormatException(path, null, $"header length {headerLength} runs past the end of the file ({fileLength} bytes): the file is truncated or not safetensors.");
        var headerBytes = new byte[headerLength];
        RandomAccess.Read(handle, headerBytes, 8);
        long dataStart = 8 + (long)headerLength;
        long dataLength = fileLength - dataStart;

        JsonDocument doc;
        try { doc = JsonDocument.Parse(headerBytes); }
        catch (JsonException e) { throw new CheckpointFormatException(path, null, $"header is not valid JSON ({e.Message}).", e); }

        using (doc)
        {
            try
            {
                return ParseTable(path, doc, dataStart, dataLength);
            }
            catch (InvalidOperationException e)
            {
                // JsonDocument checks the structure up front but transcodes names and strings lazily: invalid UTF-8 shows here.
                throw new CheckpointFormatException(path, null, $"header is not valid UTF-8 JSON ({e.Message}).", e);
            }
        }
    }

    private static (Dictionary<string, Entry>, List<string>, long, IReadOnlyDictionary<string, string>) ParseTable(string path, JsonDocument doc, long dataStart, long dataLength)
    {
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new CheckpointFormatException(path, null, "header is not a JSON object.");
            var entries = new Dictionary<string, Entry>(StringComparer.Ordinal);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var prop in doc.RootElement.EnumerateObject())
            {
                if (prop.Name == "__metadata__")
                {
                    if (prop.Value.ValueKind != JsonValueKind.Object)
                        throw new CheckpointFormatException(path, null, "__metadata__ is not a JSON object.");
                    foreach (var m in prop.Value.EnumerateObject())
                        metadata[m.Name] = m.Value.ValueKind == JsonValueKind.String ? m.Value.GetString()! : m.Value.GetRawText();
                    continue;
                }
                if (entries.ContainsKey(prop.Name))
                    throw new CheckpointFormatException(path, prop.Name, "appears twice in the header.");
                entries.Add(prop.Name, ParseEntry(path, prop.Name, prop.Value, dataLength));
            }

            // Tensors must not share bytes: sort by offset and check each starts at or after the previous end.
            var names = entries.OrderBy(e => e.Value.Begin).ThenBy(e => e.Value.End).Select(e => e.Key).ToList();
            for (int i = 1; i < names.Count; i++)
            {
                var prev = entries[names[i - 1]];
                var cur = entries[names[i]];
                if (cur.Begin < prev.End && cur.End > cur.Begin)
                    throw new CheckpointFormatException(path, names[i],
                        $"data_offsets [{cur.Begin}, {cur.End}] overlap tensor '{names[i - 1]}' at [{prev.Begin}, {prev.End}].");
            }
            return (entries, names, dataStart, metadata);
        }
    }

    private static Entry ParseEntry(string path, string name, JsonElement e, long dataLength)
    {
        if (e.ValueKind != JsonValueKind.Object)
            throw new CheckpointFormatException(path, name, "header entry is not a JSON object.");
        if (!e.TryGetProperty("dtype", out var dtypeEl) || dtypeEl.ValueKind != JsonValueKind.String)
            throw new CheckpointFormatException(path, name, "header entry has no 'dtype' string.");
        string dtypeName = dtypeEl.GetString()!;
        if (!SafeTensorsDType.TryParse(dtypeName, out var dtype, out int elementSize))
            throw new CheckpointFormatException(path, name, $"unknown or unsupported dtype '{dtypeName}' (supported: {SafeTensorsDType.SupportedNames}).");
        if (!e.TryGetProperty("shape", out var shapeEl) || shapeEl.ValueKind != JsonValueKind.Array)
            throw new CheckpointFormatException(path, name, "header entry has no 'shape' array.");
        var shape = new long[shapeEl.GetArrayLength()];
        int i = 0;
        foreach (var d in shapeEl.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long dim) || dim < 0)
                throw new CheckpointFormatException(path, name, $"shape {shapeEl.GetRawText()} has an invalid dimension.");
            shape[i++] = dim;
        }
        if (!e.TryGetProperty("data_offsets", out var offEl) || offEl.ValueKind != JsonValueKind.Array || offEl.GetArrayLength() != 2)
            throw new CheckpointFormatException(path, name, "header entry has no 'data_offsets' pair.");
        if (offEl[0].ValueKind != JsonValueKind.Number || offEl[1].ValueKind != JsonValueKind.Number
            || !offEl[0].TryGetInt64(out long begin) || !offEl[1].TryGetInt64(out long end) || begin < 0 || end < begin)
            throw new CheckpointFormatException(path, name, $"data_offsets {offEl.GetRawText()} are not a valid [begin, end] pair.");
        if (end > dataLength)
            throw new CheckpointFormatException(path, name,
                $"data_offsets [{begin}, {end}] run past the end of the data section ({dataLength} bytes): the file is truncated.");
        long expected;
        try { expected = checked(shape.Aggregate(1L, (a, b) => checked(a * b)) * elementSize); }
        catch (OverflowException) { throw new CheckpointFormatException(path, name, $"shape {shapeEl.GetRawText()} is too large."); }
        if (end - begin != expected)
            throw new CheckpointFormatException(path, name,
                $"dtype {dtypeName} × shape {shapeEl.GetRawText()} needs {expected} bytes but data_offsets [{begin}, {end}] hold {end - begin}.");
        return new Entry(new TensorInfo(dtype, shape), begin, end);
    }

    /// <inheritdoc />
    public bool Contains(string tensorName) => _entries.ContainsKey(tensorName);

    /// <inheritdoc />
    public TensorInfo GetInfo(string tensorName) => Find(tensorName).Info;

    /// <inheritdoc />
    public torch.Tensor Read(string tensorName)
    {
        var entry = Find(tensorName);
        return ReadBytes(tensorName, entry.Info.Shape, entry.Info.DType, entry.Begin, entry.End - entry.Begin);
    }

    /// <inheritdoc />
    /// <remarks>Reads only the rows' bytes (a tensor's rows are contiguous in the file).</remarks>
    public torch.Tensor ReadRows(string tensorName, long start, long count)
    {
        var (entry, begin, byteCount) = RowRange(tensorName, start, count);
        var rowsShape = (long[])entry.Info.Shape.Clone();
        rowsShape[0] = count;
        return ReadBytes(tensorName, rowsShape, entry.Info.DType, begin, byteCount);
    }

    /// <inheritdoc />
    /// <remarks>Reads the rows' bytes straight into <paramref name="destination"/>.</remarks>
    public void ReadRowsInto(string tensorName, long start, long count, torch.Tensor destination)
    {
        var (entry, begin, byteCount) = RowRange(tensorName, start, count);
        if (destination.dtype != entry.Info.DType || !destination.is_contiguous() || destination.numel() * destination.ElementSize != byteCount)
            throw new ArgumentException($"{Name}: the destination of '{tensorName}' rows must be a contiguous {entry.Info.DType} tensor of {byteCount} bytes.", nameof(destination));
        ReadBytesInto(tensorName, destination, begin, byteCount);
    }

    /// <summary>The entry and the data-relative byte range of rows <paramref name="start"/> … + <paramref name="count"/> − 1.</summary>
    private (Entry Entry, long Begin, long ByteCount) RowRange(string tensorName, long start, long count)
    {
        var entry = Find(tensorName);
        var shape = entry.Info.Shape;
        if (shape.Length == 0 || start < 0 || count < 0 || start + count > shape[0])
            throw new ArgumentOutOfRangeException(nameof(start), $"{Name}: rows {start}…{start + count - 1} of '{tensorName}' [{string.Join(", ", shape)}].");
        long rowBytes = shape[0] == 0 ? 0 : (entry.End - entry.Begin) / shape[0];
        return (entry, entry.Begin + rowBytes * start, rowBytes * count);
    }

    /// <summary>A new tensor of <paramref name="shape"/> filled with <paramref name="byteCount"/> bytes from data offset <paramref name="begin"/>.</summary>
    private torch.Tensor ReadBytes(string tensorName, long[] shape, torch.ScalarType dtype, long begin, long byteCount)
    {
        var t = torch.empty(shape, dtype);
        try
        {
            ReadBytesInto(tensorName, t, begin, byteCount);
            return t;
        }
        catch
        {
            t.Dispose();
            throw;
        }
    }

    /// <summary>Fills a contiguous tensor with <paramref name="byteCount"/> bytes from data offset <paramref name="begin"/>.</summary>
    private void ReadBytesInto(string tensorName, torch.Tensor t, long begin, long byteCount)
    {
        long read = NativeTensorMemory.ReadInto(_handle, _dataStart + begin, t, byteCount);
        if (read != byteCount)
            throw new CheckpointFormatException(Name, tensorName, $"read {read} of {byteCount} bytes: the file was truncated after it was opened.");
    }

    private Entry Find(string tensorName) =>
        _entries.TryGetValue(tensorName, out var e) ? e : throw new KeyNotFoundException($"{Name}: no tensor named '{tensorName}'.");

    /// <summary>Closes the file.</summary>
    public void Dispose() => _handle.Dispose();
}

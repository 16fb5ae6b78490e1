using System.Text;
using System.Text.Json;
using FusionBench.Core.Internal;
using TorchSharp;

namespace FusionBench.Core.Checkpoints;

/// <summary>Writes safetensors files atomically: to a temporary file in the same folder, renamed into place when complete.</summary>
public static class SafeTensorsWriter
{
    /// <summary>Writes the listed tensors of <paramref name="source"/> to one safetensors file.</summary>
    /// <param name="path">The file to write; an existing file is replaced only once the new one is complete.</param>
    /// <param name="source">Where the tensors come from; read one at a time.</param>
    /// <param name="tensorNames">Which tensors, in file order; all of <paramref name="source"/>'s when null.</param>
    /// <param name="metadata">Optional <c>__metadata__</c> strings (Hugging Face writes <c>format: pt</c>).</param>
    /// <param name="cancellationToken">Observed between tensors; a cancelled write leaves no file behind.</param>
    public static void Write(string path, IWeightSource source, IReadOnlyList<string>? tensorNames = null,
        IReadOnlyDictionary<string, string>? metadata = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(source);
        var names = tensorNames ?? source.TensorNames;
        AtomicFile.Write(path, tmp => WriteTo(tmp, source, names, metadata, cancellationToken));
    }

    internal static void WriteTo(string path, IWeightSource source, IReadOnlyList<string> names,
        IReadOnlyDictionary<string, string>? metadata, CancellationToken cancellationToken)
    {
        var header = BuildHeader(source, names, metadata, out long dataLength);
        using var handle = File.OpenHandle(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, FileOptions.None, 8 + header.Length + dataLength);
        Span<byte> len = stackalloc byte[8];
        BitConverter.TryWriteBytes(len, (ulong)header.Length);
        RandomAccess.Write(handle, len, 0);
        RandomAccess.Write(handle, header, 8);
        long offset = 8 + header.Length;
        foreach (var name in names)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = torch.NewDisposeScope();
            long end = offset + source.GetInfo(name).ByteCount;
            if (source is IRowBlockSource blocks)
                blocks.ReadInBlocks(name, block => offset = Append(handle, offset, end, block, name));
            else
                offset = Append(handle, offset, end, source.Read(name), name);
            if (offset != end) throw new InvalidOperationException($"'{name}' gave {offset - (end - source.GetInfo(name).ByteCount)} bytes; its header says {source.GetInfo(name).ByteCount}.");
        }
    }

    /// <summary>Writes a tensor's (or a block's) bytes at <paramref name="offset"/>; returns the offset after them.</summary>
    private static long Append(Microsoft.Win32.SafeHandles.SafeFileHandle handle, long offset, long end, torch.Tensor t, string name)
    {
        if (t.device_type != DeviceType.CPU) t = t.cpu();
        if (!t.is_contiguous()) t = t.contiguous();
        long n = t.NumberOfElements * t.ElementSize;
        if (offset + n > end) throw new InvalidOperationException($"'{name}' gave more bytes than its header's {end - offset} left.");
        NativeTensorMemory.WriteFrom(handle, offset, t, n);
        return offset + n;
    }

    /// <summary>The header JSON (padded with spaces to a multiple of 8 bytes, as Hugging Face does).</summary>
    private static byte[] BuildHeader(IWeightSource source, IReadOnlyList<string> names, IReadOnlyDictionary<string, string>? metadata, out long dataLength)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WritePropertyName("__metadata__");
                w.WriteStartObject();
                foreach (var (k, v) in metadata) w.WriteString(k, v);
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var name in names)
            {
                var info = source.GetInfo(name);
                long bytes = info.ByteCount;
                w.WritePropertyName(name);
                w.WriteStartObject();
                w.WriteString("dtype", SafeTensorsDType.NameOf(info.DType));
                w.WriteStartArray("shape");
                foreach (var d in info.Shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + bytes);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += bytes;
            }
            w.WriteEndObject();
            dataLength = offset;
        }
        int pad = (int)((8 - ms.Length % 8) % 8);
        for (int i = 0; i < pad; i++) ms.WriteByte((byte)' ');
        return ms.ToArray();
    }
}

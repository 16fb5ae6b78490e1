using System.Buffers.Binary;
using System.IO.Compression;
using FusionBench.Core.Checkpoints;
using static TorchSharp.torch;

namespace FusionBench.Suites.Data;

/// <summary>
/// Reads the IDX format of MNIST and Fashion-MNIST (big-endian magic 0x00000803 for images N×H×W of bytes,
/// 0x00000801 for labels N of bytes), plain or gzip-compressed (detected from the content).
/// </summary>
public static class IdxReader
{
    /// <summary>Reads images as a float32 tensor [N, 1, H, W] scaled to [0, 1].</summary>
    /// <param name="path">The IDX file (optionally .gz).</param>
    /// <param name="limit">Read at most this many images (all when null).</param>
    /// <exception cref="CheckpointFormatException">The file is not an IDX image file or is truncated.</exception>
    public static Tensor ReadImages(string path, int? limit = null)
    {
        var bytes = ReadAll(path);
        if (bytes.Length < 16 || BinaryPrimitives.ReadInt32BigEndian(bytes) != 0x00000803)
            throw new CheckpointFormatException(path, null, "not an IDX image file (expected magic 0x00000803).");
        int n = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4));
        int h = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(8));
        int w = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(12));
        if (n < 0 || h <= 0 || w <= 0)
            throw new CheckpointFormatException(path, null, $"invalid IDX dimensions {n}×{h}×{w}.");
        long needed = 16 + (long)n * h * w;
        if (bytes.Length < needed)
            throw new CheckpointFormatException(path, null, $"truncated: {n} images of {h}×{w} need {needed} bytes, the file has {bytes.Length}.");
        int count = Math.Min(n, limit ?? n);
        using var raw = tensor(bytes.AsSpan(16, count * h * w).ToArray(), new long[] { count, 1, h, w });
        return raw.to(ScalarType.Float32).div_(255.0);
    }

    /// <summary>Reads labels as an int64 tensor [N].</summary>
    /// <exception cref="CheckpointFormatException">The file is not an IDX label file or is truncated.</exception>
    public static Tensor ReadLabels(string path, int? limit = null)
    {
        var bytes = ReadAll(path);
        if (bytes.Length < 8 || BinaryPrimitives.ReadInt32BigEndian(bytes) != 0x00000801)
            throw new CheckpointFormatException(path, null, "not an IDX label file (expected magic 0x00000801).");
        int n = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4));
        if (n < 0 || bytes.Length < 8L + n)
            throw new CheckpointFormatException(path, null, $"truncated: {n} labels need {8L + n} bytes, the file has {bytes.Length}.");
        int count = Math.Min(n, limit ?? n);
        return tensor(bytes.AsSpan(8, count).ToArray().Select(b => (long)b).ToArray());
    }

    internal static byte[] ReadAll(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Dataset file not found: {path}", path);
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b)
        {
            try
            {
                using var gz = new GZipStream(new MemoryStream(bytes), CompressionMode.Decompress);
                using var ms = new MemoryStream();
                gz.CopyTo(ms);
                return ms.ToArray();
            }
            catch (InvalidDataException e)
            {
                throw new CheckpointFormatException(path, null, $"corrupt gzip data ({e.Message}).", e);
            }
        }
        return bytes;
    }
}

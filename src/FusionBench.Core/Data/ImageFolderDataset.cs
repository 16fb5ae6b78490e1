using SkiaSharp;
using static TorchSharp.torch;

namespace FusionBench.Core.Data;

/// <summary>
/// How images become a vision model's input: resize the shorter side to <see cref="Size"/> (bicubic), centre-crop
/// <see cref="Size"/>², scale to [0, 1] and normalise per channel — CLIP's preprocessing with its defaults.
/// </summary>
public sealed record ImagePreprocessing
{
    /// <summary>Output height and width (the model's <c>image_size</c>). Default 224.</summary>
    public int Size { get; init; } = 224;

    /// <summary>Channels: 3 (RGB) or 1 (grayscale, the luma of RGB). Default 3.</summary>
    public int Channels { get; init; } = 3;

    /// <summary>Per-channel mean subtracted after scaling to [0, 1]. Default CLIP's.</summary>
    public IReadOnlyList<float> Mean { get; init; } = new[] { 0.48145466f, 0.4578275f, 0.40821073f };

    /// <summary>Per-channel standard deviation divided by. Default CLIP's.</summary>
    public IReadOnlyList<float> Std { get; init; } = new[] { 0.26862954f, 0.26130258f, 0.27577711f };
}

/// <summary>
/// An image-classification data set in torchvision's <c>ImageFolder</c> layout: one sub-folder per class, holding that
/// class's images (PNG, JPEG, WebP, BMP, GIF; decoded with SkiaSharp). Classes are the sub-folders in ordinal order, or
/// the model's <c>id2label</c> names. Images are decoded batch by batch, never all at once.
/// </summary>
public sealed class ImageFolderDataset
{
    private static readonly string[] ImageExtensions = { ".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif" };

    private ImageFolderDataset(string root, IReadOnlyList<string> classes, IReadOnlyList<(string Path, int Label)> samples)
    {
        Root = root;
        Classes = classes;
        Samples = samples;
    }

    /// <summary>The root folder.</summary>
    public string Root { get; }

    /// <summary>Class names in label-id order.</summary>
    public IReadOnlyList<string> Classes { get; }

    /// <summary>Every image and its label, class by class, files in ordinal order.</summary>
    public IReadOnlyList<(string Path, int Label)> Samples { get; }

    /// <summary>Lists an ImageFolder tree.</summary>
    /// <param name="root">The folder with one sub-folder per class.</param>
    /// <param name="labels">The model's class names in id order (<c>id2label</c>): every sub-folder must be one of them;
    /// null to number the sub-folders in ordinal order as torchvision does.</param>
    /// <exception cref="FusionException">No such folder, no class folders, an empty class, or a class the model does not know.</exception>
    public static ImageFolderDataset Open(string root, IReadOnlyList<string>? labels = null)
    {
        ArgumentNullException.ThrowIfNull(root);
        if (!Directory.Exists(root)) throw new FusionException($"{root}: no such image folder.");
        var folders = Directory.GetDirectories(root).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList();
        if (folders.Count == 0) throw new FusionException($"{root}: no class sub-folders (ImageFolder layout: ROOT/CLASS/IMAGE).");
        var classes = labels ?? folders;
        var samples = new List<(string, int)>();
        foreach (var folder in folders)
        {
            int label = classes.ToList().IndexOf(folder);
            if (label < 0) throw new FusionException($"{Path.Combine(root, folder)}: class '{folder}' is not one of the model's labels ({string.Join(", ", classes)}).");
            var files = Directory.GetFiles(Path.Combine(root, folder)).Where(f => ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()))
                .Order(StringComparer.Ordinal).ToList();
            if (files.Count == 0) throw new FusionException($"{Path.Combine(root, folder)}: class '{folder}' has no images ({string.Join(", ", ImageExtensions)}).");
            samples.AddRange(files.Select(f => (f, label)));
        }
        return new ImageFolderDataset(root, classes, samples);
    }

    /// <summary>Decodes and preprocesses images <paramref name="start"/> … <paramref name="start"/> + <paramref name="count"/> − 1.</summary>
    /// <returns>Pixels [count, channels, size, size] (float32) and labels [count] (int64).</returns>
    /// <exception cref="FusionException">An image that does not decode; the message names the file.</exception>
    public (Tensor Pixels, Tensor Labels) Load(int start, int count, ImagePreprocessing preprocessing)
    {
        count = Math.Max(0, Math.Min(count, Samples.Count - start));
        return Load(Enumerable.Range(start, count).ToList(), preprocessing);
    }

    /// <summary>Decodes and preprocesses the images at <paramref name="rows"/>, in that order.</summary>
    /// <returns>Pixels [rows, channels, size, size] (float32) and labels [rows] (int64).</returns>
    /// <exception cref="FusionException">An image that does not decode; the message names the file.</exception>
    public (Tensor Pixels, Tensor Labels) Load(IReadOnlyList<int> rows, ImagePreprocessing preprocessing)
    {
        ArgumentNullException.ThrowIfNull(rows);
        ArgumentNullException.ThrowIfNull(preprocessing);
        int s = preprocessing.Size, c = preprocessing.Channels, count = rows.Count;
        if (c is not (1 or 3)) throw new ArgumentException($"Channels must be 1 or 3, got {c}.", nameof(preprocessing));
        var pixels = new float[count * c * s * s];
        for (int i = 0; i < count; i++) Decode(Samples[rows[i]].Path, preprocessing, pixels.AsSpan(i * c * s * s, c * s * s));
        return (tensor(pixels, new long[] { count, c, s, s }), tensor(rows.Select(r => (long)Samples[r].Label).ToArray()));
    }

    /// <summary>The whole data set in batches of <paramref name="batchSize"/>, decoded one batch at a time.</summary>
    public IEnumerable<(Tensor Pixels, Tensor Labels)> Batches(int batchSize, ImagePreprocessing preprocessing)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize));
        for (int start = 0; start < Samples.Count; start += batchSize) yield return Load(start, batchSize, preprocessing);
    }

    private static void Decode(string path, ImagePreprocessing p, Span<float> output)
    {
        using var original = SKBitmap.Decode(path) ?? throw new FusionException($"{path}: not a readable image (corrupt, or a format SkiaSharp does not decode).");
        int s = p.Size;
        // Resize the shorter side to s, keeping the aspect ratio, then take the centre s × s (CLIP's resize + centre crop).
        double scale = (double)s / Math.Min(original.Width, original.Height);
        int w = Math.Max(s, (int)Math.Round(original.Width * scale)), h = Math.Max(s, (int)Math.Round(original.Height * scale));
        using var resized = original.Resize(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul), new SKSamplingOptions(SKCubicResampler.CatmullRom))
            ?? throw new FusionException($"{path}: the image could not be resized.");
        int x0 = (w - s) / 2, y0 = (h - s) / 2;
        var bytes = resized.GetPixelSpan();
        int rowBytes = resized.RowBytes, plane = s * s;
        for (int y = 0; y < s; y++)
            for (int x = 0; x < s; x++)
            {
                int o = (y0 + y) * rowBytes + (x0 + x) * 4;
                float r = bytes[o] / 255f, g = bytes[o + 1] / 255f, b = bytes[o + 2] / 255f;
                if (p.Channels == 1) output[y * s + x] = (0.299f * r + 0.587f * g + 0.114f * b - p.Mean[0]) / p.Std[0];
                else
                {
                    output[y * s + x] = (r - p.Mean[0]) / p.Std[0];
                    output[plane + y * s + x] = (g - p.Mean[1]) / p.Std[1];
                    output[2 * plane + y * s + x] = (b - p.Mean[2]) / p.Std[2];
                }
            }
    }
}

using FusionBench.Core.Data;
using FusionBench.Core.Tests.TestSupport;
using SkiaSharp;
using Xunit;

namespace FusionBench.Core.Tests.Data;

/// <summary>ImageFolder trees decoded with SkiaSharp and preprocessed as CLIP does; one clear error per bad tree.</summary>
public class ImageFolderDatasetTests
{
    /// <summary>Writes a PNG: the left <paramref name="split"/> columns one colour, the rest another.</summary>
    internal static void WritePng(string path, int width, int height, SKColor left, SKColor right, int split)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var bitmap = new SKBitmap(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++) bitmap.SetPixel(x, y, x < split ? left : right);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        File.WriteAllBytes(path, data.ToArray());
    }

    [Fact]
    public void Open_NumbersClassesInOrdinalOrder_OrByTheModelsLabels_AndLoadResizesCropsAndNormalises()
    {
        using var dir = TestData.NewTempDir();
        // 16 × 8: the shorter side is already 8, so the centre crop keeps columns 4–11: four red, then four blue.
        WritePng(dir.File("root/red/a.png"), 16, 8, new SKColor(255, 0, 0), new SKColor(0, 0, 255), split: 8);
        WritePng(dir.File("root/blue/b.png"), 8, 8, new SKColor(0, 0, 255), new SKColor(0, 0, 255), split: 8);
        File.WriteAllText(dir.File("root/blue/notes.txt"), "not an image");

        var data = ImageFolderDataset.Open(dir.File("root"));
        Assert.Equal(new[] { "blue", "red" }, data.Classes);
        Assert.Equal(new[] { 0, 1 }, data.Samples.Select(s => s.Label));
        Assert.Equal(new[] { 1, 0 }, ImageFolderDataset.Open(dir.File("root"), new[] { "red", "blue" }).Samples.Select(s => s.Label));

        var p = new ImagePreprocessing { Size = 8, Mean = new[] { 0.5f, 0.25f, 0.125f }, Std = new[] { 0.5f, 0.25f, 2f } };
        var (pixels, labels) = data.Load(0, 2, p);
        using (pixels) using (labels)
        {
            Assert.Equal(new long[] { 2, 3, 8, 8 }, pixels.shape);
            Assert.Equal(new long[] { 0, 1 }, labels.data<long>().ToArray());
            var px = pixels.data<float>().ToArray();
            float At(int n, int c, int y, int x) => px[((n * 3 + c) * 8 + y) * 8 + x];
            // Blue everywhere in image 0: R = (0 − 0.5)/0.5, G = (0 − 0.25)/0.25, B = (1 − 0.125)/2.
            Assert.Equal((-1f, -1f, 0.4375f), (At(0, 0, 3, 3), At(0, 1, 3, 3), At(0, 2, 3, 3)));
            // Image 1 after the crop: red at x = 0 (R = 1), blue at x = 7 (R = −1, B = 0.4375).
            Assert.Equal(1f, At(1, 0, 4, 0), 4);
            Assert.Equal(-1f, At(1, 0, 4, 7), 4);
            Assert.Equal(0.4375f, At(1, 2, 4, 7), 4);
        }
        Assert.Equal(new[] { 1, 1 }, data.Batches(1, p).Select(b => { using (b.Pixels) using (b.Labels) return (int)b.Labels.shape[0]; }));
    }

    [Fact]
    public void BadTrees_AreOneClearErrorNamingTheFolderOrFile()
    {
        using var dir = TestData.NewTempDir();
        WritePng(dir.File("root/cat/a.png"), 8, 8, SKColors.Black, SKColors.White, 4);
        Directory.CreateDirectory(dir.File("root/dog"));
        var e = Assert.Throws<FusionException>(() => ImageFolderDataset.Open(dir.File("root")));
        Assert.Contains(Path.Combine(dir.File("root"), "dog"), e.Message);
        Assert.Contains("no images", e.Message);

        File.WriteAllBytes(dir.File("root/dog/broken.png"), new byte[] { 0x89, 0x50, 0x4E, 0x47, 1, 2, 3 });
        var data = ImageFolderDataset.Open(dir.File("root"));
        e = Assert.Throws<FusionException>(() => data.Load(0, 2, new ImagePreprocessing { Size = 8 }));
        Assert.Contains("broken.png", e.Message);
        Assert.Contains("not a readable image", e.Message);

        e = Assert.Throws<FusionException>(() => ImageFolderDataset.Open(dir.File("root"), new[] { "cat", "bird" }));
        Assert.Contains("class 'dog' is not one of the model's labels", e.Message);
        Directory.CreateDirectory(dir.File("empty"));
        Assert.Contains("no class sub-folders", Assert.Throws<FusionException>(() => ImageFolderDataset.Open(dir.File("empty"))).Message);
    }
}

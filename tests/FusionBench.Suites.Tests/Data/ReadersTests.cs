using System.IO.Compression;
using FusionBench.Core.Checkpoints;
using FusionBench.Suites.Data;
using FusionBench.Core.Tests.TestSupport;
using TorchSharp;
using Xunit;

namespace FusionBench.Suites.Tests.Data;

public class ReadersTests
{
    private static byte[] IdxImages(int n, int h, int w, Func<int, byte> pixel)
    {
        var b = new List<byte> { 0, 0, 8, 3 };
        foreach (var v in new[] { n, h, w }) b.AddRange(BitConverter.GetBytes(v).Reverse());
        for (int i = 0; i < n * h * w; i++) b.Add(pixel(i));
        return b.ToArray();
    }

    [Fact]
    public void IdxImages_KnownBytes_ScaleTo01_PlainAndGzip()
    {
        using var dir = TestData.NewTempDir();
        var bytes = IdxImages(2, 2, 3, i => (byte)(i * 20));
        File.WriteAllBytes(dir.File("img.idx"), bytes);
        using (var gz = new GZipStream(File.Create(dir.File("img.idx.gz")), CompressionLevel.Optimal)) gz.Write(bytes);
        foreach (var f in new[] { "img.idx", "img.idx.gz" })
        {
            using var t = IdxReader.ReadImages(dir.File(f));
            Assert.Equal(new long[] { 2, 1, 2, 3 }, t.shape);
            Assert.Equal(Enumerable.Range(0, 12).Select(i => i * 20 / 255f).ToArray(), TestData.Values(t));
        }
        using var one = IdxReader.ReadImages(dir.File("img.idx"), limit: 1);
        Assert.Equal(1, one.shape[0]);
    }

    [Fact]
    public void IdxLabels_KnownBytes()
    {
        using var dir = TestData.NewTempDir();
        File.WriteAllBytes(dir.File("lab.idx"), new byte[] { 0, 0, 8, 1, 0, 0, 0, 3, 7, 0, 9 });
        using var t = IdxReader.ReadLabels(dir.File("lab.idx"));
        Assert.Equal(new long[] { 7, 0, 9 }, t.data<long>().ToArray());
    }

    [Fact]
    public void Idx_TruncatedOrWrongMagicOrMissing_IsAClearError()
    {
        using var dir = TestData.NewTempDir();
        File.WriteAllBytes(dir.File("short.idx"), IdxImages(3, 2, 2, _ => 1)[..20]);
        var e = Assert.Throws<CheckpointFormatException>(() => IdxReader.ReadImages(dir.File("short.idx")));
        Assert.Contains("truncated", e.Message);
        Assert.Contains("short.idx", e.Message);
        Assert.Contains("magic 0x00000801", Assert.Throws<CheckpointFormatException>(() => IdxReader.ReadLabels(dir.File("short.idx"))).Message);
        Assert.Throws<FileNotFoundException>(() => IdxReader.ReadImages(dir.File("absent.idx")));
        File.WriteAllBytes(dir.File("bad.gz"), new byte[] { 0x1f, 0x8b, 1, 2, 3 });
        Assert.Contains("corrupt gzip", Assert.Throws<CheckpointFormatException>(() => IdxReader.ReadImages(dir.File("bad.gz"))).Message);
    }

    [Fact]
    public void DigitsCsv_KnownRows_AndBadRow()
    {
        using var dir = TestData.NewTempDir();
        var row1 = string.Join(",", Enumerable.Repeat("16", 64)) + ",3";
        var row2 = string.Join(",", Enumerable.Range(0, 64).Select(i => (i % 17).ToString())) + ",9";
        File.WriteAllText(dir.File("digits.csv"), row1 + "\n" + row2 + "\n");
        var (images, labels) = DigitsCsvReader.Read(dir.File("digits.csv"));
        using (images)
        using (labels)
        {
            Assert.Equal(new long[] { 2, 1, 8, 8 }, images.shape);
            Assert.Equal(new long[] { 3, 9 }, labels.data<long>().ToArray());
            Assert.Equal(1f, images[0, 0, 7, 7].ToSingle());
            Assert.Equal(5 / 16f, images[1, 0, 0, 5].ToSingle());
        }
        File.WriteAllText(dir.File("bad.csv"), row1 + "\n1,2,3\n");
        Assert.Contains("line 2 has 3 values", Assert.Throws<CheckpointFormatException>(() => DigitsCsvReader.Read(dir.File("bad.csv"))).Message);
    }
}

using System.Text;
using FusionBench.Core.Checkpoints;
using FusionBench.Core.Tests.TestSupport;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FusionBench.Core.Tests.Checkpoints;

public class SafeTensorsTests
{
    private static StateDict EveryDType()
    {
        return TestData.Dict(
            ("f64", tensor(new double[] { 1.5, -2.25, 1e300 })),
            ("f32", tensor(new float[,] { { 1, 2, 3 }, { 4, 5, 6 } })),
            ("f16", tensor(new float[] { 0.5f, -1, 65504 }).to(ScalarType.Float16)),
            ("bf16", tensor(new float[] { 0.5f, -1, 3e38f }).to(ScalarType.BFloat16)),
            ("i64", tensor(new long[] { long.MinValue, 0, long.MaxValue })),
            ("i32", tensor(new int[] { int.MinValue, 7 })),
            ("i16", tensor(new short[] { -3, 300 })),
            ("i8", tensor(new sbyte[] { -128, 127 })),
            ("u8", tensor(new byte[] { 0, 255 })),
            ("bool", tensor(new[] { true, false, true })),
            ("scalar", tensor(3.25f)),
            ("empty", zeros(0, 4)));
    }

    [Fact]
    public void RoundTrip_EveryDType_IsBitExact()
    {
        using var dir = TestData.NewTempDir();
        using var original = EveryDType();
        string path = dir.File("all.safetensors");
        SafeTensorsWriter.Write(path, original);
        using var read = SafeTensorsFile.Open(path);
        TestData.AssertIdentical(original, read);
        Assert.Equal(new[] { "all.safetensors" }, dir.Files()); // no temporary file left
    }

    [Fact]
    public void Writer_PadsHeaderTo8Bytes_AndWritesHuggingFaceLayout()
    {
        using var dir = TestData.NewTempDir();
        using var d = TestData.Dict(("w", tensor(new float[] { 1, 2 })));
        string path = dir.File("w.safetensors");
        SafeTensorsWriter.Write(path, d, metadata: new Dictionary<string, string> { ["format"] = "pt" });
        var bytes = File.ReadAllBytes(path);
        long n = BitConverter.ToInt64(bytes, 0);
        Assert.Equal(0, n % 8);
        string header = Encoding.UTF8.GetString(bytes, 8, (int)n).TrimEnd(' ');
        Assert.Equal("{\"__metadata__\":{\"format\":\"pt\"},\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", header);
        Assert.Equal(new byte[] { 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40 }, bytes[(8 + (int)n)..]);
        using var f = SafeTensorsFile.Open(path);
        Assert.Equal("pt", f.Metadata["format"]);
    }

    [Fact]
    public void Reader_ReadsPythonWrittenFile_WithKnownValues()
    {
        // Golden/models/pretrained.safetensors was written by generate_golden.py; position_ids is arange(6) as int64.
        using var f = SafeTensorsFile.Open(TestData.GoldenModel("pretrained"));
        Assert.Equal(ScalarType.BFloat16, f.GetInfo("layer.1.weight").DType);
        Assert.Equal(new long[] { 2, 3 }, f.GetInfo("head.weight").Shape);
        using var ids = f.Read("position_ids");
        Assert.Equal(new long[] { 0, 1, 2, 3, 4, 5 }, ids.data<long>().ToArray());
        using var bias = f.Read("layer.0.bias");
        Assert.Equal(0.25f, bias[0].ToSingle());
    }

    private static string WriteRaw(TempDir dir, string header, int dataBytes, ulong? declaredLength = null)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + h.Length + dataBytes];
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 8), declaredLength ?? (ulong)h.Length);
        h.CopyTo(bytes, 8);
        string path = dir.File("bad.safetensors");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Theory]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, "a", "run past the end")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, "b", "overlap tensor 'a'")]
    [InlineData("{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", 2, "a", "unknown or unsupported dtype 'F8_E4M3'")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "a", "needs 12 bytes")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,8]}}", 8, "a", "invalid dimension")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, "a", "not a valid [begin, end] pair")]
    [InlineData("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", 8, "a", "no 'data_offsets'")]
    [InlineData("[1,2]", 0, null, "not a JSON object")]
    [InlineData("{\"a\": nope", 0, null, "not valid JSON")]
    public void Reader_RejectsMalformedHeaders_NamingFileAndTensor(string header, int dataBytes, string? tensor, string problem)
    {
        using var dir = TestData.NewTempDir();
        string path = WriteRaw(dir, header, dataBytes);
        var e = Assert.Throws<CheckpointFormatException>(() => SafeTensorsFile.Open(path));
        Assert.Contains(path, e.Message);
        Assert.Contains(problem, e.Message);
        Assert.Equal(tensor, e.TensorName);
        if (tensor is not null) Assert.Contains($"'{tensor}'", e.Message);
    }

    [Fact]
    public void Reader_RejectsHeaderLengthPastEndOfFile()
    {
        using var dir = TestData.NewTempDir();
        string path = WriteRaw(dir, "{}", 0, declaredLength: 4096);
        var e = Assert.Throws<CheckpointFormatException>(() => SafeTensorsFile.Open(path));
        Assert.Contains("header length 4096 runs past the end of the file", e.Message);
    }

    [Fact]
    public void Reader_RejectsTruncatedFile()
    {
        using var dir = TestData.NewTempDir();
        using var d = TestData.Dict(("w", ones(1000)));
        string path = dir.File("w.safetensors");
        SafeTensorsWriter.Write(path, d);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^100]);
        var e = Assert.Throws<CheckpointFormatException>(() => SafeTensorsFile.Open(path));
        Assert.Contains("truncated", e.Message);
        Assert.Equal("w", e.TensorName);

        File.WriteAllBytes(path, bytes[..5]);
        Assert.Contains("too short", Assert.Throws<CheckpointFormatException>(() => SafeTensorsFile.Open(path)).Message);
    }

    [Fact]
    public void Writer_CancelledMidway_LeavesNoFile_AndKeepsAnEarlierOne()
    {
        using var dir = TestData.NewTempDir();
        string path = dir.File("out.safetensors");
        File.WriteAllText(path, "earlier output");
        using var d = TestData.Dict(("a", ones(10)), ("b", ones(10)));
        using var cts = new CancellationTokenSource();
        var source = new CancellingSource(d, cts);
        Assert.Throws<OperationCanceledException>(() => SafeTensorsWriter.Write(path, source, cancellationToken: cts.Token));
        Assert.Equal(new[] { "out.safetensors" }, dir.Files());
        Assert.Equal("earlier output", File.ReadAllText(path));
    }

    /// <summary>Cancels the token as soon as the first tensor's data is read, so the writer stops before the second.</summary>
    private sealed class CancellingSource(StateDict inner, CancellationTokenSource cts) : IWeightSource
    {
        public string Name => inner.Name;
        public IReadOnlyList<string> TensorNames => inner.TensorNames;
        public bool Contains(string tensorName) => inner.Contains(tensorName);
        public TensorInfo GetInfo(string tensorName) => inner.GetInfo(tensorName);

        public torch.Tensor Read(string tensorName)
        {
            var t = inner.Read(tensorName);
            cts.Cancel();
            return t;
        }

        public void Dispose() { }
    }
}

using FusionBench.Core.Checkpoints;
using FusionBench.Core.Tests.TestSupport;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FusionBench.Core.Tests.Checkpoints;

public class CheckpointTests
{
    private static StateDict Model() => TestData.Dict(
        ("a.weight", arange(12, dtype: ScalarType.Float32).view(3, 4)),
        ("b.weight", ones(5, dtype: ScalarType.BFloat16)),
        ("c.bias", full(3, 2.5, dtype: ScalarType.Float16)),
        ("ids", arange(3, dtype: ScalarType.Int64)));

    [Fact]
    public void Folder_BelowShardSize_IsOneModelSafetensors()
    {
        using var dir = TestData.NewTempDir();
        using var m = Model();
        Checkpoint.Save(m, dir.File("out"));
        Assert.Equal(new[] { Path.Combine("out", "model.safetensors") }, dir.Files());
        using var back = Checkpoint.Open(dir.File("out"));
        TestData.AssertIdentical(m, back);
    }

    [Fact]
    public void Folder_AboveShardSize_IsShardedWithIndex_AndReadsBack()
    {
        using var dir = TestData.NewTempDir();
        using var m = Model();
        Checkpoint.Save(m, dir.File("out"), maxShardBytes: 48);
        Assert.Equal(new[]
        {
            Path.Combine("out", "model-00001-of-00002.safetensors"),
            Path.Combine("out", "model-00002-of-00002.safetensors"),
            Path.Combine("out", "model.safetensors.index.json"),
        }, dir.Files());
        string index = File.ReadAllText(dir.File(Path.Combine("out", "model.safetensors.index.json")));
        Assert.Contains("\"total_size\": 88", index); // 48 + 10 + 6 + 24 bytes
        using var back = Checkpoint.Open(dir.File("out"));
        Assert.IsType<ShardedCheckpoint>(back);
        foreach (var n in m.TensorNames)
        {
            using var t = back.Read(n);
            Assert.True(t.eq(m[n]).all().ToBoolean());
        }

        // Saving again unsharded replaces the shards instead of mixing files of two saves.
        Checkpoint.Save(m, dir.File("out"));
        Assert.Equal(new[] { Path.Combine("out", "model.safetensors") }, dir.Files());
    }

    [Fact]
    public void ShardIndex_NamingAMissingShard_IsAClearError()
    {
        using var dir = TestData.NewTempDir();
        File.WriteAllText(dir.File("model.safetensors.index.json"), "{\"weight_map\": {\"w\": \"model-00001-of-00002.safetensors\"}}");
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(dir.Path));
        Assert.Contains("shard file 'model-00001-of-00002.safetensors' does not exist", e.Message);
        Assert.Equal("w", e.TensorName);
    }

    [Fact]
    public void PyTorchFile_RoundTripsThroughPyBridge()
    {
        using var dir = TestData.NewTempDir();
        using var m = Model();
        Checkpoint.Save(m, dir.File("model.bin"));
        using var back = Checkpoint.Open(dir.File("model.bin"));
        TestData.AssertClose(m, back, atol: 0, rtol: 0);
    }

    [Fact]
    public void PyTorchFile_WrittenByTorchSave_ReadsTheSameWeightsAsSafetensors()
    {
        // Golden/models/pretrained.bin was written by torch.save in generate_golden.py (F32, BF16, F16, F64, I64).
        using var fromPickle = Checkpoint.Open(Path.Combine(TestData.GoldenDir, "models", "pretrained.bin"));
        using var fromSafetensors = Checkpoint.Open(TestData.GoldenModel("pretrained"));
        TestData.AssertClose(fromSafetensors, fromPickle, atol: 0, rtol: 0);
    }

    [Fact]
    public void PyTorchFolder_WithPytorchModelBin_Opens()
    {
        using var dir = TestData.NewTempDir();
        using var m = Model();
        Directory.CreateDirectory(dir.File("hf"));
        Checkpoint.Save(m, dir.File(Path.Combine("hf", "pytorch_model.bin")));
        using var back = Checkpoint.Open(dir.File("hf"));
        Assert.Equal(m.TensorNames, back.TensorNames); // the zip reader keeps the pickle's order
    }

    [Fact]
    public void Open_MissingPathOrEmptyFolder_SaysWhatWasLookedFor()
    {
        using var dir = TestData.NewTempDir();
        Assert.Throws<FileNotFoundException>(() => Checkpoint.Open(dir.File("nope.safetensors")));
        var e = Assert.Throws<FileNotFoundException>(() => Checkpoint.Open(dir.Path));
        Assert.Contains("model.safetensors", e.Message);
    }

    [Fact]
    public void CorruptPyTorchFile_IsAClearError()
    {
        using var dir = TestData.NewTempDir();
        File.WriteAllText(dir.File("broken.bin"), "not a zip");
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(dir.File("broken.bin")));
        Assert.Contains("broken.bin", e.Message);
        Assert.Contains("not a readable PyTorch state dict", e.Message);
    }
}

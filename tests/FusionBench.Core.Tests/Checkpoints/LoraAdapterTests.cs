using FusionBench.Core.Algorithms;
using FusionBench.Core.Algorithms.Merging.TaskArithmetic;
using FusionBench.Core.Checkpoints;
using FusionBench.Core.ModelPools;
using FusionBench.Core.Tests.TestSupport;
using Xunit;

namespace FusionBench.Core.Tests.Checkpoints;

/// <summary>PEFT LoRA adapter folders as models: PEFT's merge formula (Golden/lora), merged by every method, clear errors.</summary>
public class LoraAdapterTests
{
    private static string Lora(string name) => Path.Combine(TestData.GoldenDir, "lora", name);

    [Theory]
    [InlineData("plain")]
    [InlineData("patterns")]
    [InlineData("conv1d")]
    public void AnAdapterOverItsBase_IsPeftsMergeAndUnload(string adapter)
    {
        using var baseModel = Checkpoint.Open(Lora("base.safetensors"));
        using var model = new LoraAdapter(Lora(adapter), baseModel);
        using var expected = Checkpoint.Open(Lora(adapter + ".merged.safetensors"));
        TestData.AssertClose(expected, model, atol: 1e-6, rtol: 1e-6);
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("patterns")]
    [InlineData("conv1d")]
    public void RowBlocks_AreTheRowsOfTheWholeTensor_BitForBit(string adapter)
    {
        using var baseModel = Checkpoint.Open(Lora("base.safetensors"));
        using var model = new LoraAdapter(Lora(adapter), baseModel);
        foreach (var name in model.TensorNames)
        {
            var shape = model.GetInfo(name).Shape;
            if (shape.Length == 0 || shape[0] < 2) continue;
            using var whole = model.Read(name);
            long start = 1, count = shape[0] - 1;
            using var rows = model.ReadRows(name, start, count);
            using var expected = whole.narrow(0, start, count).contiguous();
            Assert.True(expected.bytes.SequenceEqual(rows.contiguous().bytes), $"{adapter}/{name}: ReadRows differs from Read");
            using var into = TorchSharp.torch.empty(expected.numel(), expected.dtype);
            model.ReadRowsInto(name, start, count, into);
            Assert.True(expected.bytes.SequenceEqual(into.bytes), $"{adapter}/{name}: ReadRowsInto differs from Read");
        }
    }

    [Fact]
    public void AdaptersInAPool_AreMergedLikeFullModels_StreamedToDisk()
    {
        using var dir = TestData.NewTempDir();
        using var pool = ModelPool.FromCheckpoints(Lora("base.safetensors"), new Dictionary<string, string> { ["plain"] = Lora("plain"), ["patterns"] = Lora("patterns") });
        var result = StreamingMerge.MergeToCheckpoint(new TaskArithmeticAlgorithm(new() { ScalingFactor = 0.5 }), pool, dir.File("merged.safetensors"));
        Assert.True(result.Streamed);
        using var merged = Checkpoint.Open(dir.File("merged.safetensors"));
        using var b = Checkpoint.Open(Lora("base.safetensors"));
        using var p = Checkpoint.Open(Lora("plain.merged.safetensors"));
        using var q = Checkpoint.Open(Lora("patterns.merged.safetensors"));
        foreach (var name in b.TensorNames)
        {
            using var expected = b.GetInfo(name).IsFloatingPoint ? b.Read(name) + 0.5 * (p.Read(name) - b.Read(name) + q.Read(name) - b.Read(name)) : b.Read(name);
            using var actual = merged.Read(name);
            Assert.True(actual.allclose(expected, rtol: 1e-5, atol: 1e-6), name);
        }
    }

    [Fact]
    public void UnsupportedAdapters_AreOneClearErrorNamingTheFile()
    {
        using var dir = TestData.NewTempDir();
        using var baseModel = Checkpoint.Open(Lora("base.safetensors"));
        string Copy(string name, Func<string, string> editConfig)
        {
            string folder = dir.File(name);
            Directory.CreateDirectory(folder);
            File.Copy(Path.Combine(Lora("plain"), "adapter_model.safetensors"), Path.Combine(folder, "adapter_model.safetensors"));
            File.WriteAllText(Path.Combine(folder, "adapter_config.json"), editConfig(File.ReadAllText(Path.Combine(Lora("plain"), "adapter_config.json"))));
            return folder;
        }
        Assert.Contains("use_dora", Assert.Throws<FusionException>(() => new LoraAdapter(Copy("dora", c => c.Replace("\"r\": 2", "\"r\": 2, \"use_dora\": true")), baseModel)).Message);
        Assert.Contains("peft_type 'IA3'", Assert.Throws<FusionException>(() => new LoraAdapter(Copy("ia3", c => c.Replace("\"LORA\"", "\"IA3\"")), baseModel)).Message);
        Assert.Contains("rank 2 but rank_pattern says 5", Assert.Throws<FusionException>(() =>
            new LoraAdapter(Copy("rank", c => c.Replace("\"r\": 2", "\"r\": 2, \"rank_pattern\": {\"q_proj\": 5}")), baseModel)).Message);
        using var other = Checkpoint.Open(TestData.GoldenModel("pretrained"));
        Assert.Contains("does not have", Assert.Throws<FusionException>(() => new LoraAdapter(Lora("plain"), other)).Message);
        Assert.Contains("give its base model", Assert.Throws<FusionException>(() =>
            ModelPool.FromCheckpoints(null, new Dictionary<string, string> { ["plain"] = Lora("plain") })).Message);
    }
}

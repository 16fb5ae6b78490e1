using FusionBench.Core.Checkpoints;
using FusionBench.Core.Tests.TestSupport;
using TorchSharp;
using Xunit;

namespace FusionBench.Core.Tests.Checkpoints;

/// <summary>
/// torch.save files read tensor by tensor through the restricted unpickler (Golden/torchsave, written by PyTorch 1.13's
/// torch.save): every dtype, shared storages, strided views — and a pickle that would run code is refused, not run.
/// </summary>
public class TorchZipCheckpointTests
{
    private static string Dir => Path.Combine(TestData.GoldenDir, "torchsave");

    [Fact]
    public void StateDict_ReadsEveryTensorAsPyTorchSavedIt_InPickleOrder()
    {
        using var source = Checkpoint.Open(Path.Combine(Dir, "state_dict.pt"));
        Assert.IsNotType<StateDict>(source); // lazy, not unpickled whole
        Assert.Equal(new[] { "f32.weight", "f16.weight", "bf16.weight", "f64.bias", "position_ids", "mask", "scalar", "param", "tied.a", "tied.b", "transposed", "slice" },
            source.TensorNames);
        using var expected = SafeTensorsFile.Open(Path.Combine(Dir, "expected.safetensors"));
        foreach (var name in expected.TensorNames)
        {
            using var e = expected.Read(name);
            using var a = source.Read(name);
            Assert.Equal(e.dtype, a.dtype);
            Assert.Equal(e.shape, a.shape);
            Assert.Equal(e.shape, source.GetInfo(name).Shape);
            Assert.True(e.eq(a).all().ToBoolean(), $"{name} differs from what torch.save wrote");
        }
        using var mask = source.Read("mask");
        Assert.Equal(torch.ScalarType.Bool, mask.dtype);
        Assert.Equal(new[] { true, false, true }, mask.data<bool>().ToArray());
    }

    [Fact]
    public void TiedTensors_AreIndependentCopies()
    {
        using var source = Checkpoint.Open(Path.Combine(Dir, "state_dict.pt"));
        using var a = source.Read("tied.a");
        using var b = source.Read("tied.b");
        a.add_(1);
        Assert.False(a.eq(b).all().ToBoolean());
    }

    [Fact]
    public void PickledCode_IsRefused_AndNeverRuns()
    {
        string marker = "/tmp/fusionbench-evil-ran";
        File.Delete(marker);
        var e = Assert.Throws<CheckpointFormatException>(() => Checkpoint.Open(Path.Combine(Dir, "evil.pt")));
        Assert.Contains("refusing to run pickled code", e.Message);
        Assert.Contains("system", e.Message);
        Assert.False(File.Exists(marker));
    }
}

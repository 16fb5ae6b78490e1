using FusionBench.Core.Checkpoints;
using FusionBench.Core.ModelPools;
using TorchSharp;
using Xunit;

namespace FusionBench.Core.Tests.TestSupport;

/// <summary>Golden files, temporary folders and tensor assertions shared by the tests.</summary>
internal static class TestData
{
    public static string GoldenDir => Path.Combine(AppContext.BaseDirectory, "Golden");

    public static string GoldenModel(string name) => Path.Combine(GoldenDir, "models", name + ".safetensors");

    public static readonly string[] GoldenTasks = { "task_a", "task_b", "task_c" };

    /// <summary>The golden pretrained model and its three fine-tuned models, opened from disk.</summary>
    public static ModelPool GoldenPool() =>
        ModelPool.FromCheckpoints(GoldenModel("pretrained"), GoldenTasks.Select(t => new KeyValuePair<string, string>(t, GoldenModel(t))));

    public static TempDir NewTempDir() => new();

    /// <summary>Asserts equal names, dtypes, shapes and values within <paramref name="atol"/> + <paramref name="rtol"/>·|expected|.</summary>
    public static void AssertClose(IWeightSource expected, IWeightSource actual, double atol = 1e-6, double rtol = 1e-5)
    {
        Assert.Equal(expected.TensorNames.OrderBy(n => n, StringComparer.Ordinal), actual.TensorNames.OrderBy(n => n, StringComparer.Ordinal));
        foreach (var name in expected.TensorNames)
        {
            using var e = expected.Read(name);
            using var a = actual.Read(name);
            Assert.True(e.dtype == a.dtype, $"{name}: dtype {a.dtype}, expected {e.dtype}");
            Assert.Equal(e.shape, a.shape);
            if (!torch.is_floating_point(e.dtype))
            {
                Assert.True(e.eq(a).all().ToBoolean(), $"{name}: integer values differ");
                continue;
            }
            using var ed = e.to(torch.float64);
            using var ad = a.to(torch.float64);
            using var diff = (ed - ad).abs();
            using var bound = ed.abs() * rtol + atol;
            double worst = (diff - bound).max().ToDouble();
            Assert.True(worst <= 0, $"{name}: max |diff| {diff.max().ToDouble():G6} exceeds tolerance (atol {atol}, rtol {rtol})");
        }
    }

    /// <summary>Asserts bit-identical tensors (same dtype, shape and every element).</summary>
    public static void AssertIdentical(IWeightSource expected, IWeightSource actual)
    {
        Assert.Equal(expected.TensorNames, actual.TensorNames);
        foreach (var name in expected.TensorNames)
        {
            using var e = expected.Read(name);
            using var a = actual.Read(name);
            Assert.True(e.dtype == a.dtype, $"{name}: dtype {a.dtype}, expected {e.dtype}");
            Assert.Equal(e.shape, a.shape);
            Assert.True(e.eq(a).all().ToBoolean(), $"{name}: values differ");
        }
    }

    public static StateDict Dict(params (string Name, torch.Tensor Tensor)[] tensors)
    {
        var d = new StateDict();
        foreach (var (n, t) in tensors) d.Add(n, t);
        return d;
    }

    public static float[] Values(torch.Tensor t) => t.to(torch.float32).contiguous().data<float>().ToArray();
}

/// <summary>A temporary folder deleted on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "fusionbench-tests-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>Every file left in the folder (recursively), relative names.</summary>
    public string[] Files() => Directory.GetFiles(Path, "*", SearchOption.AllDirectories).Select(f => System.IO.Path.GetRelativePath(Path, f)).OrderBy(f => f).ToArray();

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

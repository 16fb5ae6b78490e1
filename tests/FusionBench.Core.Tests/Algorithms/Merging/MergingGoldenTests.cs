using System.Text.Json;
using FusionBench.Core.Checkpoints;
using FusionBench.Core.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace FusionBench.Core.Tests.Algorithms.Merging;

/// <summary>
/// Every data-free method against FusionBench's own algorithms (Golden/generate_golden.py imports them from a
/// FusionBench checkout): the same tiny models (F32, BF16, F16, F64 and an I64 buffer), merged by FusionBench and by
/// FusionBench.Core.
/// </summary>
public class MergingGoldenTests
{
    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestData.GoldenDir, "cases.json")));
        // Methods whose result is a shared model plus per-task parts have their own test (PerTaskGoldenTests).
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateArray())
            if (c.TryGetProperty("expected", out _) && (!c.TryGetProperty("per_task", out var perTask) || !perTask.GetBoolean()))
                data.Add(c.GetProperty("case").GetString()!);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Merge_MatchesFusionBench(string caseName)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestData.GoldenDir, "cases.json")));
        var c = doc.RootElement.GetProperty("cases").EnumerateArray().Single(e => e.GetProperty("case").GetString() == caseName);
        var (algorithm, pool) = Load(c);
        using var _ = pool;
        using var result = algorithm.Fuse(pool);
        using var expected = SafeTensorsFile.Open(Path.Combine(TestData.GoldenDir, c.GetProperty("expected").GetString()!));

        // BF16/F16 outputs may differ by one rounding step of their 8/11-bit mantissas; float32/64 tensors tightly.
        TestData.AssertClose(expected, result.Weights, atol: 1e-6, rtol: 8e-3);
        foreach (var name in new[] { "embed.weight", "layer.0.weight", "layer.0.bias", "head.weight" })
        {
            using var e = expected.Read(name);
            using var a = result.Weights.Read(name);
            Assert.True(torch_allclose(e, a, 1e-5, 1e-6), $"{caseName}/{name}: float32/64 tensor differs from the reference");
        }
    }

    /// <summary>A case's method (by name, with its parameters) and its pool of the golden models.</summary>
    internal static (IFusionAlgorithm Algorithm, ModelPools.ModelPool Pool) Load(JsonElement c, string? method = null)
    {
        var parameters = c.GetProperty("parameters").EnumerateObject()
            .Select(p => new KeyValuePair<string, string>(p.Name, p.Value.ValueKind switch
            {
                JsonValueKind.String => p.Value.GetString()!,
                JsonValueKind.True => "true",
                JsonValueKind.False => "false",
                JsonValueKind.Array => "[" + string.Join(",", p.Value.EnumerateArray().Select(v => v.ValueKind == JsonValueKind.String ? v.GetString() : v.GetRawText())) + "]",
                _ => p.Value.GetRawText(),
            })).Where(p => method is null || p.Key != "prun_thre_k").ToList();
        using var services = new ServiceCollection().AddFusionBench().Services.BuildServiceProvider();
        var algorithm = services.GetRequiredService<IFusionAlgorithmProvider>().Create(method ?? c.GetProperty("method").GetString()!, parameters);
        // A case may name its pool (slerp interpolates between exactly two models); by default the pretrained model and all three.
        var models = c.TryGetProperty("models", out var m) ? m.EnumerateArray().Select(e => e.GetString()!).ToArray() : TestData.GoldenTasks;
        bool withPretrained = !c.TryGetProperty("pretrained", out var pre) || pre.GetBoolean();
        var pool = ModelPools.ModelPool.FromCheckpoints(withPretrained ? TestData.GoldenModel("pretrained") : null,
            models.Select(t => new KeyValuePair<string, string>(t, TestData.GoldenModel(t))));
        return (algorithm, pool);
    }

    private static bool torch_allclose(TorchSharp.torch.Tensor a, TorchSharp.torch.Tensor b, double rtol, double atol) =>
        a.to(TorchSharp.torch.float64).allclose(b.to(TorchSharp.torch.float64), rtol, atol);
}

using System.Text.Json;
using FusionBench.Core.Algorithms.Merging.TallMask;
using FusionBench.Core.Checkpoints;
using FusionBench.Core.Tests.TestSupport;
using TorchSharp;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace FusionBench.Core.Tests.Algorithms.Merging;

/// <summary>
/// Methods whose result is a shared model plus per-task parts (EMR-Merging, TALL masks, TSV's single-task models) against
/// FusionBench's own code (Golden/generate_golden.py): every task's model, and the parts themselves (masks, unified
/// vector, rescalers).
/// </summary>
public class PerTaskGoldenTests
{
    private static JsonElement[] All()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestData.GoldenDir, "cases.json")));
        return doc.RootElement.GetProperty("cases").EnumerateArray().Select(c => c.Clone()).ToArray();
    }

    private static JsonElement Case(string name) => All().Single(c => c.GetProperty("case").GetString() == name);

    private static SafeTensorsFile Golden(string relative) => SafeTensorsFile.Open(Path.Combine(TestData.GoldenDir, relative));

    public static TheoryData<string> PerTaskCases()
    {
        var data = new TheoryData<string>();
        foreach (var c in All())
            if (c.TryGetProperty("per_task", out var p) && p.GetBoolean()) data.Add(c.GetProperty("case").GetString()!);
        return data;
    }

    [Theory]
    [MemberData(nameof(PerTaskCases))]
    public void EveryTasksModel_MatchesFusionBench(string caseName)
    {
        var c = Case(caseName);
        var (algorithm, pool) = MergingGoldenTests.Load(c);
        using var _ = pool;
        using var result = algorithm.Fuse(pool);
        var parts = result.TaskWeights ?? throw new Xunit.Sdk.XunitException("no per-task parts");
        Assert.Equal(c.GetProperty("expected_tasks").EnumerateObject().Select(p => p.Name), parts.Tasks);
        foreach (var task in c.GetProperty("expected_tasks").EnumerateObject())
        {
            using var expected = Golden(task.Value.GetString()!);
            using var actual = parts.WeightsFor(task.Name);
            TestData.AssertClose(expected, actual, atol: 1e-6, rtol: 8e-3);
        }
        if (c.TryGetProperty("expected", out var merged))
        {
            using var expected = Golden(merged.GetString()!);
            TestData.AssertClose(expected, result.Weights, atol: 1e-6, rtol: 8e-3);
        }
        if (!c.TryGetProperty("extras", out var extras)) return;
        foreach (var extra in extras.EnumerateObject())
        {
            using var golden = Golden(extra.Value.GetString()!);
            if (extra.Name.StartsWith("mask.", StringComparison.Ordinal))
            {
                var masks = parts.Modulators[extra.Name["mask.".Length..]].Masks!;
                foreach (var n in golden.TensorNames)
                {
                    using var e = golden.Read(n).to(torch.ScalarType.Bool);
                    Assert.True(e.shape.SequenceEqual(masks[n].shape) && e.eq(masks[n]).all().ToBoolean(), $"{caseName}: mask of {extra.Name}/{n} differs from FusionBench's");
                }
            }
            else if (extra.Name == "unified")
                TestData.AssertClose(golden, parts.SharedTaskVector, atol: 1e-6, rtol: 1e-5);
            else if (extra.Name == "rescalers")
            {
                using var r = golden.Read(golden.TensorNames[0]);
                var expected = TestData.Values(r);
                for (int t = 0; t < parts.Tasks.Count; t++)
                    Assert.Equal(expected[t], parts.Modulators[parts.Tasks[t]].Scale, 5);
            }
        }
    }

    [Theory]
    [InlineData("tall_mask_consensus")]
    [InlineData("tall_mask_consensus_k1")]
    public void ConsensusMask_IsFusionBenchs_FromTheTallMasks(string caseName)
    {
        var c = Case(caseName);
        int k = c.GetProperty("parameters").GetProperty("prun_thre_k").GetInt32();
        var (algorithm, pool) = MergingGoldenTests.Load(c, method: "tall_mask_task_arithmetic");
        using var _ = pool;
        using var result = algorithm.Fuse(pool);
        var parts = result.TaskWeights!;
        using var golden = Golden(c.GetProperty("extras").GetProperty("consensus_mask").GetString()!);
        foreach (var n in golden.TensorNames)
        {
            using var consensus = TallMaskConsensusAlgorithm.Consensus(parts.Tasks.Select(t => parts.Modulators[t].Masks![n]).ToList(), k);
            using var e = golden.Read(n).to(torch.ScalarType.Bool);
            Assert.True(e.shape.SequenceEqual(consensus.shape) && e.eq(consensus).all().ToBoolean(), $"{caseName}: consensus mask of {n} differs from FusionBench's");
        }
    }

    [Fact]
    public void ConsensusMerging_WithKZero_IsTaskArithmetic()
    {
        using var pool = TestData.GoldenPool();
        using var services = new ServiceCollection().AddFusionBench().Services.BuildServiceProvider();
        var provider = services.GetRequiredService<IFusionAlgorithmProvider>();
        using var consensus = provider.Create("tall_mask_consensus", new[] { KeyValuePair.Create("prun_thre_k", "0"), KeyValuePair.Create("scaling_factor", "0.4") }).Fuse(pool);
        using var ta = provider.Create("task_arithmetic", new[] { KeyValuePair.Create("scaling_factor", "0.4") }).Fuse(pool);
        TestData.AssertClose(ta.Weights, consensus.Weights, atol: 1e-6, rtol: 1e-5);
    }
}

using FusionBench.Core.Algorithms.Merging.TaskArithmetic;
using FusionBench.Core.ModelPools;
using FusionBench.Core.Tests.TestSupport;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FusionBench.Core.Tests.TaskVectors;

/// <summary>Task arithmetic on bfloat16 storage: bit for bit the float32 merge cast to bfloat16.</summary>
public class Bf16KernelsTests
{
    private static StateDict Model(int seed, bool bf16)
    {
        using var g = new Generator((ulong)seed);
        var d = new StateDict("m" + seed);
        // A tensor over MergePlan.BlockElements (several row blocks), one with a vector tail, a scalar and a vector.
        foreach (var (name, shape) in new (string, long[])[] { ("embed.weight", new long[] { 2049, 2050 }), ("proj.weight", new long[] { 7, 13 }), ("norm.weight", new long[] { 5 }), ("scale", Array.Empty<long>()) })
        {
            var t = randn(shape, generator: g).mul_(seed == 0 ? 1.0 : 0.01);
            var stored = t.to(ScalarType.BFloat16);
            d.Add(name, bf16 ? stored : stored.to(ScalarType.Float32));
            t.Dispose();
        }
        return d;
    }

    [Theory]
    [InlineData(0.3)]
    [InlineData(1.0)]
    [InlineData(-0.7)]
    public void TaskArithmetic_OnBf16_EqualsTheFloat32MergeCastToBf16(double lambda)
    {
        using var preB = Model(0, bf16: true);
        var tasks = Enumerable.Range(1, 4).ToList();
        var bf16 = tasks.Select(i => { var m = Model(0, true); using var d = Model(i, true); foreach (var n in m.TensorNames) m[n].add_(d[n]); return m; }).ToList();
        using var poolB = new ModelPool(preB, bf16.Select((m, i) => KeyValuePair.Create($"t{i}", (IWeightSource)m)), ownsSources: false);
        var f32 = bf16.Select(m => { var c = new StateDict(m.Name); foreach (var n in m.TensorNames) c.Add(n, m[n].to(ScalarType.Float32)); return c; }).ToList();
        var preF32 = new StateDict("pre"); foreach (var n in preB.TensorNames) preF32.Add(n, preB[n].to(ScalarType.Float32));
        using var poolF = new ModelPool(preF32, f32.Select((m, i) => KeyValuePair.Create($"t{i}", (IWeightSource)m)), ownsSources: false);
        var options = new TaskArithmeticOptions { ScalingFactor = lambda };
        using var fast = new TaskArithmeticAlgorithm(options).Fuse(poolB);
        using var reference = new TaskArithmeticAlgorithm(options).Fuse(poolF);
        foreach (var n in preB.TensorNames)
        {
            var a = fast.Weights[n];
            Assert.Equal(ScalarType.BFloat16, a.dtype);
            using var e = reference.Weights[n].to(ScalarType.BFloat16);
            Assert.True(a.contiguous().bytes.SequenceEqual(e.contiguous().bytes), $"{n} differs from the float32 merge");
        }
        foreach (var m in bf16.Concat(f32)) m.Dispose();
        preF32.Dispose();
    }
}

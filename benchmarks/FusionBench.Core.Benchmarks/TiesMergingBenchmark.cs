using BenchmarkDotNet.Attributes;
using FusionBench.Core.Algorithms.Merging.TaskArithmetic;
using FusionBench.Core.Algorithms.Merging.TiesMerging;
using FusionBench.Core.ModelPools;

namespace FusionBench.Core.Benchmarks;

/// <summary>TIES with FusionBench's defaults (threshold 20, sum, λ 0.3) over 8 × 10M float32, against task arithmetic on the same pool.</summary>
[MemoryDiagnoser]
public class TiesMergingBenchmark
{
    private StateDict _pre = null!;
    private StateDict[] _fts = null!;
    private ModelPool _pool = null!;

    [GlobalSetup]
    public void Setup() => (_pre, _fts, _pool) = BenchmarkModels.Pool(8, 10_000_000, 1_000_000);

    [Benchmark(Baseline = true)]
    public void TaskArithmetic8x10M()
    {
        using var result = new TaskArithmeticAlgorithm(new TaskArithmeticOptions()).Fuse(_pool);
    }

    [Benchmark]
    public void TiesMerging8x10M()
    {
        using var result = new TiesMergingAlgorithm(new TiesMergingOptions()).Fuse(_pool);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _pool.Dispose();
        _pre.Dispose();
        foreach (var f in _fts) f.Dispose();
    }
}

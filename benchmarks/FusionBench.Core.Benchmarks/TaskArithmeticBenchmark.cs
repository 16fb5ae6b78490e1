using BenchmarkDotNet.Attributes;
using FusionBench.Core.Algorithms.Merging.TaskArithmetic;
using FusionBench.Core.ModelPools;
using static TorchSharp.torch;

namespace FusionBench.Core.Benchmarks;

/// <summary>
/// Task arithmetic over 8 fine-tuned models of 100M float32 parameters each, in memory (tensors of 4M, like the
/// layers of a ViT-B checkpoint), against a plain copy of one model's bytes measured in the same run. Bytes moved by
/// the merge at the minimum: 9 models read + 1 written = 4.0 GB; by the copy: 0.4 GB read + 0.4 GB written.
/// </summary>
[MemoryDiagnoser]
public class TaskArithmeticBenchmark
{
    private const long Parameters = 100_000_000;
    private StateDict _pre = null!;
    private StateDict[] _fts = null!;
    private ModelPool _pool = null!;
    private Tensor _copySource = null!;
    private Tensor _copyTarget = null!;

    [GlobalSetup]
    public void Setup()
    {
        (_pre, _fts, _pool) = BenchmarkModels.Pool(8, Parameters, 4_000_000);
        _copySource = randn(Parameters);
        _copyTarget = empty(Parameters);
        _copyTarget.copy_(_copySource); // touch the pages once
    }

    /// <summary>Copy bandwidth of this machine: one model's 0.4 GB copied once (read + write = 0.8 GB moved).</summary>
    [Benchmark(Baseline = true)]
    public void CopyOneModel() => _copyTarget.copy_(_copySource);

    /// <summary>
    /// The cost of producing one model-sized result in fresh memory (allocate + first write, page faults included):
    /// a floor that any merge returning a new 0.4 GB model pays on top of reading its inputs.
    /// </summary>
    [Benchmark]
    public void AllocateAndFillOneModel()
    {
        using var t = empty(Parameters);
        t.fill_(1.0f);
    }

    /// <summary>The library's task arithmetic, result allocated and freed as a user would.</summary>
    [Benchmark]
    public void TaskArithmetic8x100M()
    {
        using var result = new TaskArithmeticAlgorithm(new TaskArithmeticOptions()).Fuse(_pool);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _pool.Dispose();
        _pre.Dispose();
        foreach (var f in _fts) f.Dispose();
        _copySource.Dispose();
        _copyTarget.Dispose();
    }
}

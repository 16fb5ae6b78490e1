using System.Diagnostics;
using FusionBench.Core.Internal;

namespace FusionBench.Core.Algorithms;

/// <summary>
/// A convenient base for a fusion method with a typed options class: validates the options once, times the run,
/// measures peak memory, returns freed native memory to the OS afterwards and reports the parameters used.
/// </summary>
/// <typeparam name="TOptions">The method's options: public settable properties, named in snake_case as parameters.</typeparam>
public abstract class FusionAlgorithm<TOptions> : IFusionAlgorithm where TOptions : class
{
    /// <summary>Validates and keeps the options.</summary>
    /// <exception cref="FusionParameterException">An option is out of range.</exception>
    protected FusionAlgorithm(TOptions options)
    {
        Options = options ?? throw new ArgumentNullException(nameof(options));
        OptionsBinder.Validate(Info.Name, options);
    }

    /// <summary>The options this instance runs with.</summary>
    public TOptions Options { get; }

    /// <inheritdoc />
    public abstract FusionAlgorithmInfo Info { get; }

    /// <inheritdoc />
    public FusionResult Fuse(IModelPool modelPool, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(modelPool);
        cancellationToken.ThrowIfCancellationRequested();
        bool peakReset = MemoryProbe.TryResetPeak();
        var sw = Stopwatch.StartNew();
        StateDict weights;
        try
        {
            weights = FuseCore(modelPool, cancellationToken);
        }
        finally
        {
            // glibc keeps freed tensor memory mapped; hand it back after a large merge.
            MemoryProbe.TrimNativeHeap();
        }
        sw.Stop();
        long? peak = peakReset ? MemoryProbe.PeakResidentBytes() : null;
        return new FusionResult(Info, weights, OptionsBinder.ToDictionary(Options), sw.Elapsed, peak);
    }

    /// <summary>Computes the fused weights. Called once per <see cref="Fuse"/> with the options already validated.</summary>
    protected abstract StateDict FuseCore(IModelPool modelPool, CancellationToken cancellationToken);
}

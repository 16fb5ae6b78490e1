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
        var details = new Dictionary<string, object?>();
        Details = details;
        var (weights, wall, peak) = FusionRun.Measure(() => FuseCore(modelPool, cancellationToken), cancellationToken);
        return new FusionResult(Info, weights, OptionsBinder.ToDictionary(Options), wall, peak) { Details = details };
    }

    /// <summary>Facts of the current run that land in <see cref="FusionResult.Details"/> (set fresh for each <see cref="Fuse"/>).</summary>
    protected IDictionary<string, object?> Details { get; private set; } = new Dictionary<string, object?>();

    /// <summary>Computes the fused weights. Called once per <see cref="Fuse"/> with the options already validated.</summary>
    protected abstract StateDict FuseCore(IModelPool modelPool, CancellationToken cancellationToken);
}

/// <summary>
/// A base for a fusion method whose result is a model rather than one set of weights (ensembles, mixed
/// architectures), with the same option validation, timing and parameter reporting as <see cref="FusionAlgorithm{TOptions}"/>.
/// </summary>
/// <typeparam name="TOptions">The method's options.</typeparam>
public abstract class ModelFusionAlgorithm<TOptions> : IFusionAlgorithm where TOptions : class
{
    /// <summary>Validates and keeps the options.</summary>
    protected ModelFusionAlgorithm(TOptions options)
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
        var details = new Dictionary<string, object?>();
        Details = details;
        var (model, wall, peak) = FusionRun.Measure(() => FuseCore(modelPool, cancellationToken), cancellationToken);
        return new FusionResult(Info, model, OptionsBinder.ToDictionary(Options), wall, peak) { Details = details };
    }

    /// <summary>Facts of the current run that land in <see cref="FusionResult.Details"/> (set fresh for each <see cref="Fuse"/>).</summary>
    protected IDictionary<string, object?> Details { get; private set; } = new Dictionary<string, object?>();

    /// <summary>Builds the fused model. Called once per <see cref="Fuse"/> with the options already validated.</summary>
    protected abstract IFusedModel FuseCore(IModelPool modelPool, CancellationToken cancellationToken);
}

/// <summary>Times a fusion, measures its peak memory and trims the native heap afterwards.</summary>
internal static class FusionRun
{
    public static (T Result, TimeSpan Wall, long? Peak) Measure<T>(Func<T> run, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        bool peakReset = MemoryProbe.TryResetPeak();
        var sw = Stopwatch.StartNew();
        T result;
        try
        {
            result = run();
        }
        finally
        {
            // glibc keeps freed tensor memory mapped; hand it back after a large merge.
            MemoryProbe.TrimNativeHeap();
        }
        sw.Stop();
        return (result, sw.Elapsed, peakReset ? MemoryProbe.PeakResidentBytes() : null);
    }
}

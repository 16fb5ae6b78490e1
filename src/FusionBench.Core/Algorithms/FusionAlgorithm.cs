using System.Diagnostics;
using FusionBench.Core.Internal;

namespace FusionBench.Core.Algorithms;

/// <summary>
/// What every typed fusion method shares: the options validated once, the run timed, its peak memory measured, freed
/// native memory returned to the OS afterwards, and the parameters and details reported. Derive from
/// <see cref="FusionAlgorithm{TOptions}"/> (the result is weights) or <see cref="ModelFusionAlgorithm{TOptions}"/> (a model).
/// </summary>
/// <typeparam name="TOptions">The method's options: public settable properties, named in snake_case as parameters.</typeparam>
public abstract class FusionAlgorithmBase<TOptions> : IFusionAlgorithm where TOptions : class
{
    /// <summary>Validates and keeps the options.</summary>
    /// <exception cref="FusionParameterException">An option is out of range.</exception>
    private protected FusionAlgorithmBase(TOptions options)
    {
        Options = options ?? throw new ArgumentNullException(nameof(options));
        OptionsBinder.Validate(Info.Name, options);
    }

    /// <summary>The options this instance runs with.</summary>
    public TOptions Options { get; }

    /// <inheritdoc />
    public abstract FusionAlgorithmInfo Info { get; }

    /// <summary>Facts of the current run that land in <see cref="FusionResult.Details"/> (set fresh for each <see cref="Fuse"/>).</summary>
    protected IDictionary<string, object?> Details { get; private set; } = new Dictionary<string, object?>();

    /// <inheritdoc />
    public FusionResult Fuse(IModelPool modelPool, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(modelPool);
        var details = new Dictionary<string, object?>();
        Details = details;
        var (output, wall, peak) = FusionRun.Measure(() => FuseOutput(modelPool, cancellationToken), cancellationToken);
        var parameters = OptionsBinder.ToDictionary(Options);
        return output is StateDict weights
            ? new FusionResult(Info, weights, parameters, wall, peak) { Details = details }
            : new FusionResult(Info, (IFusedModel)output, parameters, wall, peak) { Details = details };
    }

    /// <summary>The weights (<see cref="StateDict"/>) or model (<see cref="IFusedModel"/>) of one run.</summary>
    private protected abstract IDisposable FuseOutput(IModelPool modelPool, CancellationToken cancellationToken);
}

/// <summary>
/// A convenient base for a fusion method whose result is one set of weights, with a typed options class (see
/// <see cref="FusionAlgorithmBase{TOptions}"/> for what it takes care of).
/// </summary>
/// <typeparam name="TOptions">The method's options: public settable properties, named in snake_case as parameters.</typeparam>
public abstract class FusionAlgorithm<TOptions> : FusionAlgorithmBase<TOptions> where TOptions : class
{
    /// <summary>Validates and keeps the options.</summary>
    /// <exception cref="FusionParameterException">An option is out of range.</exception>
    protected FusionAlgorithm(TOptions options) : base(options) { }

    /// <summary>Computes the fused weights. Called once per <see cref="FusionAlgorithmBase{TOptions}.Fuse"/> with the options already validated.</summary>
    protected abstract StateDict FuseCore(IModelPool modelPool, CancellationToken cancellationToken);

    private protected sealed override IDisposable FuseOutput(IModelPool modelPool, CancellationToken cancellationToken) => FuseCore(modelPool, cancellationToken);
}

/// <summary>
/// A base for a fusion method whose result is a model rather than one set of weights (ensembles, mixed
/// architectures), with the same option validation, timing and parameter reporting.
/// </summary>
/// <typeparam name="TOptions">The method's options.</typeparam>
public abstract class ModelFusionAlgorithm<TOptions> : FusionAlgorithmBase<TOptions> where TOptions : class
{
    /// <summary>Validates and keeps the options.</summary>
    protected ModelFusionAlgorithm(TOptions options) : base(options) { }

    /// <summary>Builds the fused model. Called once per <see cref="FusionAlgorithmBase{TOptions}.Fuse"/> with the options already validated.</summary>
    protected abstract IFusedModel FuseCore(IModelPool modelPool, CancellationToken cancellationToken);

    private protected sealed override IDisposable FuseOutput(IModelPool modelPool, CancellationToken cancellationToken) => FuseCore(modelPool, cancellationToken);
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

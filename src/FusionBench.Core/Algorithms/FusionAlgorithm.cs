using System.Diagnostics;
using FusionBench.Core.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace FusionBench.Core.Algorithms;

/// <summary>
/// What every typed fusion method shares: the options validated at each run, a fresh <see cref="FusionContext"/> per
/// call (so one instance serves concurrent calls), the run timed and logged, and the opt-in process-wide probes of
/// <see cref="FusionRunOptions"/>. Derive from <see cref="FusionAlgorithm{TOptions}"/> (the result is weights) or
/// <see cref="ModelFusionAlgorithm{TOptions}"/> (a model).
/// </summary>
/// <typeparam name="TOptions">The method's options: public settable properties, named in snake_case as parameters.</typeparam>
public abstract class FusionAlgorithmBase<TOptions> : IFusionAlgorithm where TOptions : class
{
    private readonly ILogger _logger;

    /// <summary>Keeps the options (validated when the method runs, so a derived constructor may still set <see cref="Info"/>).</summary>
    /// <param name="options">The options.</param>
    /// <param name="logger">Where the method reports; from DI as <c>ILogger&lt;TAlgorithm&gt;</c>, or none.</param>
    private protected FusionAlgorithmBase(TOptions options, ILogger? logger)
    {
        Options = options ?? throw new ArgumentNullException(nameof(options));
        _logger = logger ?? NullLogger.Instance;
    }

    /// <summary>The options this instance runs with.</summary>
    public TOptions Options { get; }

    /// <inheritdoc />
    public abstract FusionAlgorithmInfo Info { get; }

    /// <inheritdoc />
    public FusionResult Fuse(IModelPool modelPool, CancellationToken cancellationToken = default) =>
        Fuse(modelPool, FusionRunOptions.Default, cancellationToken);

    /// <inheritdoc />
    public FusionResult Fuse(IModelPool modelPool, FusionRunOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(modelPool);
        ArgumentNullException.ThrowIfNull(options);
        var info = Info ?? throw new InvalidOperationException($"{GetType().Name}.Info is null.");
        OptionsBinder.Validate(info.Name, Options);
        cancellationToken.ThrowIfCancellationRequested();
        var context = new FusionContext(info.Name, options.Logger ?? _logger, options.Progress, cancellationToken);
        bool peakReset = options.MeasurePeakMemory && MemoryProbe.TryResetPeak();
        var clock = Stopwatch.StartNew();
        IDisposable output;
        try
        {
            output = FuseOutput(modelPool, context);
        }
        finally
        {
            // glibc keeps freed tensor memory mapped; an app that merges large models may ask for it back.
            if (options.TrimNativeMemory) MemoryProbe.TrimNativeHeap();
        }
        clock.Stop();
        long? peak = peakReset ? MemoryProbe.PeakResidentBytes() : null;
        context.Logger.LogInformation("{Method}: fused {Count} model(s) in {Seconds:F2} s", info.Name, modelPool.ModelNames.Count, clock.Elapsed.TotalSeconds);
        var parameters = OptionsBinder.ToDictionary(Options);
        var details = new Dictionary<string, object?>(context.Details, StringComparer.Ordinal);
        if (output is TaskSpecificWeights parts)
        {
            StateDict shared;
            try
            {
                shared = parts.SharedWeights();
            }
            catch
            {
                parts.Dispose();
                throw;
            }
            // A method that produced no task parts (TSV without single-task models) is an ordinary merge.
            if (parts.Tasks.Count == 0) parts.Dispose();
            return new FusionResult(info, shared, parameters, clock.Elapsed, peak) { Details = details, TaskWeights = parts.Tasks.Count > 0 ? parts : null };
        }
        return output is StateDict weights
            ? new FusionResult(info, weights, parameters, clock.Elapsed, peak) { Details = details }
            : new FusionResult(info, (IFusedModel)output, parameters, clock.Elapsed, peak) { Details = details };
    }

    /// <summary>The weights (<see cref="StateDict"/>) or model (<see cref="IFusedModel"/>) of one run.</summary>
    private protected abstract IDisposable FuseOutput(IModelPool modelPool, FusionContext context);
}

/// <summary>
/// A convenient base for a fusion method whose result is one set of weights, with a typed options class (see
/// <see cref="FusionAlgorithmBase{TOptions}"/> for what it takes care of). Most custom merges implement
/// <see cref="FuseCore"/> with <see cref="MergePlan.MergeEachTensor"/>, which checks names and shapes, keeps dtypes and
/// copies integer buffers.
/// </summary>
/// <typeparam name="TOptions">The method's options: public settable properties, named in snake_case as parameters.</typeparam>
public abstract class FusionAlgorithm<TOptions> : FusionAlgorithmBase<TOptions>, IStreamingFusionAlgorithm where TOptions : class
{
    /// <summary>Keeps the options.</summary>
    /// <param name="options">The options.</param>
    /// <param name="logger">Where the method reports, or null.</param>
    protected FusionAlgorithm(TOptions options, ILogger? logger = null) : base(options, logger) { }

    /// <summary>Computes the fused weights. Called once per run with the options validated and a fresh context.</summary>
    protected abstract StateDict FuseCore(IModelPool modelPool, FusionContext context);

    /// <summary>
    /// The same weights as <see cref="FuseCore"/>, computed tensor by tensor when read (<see cref="MergePlan.Lazily"/>),
    /// or null when the method needs the whole model at once. The default is null.
    /// </summary>
    protected virtual IWeightSource? StreamCore(IModelPool modelPool, FusionContext context) => null;

    /// <inheritdoc />
    public IReadOnlyDictionary<string, object?> Parameters => OptionsBinder.ToDictionary(Options);

    /// <inheritdoc />
    public IWeightSource? FuseStreaming(IModelPool modelPool, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(modelPool);
        var info = Info ?? throw new InvalidOperationException($"{GetType().Name}.Info is null.");
        OptionsBinder.Validate(info.Name, Options);
        return StreamCore(modelPool, new FusionContext(info.Name, null, null, cancellationToken));
    }

    private protected sealed override IDisposable FuseOutput(IModelPool modelPool, FusionContext context) => FuseCore(modelPool, context);
}

/// <summary>
/// A base for a fusion method whose result is a model rather than one set of weights (ensembles, mixed
/// architectures), with the same option validation, timing and parameter reporting.
/// </summary>
/// <typeparam name="TOptions">The method's options.</typeparam>
public abstract class ModelFusionAlgorithm<TOptions> : FusionAlgorithmBase<TOptions> where TOptions : class
{
    /// <summary>Keeps the options.</summary>
    /// <param name="options">The options.</param>
    /// <param name="logger">Where the method reports, or null.</param>
    protected ModelFusionAlgorithm(TOptions options, ILogger? logger = null) : base(options, logger) { }

    /// <summary>Builds the fused model. Called once per run with the options validated and a fresh context.</summary>
    protected abstract IFusedModel FuseCore(IModelPool modelPool, FusionContext context);

    private protected sealed override IDisposable FuseOutput(IModelPool modelPool, FusionContext context) => FuseCore(modelPool, context);
}

/// <summary>
/// A base for a merge whose result is one shared model plus per-task parts (<see cref="TaskSpecificWeights"/>: EMR-Merging,
/// TALL masks, TSV's single-task models). <see cref="FusionResult.Weights"/> is the shared model and
/// <see cref="FusionResult.TaskWeights"/> the parts (null when the method produced none).
/// </summary>
/// <typeparam name="TOptions">The method's options.</typeparam>
public abstract class TaskSpecificFusionAlgorithm<TOptions> : FusionAlgorithmBase<TOptions> where TOptions : class
{
    /// <summary>Keeps the options.</summary>
    /// <param name="options">The options.</param>
    /// <param name="logger">Where the method reports, or null.</param>
    protected TaskSpecificFusionAlgorithm(TOptions options, ILogger? logger = null) : base(options, logger) { }

    /// <summary>Computes θ₀, the shared task vector and the task parts. Called once per run.</summary>
    protected abstract TaskSpecificWeights FuseCore(IModelPool modelPool, FusionContext context);

    private protected sealed override IDisposable FuseOutput(IModelPool modelPool, FusionContext context) => FuseCore(modelPool, context);
}

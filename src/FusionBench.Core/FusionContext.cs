using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace FusionBench.Core;

/// <summary>
/// What one run of a fusion method gets from its caller — cancellation, progress, a logger — and where it records
/// facts of the run (<see cref="Details"/>, which become <see cref="FusionResult.Details"/>). A new context is made for
/// every call, so an algorithm instance keeps no per-run state and may be used by concurrent calls.
/// </summary>
public sealed class FusionContext
{
    private readonly Dictionary<string, object?> _details = new(StringComparer.Ordinal);

    /// <summary>Creates a context (algorithms get one from <c>Fuse</c>; tests and custom hosts may make their own).</summary>
    /// <param name="method">The running method's name, used as the progress operation.</param>
    /// <param name="logger">The run's logger; null for none.</param>
    /// <param name="progress">The progress listener, or null.</param>
    /// <param name="cancellationToken">Cancels the run.</param>
    public FusionContext(string method, ILogger? logger = null, IProgress<FusionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        Method = method ?? throw new ArgumentNullException(nameof(method));
        Logger = logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        Progress = progress;
        CancellationToken = cancellationToken;
    }

    /// <summary>The running method's name.</summary>
    public string Method { get; }

    /// <summary>The run's logger (never null).</summary>
    public ILogger Logger { get; }

    /// <summary>The progress listener, or null.</summary>
    public IProgress<FusionProgress>? Progress { get; }

    /// <summary>Cancels the run; methods check it between tensors and training steps.</summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>Facts of this run beyond the parameters (a loss curve, the layers chosen, …).</summary>
    public IDictionary<string, object?> Details => _details;

    /// <summary>Starts a progress reporter for a loop of <paramref name="total"/> steps, throttled to one report every two seconds.</summary>
    public StepProgress StartSteps(long total, string? operation = null) => new(Progress, operation ?? Method, total);

    /// <summary>Throws <see cref="OperationCanceledException"/> when the run was cancelled.</summary>
    public void ThrowIfCancellationRequested() => CancellationToken.ThrowIfCancellationRequested();
}

/// <summary>Reports the steps of one loop to a progress listener, at most every two seconds (and always the last step).</summary>
public sealed class StepProgress
{
    private readonly IProgress<FusionProgress>? _progress;
    private readonly string _operation;
    private readonly long _total;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private double _lastReport = double.NegativeInfinity;

    /// <summary>Starts the clock of a loop of <paramref name="total"/> steps.</summary>
    /// <param name="progress">The listener; null reports nothing.</param>
    /// <param name="operation">What runs, as <see cref="FusionProgress.Operation"/>.</param>
    /// <param name="total">The number of steps.</param>
    public StepProgress(IProgress<FusionProgress>? progress, string operation, long total)
    {
        _progress = progress;
        _operation = operation ?? throw new ArgumentNullException(nameof(operation));
        _total = total;
    }

    /// <summary>Time since the loop started.</summary>
    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>Reports step <paramref name="completed"/> with an optional message.</summary>
    public void Report(long completed, string? message = null)
    {
        if (_progress is null) return;
        double now = _clock.Elapsed.TotalSeconds;
        if (now - _lastReport < 2 && completed != _total) return;
        _lastReport = now;
        _progress.Report(new FusionProgress(_operation, completed, _total, _clock.Elapsed, message));
    }
}

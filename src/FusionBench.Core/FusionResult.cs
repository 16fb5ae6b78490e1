namespace FusionBench.Core;

/// <summary>
/// The outcome of <see cref="IFusionAlgorithm.Fuse(IModelPool, FusionRunOptions, CancellationToken)"/>: the fused weights (merging) or a fused model (ensembling,
/// mixing), and what happened in the run.
/// </summary>
/// <remarks>The result owns its weights or model; dispose the result.</remarks>
public sealed class FusionResult : IDisposable
{
    private readonly StateDict? _weights;

    /// <summary>Creates a result that is one set of weights (a merge).</summary>
    public FusionResult(FusionAlgorithmInfo method, StateDict weights, IReadOnlyDictionary<string, object?> parameters,
        TimeSpan wallTime, long? peakMemoryBytes)
        : this(method, weights ?? throw new ArgumentNullException(nameof(weights)), null, parameters, wallTime, peakMemoryBytes)
    {
    }

    /// <summary>Creates a result that is a model (an ensemble or a mixed architecture).</summary>
    public FusionResult(FusionAlgorithmInfo method, IFusedModel model, IReadOnlyDictionary<string, object?> parameters,
        TimeSpan wallTime, long? peakMemoryBytes)
        : this(method, null, model ?? throw new ArgumentNullException(nameof(model)), parameters, wallTime, peakMemoryBytes)
    {
    }

    private FusionResult(FusionAlgorithmInfo method, StateDict? weights, IFusedModel? model, IReadOnlyDictionary<string, object?> parameters,
        TimeSpan wallTime, long? peakMemoryBytes)
    {
        Method = method ?? throw new ArgumentNullException(nameof(method));
        _weights = weights;
        Model = model;
        Parameters = parameters ?? throw new ArgumentNullException(nameof(parameters));
        WallTime = wallTime;
        PeakMemoryBytes = peakMemoryBytes;
    }

    /// <summary>The method that produced the result.</summary>
    public FusionAlgorithmInfo Method { get; }

    /// <summary>Whether the result is one set of weights (<see cref="Weights"/>) rather than a model (<see cref="Model"/>).</summary>
    public bool HasWeights => _weights is not null;

    /// <summary>The fused weights, in the pretrained model's tensor order and dtypes.</summary>
    /// <exception cref="InvalidOperationException">The method produced a model, not weights (see <see cref="Model"/>).</exception>
    public StateDict Weights => _weights ?? throw new InvalidOperationException(
        $"Method '{Method.Name}' produced a model (an ensemble or mixed architecture), not one set of weights; use FusionResult.Model.");

    /// <summary>The fused model, for methods whose result is not one set of weights; null for merges.</summary>
    public IFusedModel? Model { get; }

    /// <summary>Every parameter the method used, by its FusionBench name (defaults included).</summary>
    public IReadOnlyDictionary<string, object?> Parameters { get; }

    /// <summary>Wall-clock time of the fusion.</summary>
    public TimeSpan WallTime { get; }

    /// <summary>
    /// Peak resident memory of the process during the fusion, in bytes, where the OS lets it be measured
    /// (Linux: <c>VmHWM</c>, reset at the start of the run); otherwise <see langword="null"/>.
    /// </summary>
    public long? PeakMemoryBytes { get; }

    /// <summary>What the method reports about its run beyond the parameters (for example a training loss curve).</summary>
    public IReadOnlyDictionary<string, object?> Details { get; init; } = new Dictionary<string, object?>();

    /// <summary>
    /// Per-task parts when the method gives each task its own modulator on the shared model (EMR-Merging, TALL masks):
    /// task t is evaluated with <see cref="TaskSpecificWeights.WeightsFor"/>, and <see cref="Weights"/> is the shared
    /// model. Null for ordinary merges.
    /// </summary>
    public TaskSpecificWeights? TaskWeights { get; init; }

    /// <summary>Disposes the fused weights or model.</summary>
    public void Dispose()
    {
        TaskWeights?.Dispose();
        _weights?.Dispose();
        Model?.Dispose();
    }
}

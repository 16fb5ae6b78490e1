namespace FusionBench.Core;

/// <summary>The outcome of <see cref="IFusionAlgorithm.Fuse"/>: the fused weights and what happened in the run.</summary>
/// <remarks>The result owns <see cref="Weights"/>; dispose the result (or take the weights and dispose them).</remarks>
public sealed class FusionResult : IDisposable
{
    /// <summary>Creates a result.</summary>
    public FusionResult(FusionAlgorithmInfo method, StateDict weights, IReadOnlyDictionary<string, object?> parameters,
        TimeSpan wallTime, long? peakMemoryBytes)
    {
        Method = method ?? throw new ArgumentNullException(nameof(method));
        Weights = weights ?? throw new ArgumentNullException(nameof(weights));
        Parameters = parameters ?? throw new ArgumentNullException(nameof(parameters));
        WallTime = wallTime;
        PeakMemoryBytes = peakMemoryBytes;
    }

    /// <summary>The method that produced the result.</summary>
    public FusionAlgorithmInfo Method { get; }

    /// <summary>The fused weights, in the pretrained model's tensor order and dtypes.</summary>
    public StateDict Weights { get; }

    /// <summary>Every parameter the method used, by its FusionBench name (defaults included).</summary>
    public IReadOnlyDictionary<string, object?> Parameters { get; }

    /// <summary>Wall-clock time of the fusion.</summary>
    public TimeSpan WallTime { get; }

    /// <summary>
    /// Peak resident memory of the process during the fusion, in bytes, where the OS lets it be measured
    /// (Linux: <c>VmHWM</c>, reset at the start of the run); otherwise <see langword="null"/>.
    /// </summary>
    public long? PeakMemoryBytes { get; }

    /// <summary>Disposes the fused weights.</summary>
    public void Dispose() => Weights.Dispose();
}

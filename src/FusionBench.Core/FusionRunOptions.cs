using Microsoft.Extensions.Logging;

namespace FusionBench.Core;

/// <summary>
/// How one call to <see cref="IFusionAlgorithm.Fuse(IModelPool, FusionRunOptions, CancellationToken)"/> runs: where its
/// progress and log go, and the process-wide measurements it may make. The defaults have no side effects outside the
/// call.
/// </summary>
public sealed class FusionRunOptions
{
    /// <summary>The defaults: no progress listener, the algorithm's own logger, no process-wide probes.</summary>
    public static FusionRunOptions Default { get; } = new();

    /// <summary>Receives progress of long fusions (training steps with their loss and time left), or null.</summary>
    public IProgress<FusionProgress>? Progress { get; init; }

    /// <summary>The logger of this run; null uses the algorithm's own (from DI), else none.</summary>
    public ILogger? Logger { get; init; }

    /// <summary>
    /// Measure the process's peak resident memory during the fusion (<see cref="FusionResult.PeakMemoryBytes"/>). On Linux
    /// this resets the kernel's peak counter of the whole process (<c>/proc/self/clear_refs</c>), so it is off by default;
    /// the command-line tool turns it on.
    /// </summary>
    public bool MeasurePeakMemory { get; init; }

    /// <summary>
    /// After the fusion, hand freed native memory back to the OS (glibc <c>malloc_trim</c>), which keeps the resident size
    /// of a process that merges large models in a loop low. Process-wide, so off by default; the command-line tool turns it on.
    /// </summary>
    public bool TrimNativeMemory { get; init; }
}

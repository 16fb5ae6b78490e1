namespace FusionBench.Core.Algorithms;

/// <summary>
/// A merge that can stream: its result as a source whose tensors are computed when read, one tensor of every model at
/// a time, so writing it (<see cref="Checkpoints.Checkpoint.Save"/>, <see cref="StreamingMerge"/>) never holds the
/// merged model whole. Element-wise merges stream (simple and weighted averaging, task arithmetic, DARE task
/// arithmetic); methods that look at the whole model first (TIES's model-wide threshold) return null.
/// </summary>
public interface IStreamingFusionAlgorithm : IFusionAlgorithm
{
    /// <summary>The merge as a lazily computed source (valid while the pool is open), or null if this method does not stream.</summary>
    /// <exception cref="FusionException">The pool does not fit the method or the options are invalid.</exception>
    IWeightSource? FuseStreaming(IModelPool modelPool, CancellationToken cancellationToken = default);

    /// <summary>The method's parameters, as a run reports them.</summary>
    IReadOnlyDictionary<string, object?> Parameters { get; }
}

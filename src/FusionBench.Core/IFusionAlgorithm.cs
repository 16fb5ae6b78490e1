namespace FusionBench.Core;

/// <summary>One fusion method.</summary>
/// <remarks>
/// <see cref="Fuse(IModelPool, FusionRunOptions, CancellationToken)"/> is synchronous on purpose: TorchSharp's dispose scopes are per thread, so tensor work must not
/// cross an <c>await</c>. Run it on a worker thread if the caller is asynchronous; it observes the cancellation token
/// between tensors.
/// </remarks>
public interface IFusionAlgorithm
{
    /// <summary>The method's name, display name, category and paper.</summary>
    FusionAlgorithmInfo Info { get; }

    /// <summary>Fuses the models of <paramref name="modelPool"/> with the default run options (no progress, no process-wide probes).</summary>
    /// <returns>The fused weights and a record of the run; the caller owns (and must dispose) the result.</returns>
    /// <exception cref="FusionException">The models cannot be fused (missing or mismatched tensors, bad options).</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    FusionResult Fuse(IModelPool modelPool, CancellationToken cancellationToken = default) =>
        Fuse(modelPool, FusionRunOptions.Default, cancellationToken);

    /// <summary>Fuses the models of <paramref name="modelPool"/>, reporting to the run's progress listener and logger.</summary>
    /// <param name="modelPool">The models (and, for data-driven methods, their data).</param>
    /// <param name="options">Progress, logger and the opt-in process-wide probes of this call.</param>
    /// <param name="cancellationToken">Cancels the run between tensors and training steps.</param>
    /// <returns>The fused weights or model and a record of the run; the caller owns (and must dispose) the result.</returns>
    /// <exception cref="FusionException">The models cannot be fused (missing or mismatched tensors, bad options).</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled.</exception>
    FusionResult Fuse(IModelPool modelPool, FusionRunOptions options, CancellationToken cancellationToken = default);
}

/// <summary>A fusion failed for a reason the caller can fix: the message names the tensor, model or parameter.</summary>
public class FusionException : Exception
{
    /// <summary>Creates the exception.</summary>
    public FusionException(string message) : base(message) { }

    /// <summary>Creates the exception with an inner cause.</summary>
    public FusionException(string message, Exception innerException) : base(message, innerException) { }
}

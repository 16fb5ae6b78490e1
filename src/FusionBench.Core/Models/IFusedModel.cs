using static TorchSharp.torch;

namespace FusionBench.Core.Models;

/// <summary>
/// A fused model that is not one set of weights: an ensemble or a mixed architecture. Its forward maps inputs to the
/// encoder's outputs (for the image suite, the pooled features that each task's head then classifies), which is where
/// FusionBench aggregates ensembles.
/// </summary>
public interface IFusedModel : IDisposable
{
    /// <summary>The fused model's output for a batch (features before any task head).</summary>
    Tensor Forward(Tensor input);
}

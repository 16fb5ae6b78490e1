using static TorchSharp.torch;

namespace FusionBench.Core;

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

/// <summary>A model pool that also knows its models' architecture, for methods that run the models (ensembles, mixing, data-driven merges).</summary>
public interface IArchitectureModelPool : IModelPool
{
    /// <summary>The architecture shared by the pretrained and fine-tuned models, with a functional forward.</summary>
    Models.IFunctionalModel Architecture { get; }
}

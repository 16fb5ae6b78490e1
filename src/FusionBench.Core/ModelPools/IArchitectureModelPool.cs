using FusionBench.Core.Models;

namespace FusionBench.Core.ModelPools;

/// <summary>A model pool that also knows its models' architecture, for methods that run the models (ensembles, mixing, data-driven merges).</summary>
public interface IArchitectureModelPool : IModelPool
{
    /// <summary>The architecture shared by the pretrained and fine-tuned models, with a functional forward.</summary>
    IFunctionalModel Architecture { get; }
}

using static TorchSharp.torch;

namespace FusionBench.Core.ModelPools;

/// <summary>
/// A model pool with the data and heads that data-driven methods need (Fisher merging, RegMean, AdaMerging,
/// WEMoE): per task, its training and test inputs and how to turn encoder outputs into that task's logits.
/// </summary>
public interface IDataModelPool : IArchitectureModelPool
{
    /// <summary>The tasks with data, in order (usually the fine-tuned models' names).</summary>
    IReadOnlyList<string> TaskNames { get; }

    /// <summary>A task's training inputs (owned by the pool).</summary>
    Tensor TrainInputs(string task);

    /// <summary>A task's test inputs (owned by the pool); test-time adaptation uses them without labels.</summary>
    Tensor TestInputs(string task);

    /// <summary>A task's logits for encoder outputs (its classification head).</summary>
    Tensor Logits(string task, Tensor features);
}

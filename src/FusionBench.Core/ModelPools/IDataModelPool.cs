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

    /// <summary>How many training inputs a task has. The default counts <see cref="TrainInputs"/>.</summary>
    long TrainCount(string task) => TrainInputs(task).shape[0];

    /// <summary>
    /// Training inputs <paramref name="start"/> … <paramref name="start"/> + <paramref name="count"/> − 1, in dataset
    /// order; the caller disposes the result. The default is a view of <see cref="TrainInputs"/>; a pool that streams
    /// its data (decoding images per batch) overrides this and <see cref="TrainCount"/>, and the data-driven methods
    /// then never need the split whole.
    /// </summary>
    Tensor TrainBatch(string task, long start, long count) => TrainInputs(task).narrow(0, start, count);

    /// <summary>How many test inputs a task has. The default counts <see cref="TestInputs"/>.</summary>
    long TestCount(string task) => TestInputs(task).shape[0];

    /// <summary>
    /// The test inputs at <paramref name="rows"/> (int64 indices), for test-time adaptation's shuffled batches; the caller
    /// disposes the result. The default selects from <see cref="TestInputs"/>.
    /// </summary>
    Tensor TestBatch(string task, Tensor rows) => TestInputs(task).index_select(0, rows);
}

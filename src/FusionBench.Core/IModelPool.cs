namespace FusionBench.Core;

/// <summary>
/// The models a fusion method combines: the pretrained model and the fine-tuned models by task name, each read
/// lazily tensor by tensor.
/// </summary>
/// <remarks>
/// A pool that opens files owns them and is <see cref="IDisposable"/> (<see cref="ModelPools.ModelPool"/> from
/// checkpoints, the suites' pools): dispose it when the fusion is done. A pool over caller-owned weights need not be.
/// </remarks>
public interface IModelPool
{
    /// <summary>The pretrained (base) model, or <see langword="null"/> when the pool has none.</summary>
    IWeightSource? Pretrained { get; }

    /// <summary>The names of the fine-tuned models (usually task names), in pool order.</summary>
    IReadOnlyList<string> ModelNames { get; }

    /// <summary>The fine-tuned model of that name. The pool owns it: do not dispose it.</summary>
    /// <exception cref="KeyNotFoundException">No model has that name; the message lists the pool's models.</exception>
    IWeightSource GetModel(string name);
}

using Microsoft.Extensions.Logging;

namespace FusionBench.Core.Algorithms;

/// <summary>
/// A base for a merge whose every tensor depends on that tensor alone: <see cref="Step"/> computes one merged tensor from
/// the plan, and the base runs it over the model in memory (<see cref="MergePlan.MergeEachTensor"/>) or streamed as the
/// writer reads (<see cref="MergePlan.Lazily"/>) — the same function, so the same bits either way.
/// </summary>
/// <typeparam name="TOptions">The method's options.</typeparam>
public abstract class TensorwiseMergeAlgorithm<TOptions> : FusionAlgorithm<TOptions> where TOptions : class
{
    /// <summary>Keeps the options.</summary>
    /// <param name="options">The options.</param>
    /// <param name="logger">Where the method reports, or null.</param>
    protected TensorwiseMergeAlgorithm(TOptions options, ILogger? logger = null) : base(options, logger) { }

    /// <summary>The plan over the pool (by default every fine-tuned model, with the pretrained model required); may check the pool.</summary>
    protected virtual MergePlan CreatePlan(IModelPool modelPool) => MergePlan.Create(modelPool, Info.Name, requirePretrained: true);

    /// <summary>The function that merges one float tensor by name, in the compute dtype.</summary>
    protected abstract Func<string, TorchSharp.torch.Tensor> Step(MergePlan plan);

    /// <inheritdoc />
    protected sealed override StateDict FuseCore(IModelPool modelPool, FusionContext context)
    {
        var plan = CreatePlan(modelPool);
        return plan.MergeEachTensor(Step(plan), context.CancellationToken);
    }

    /// <inheritdoc />
    protected sealed override IWeightSource? StreamCore(IModelPool modelPool, FusionContext context)
    {
        var plan = CreatePlan(modelPool);
        return plan.LazilyInRowBlocks(Step(plan));
    }
}

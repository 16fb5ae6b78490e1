using Microsoft.Extensions.Logging;

namespace FusionBench.Core.Algorithms.Merging.GeneralizedTaskArithmetic;

/// <summary>
/// A MergeKit task-vector method (one <see cref="MergeKitVariant"/>) over a pool: every tensor merged on its own by
/// <c>GTATask</c>'s rule, in memory or streamed tensor by tensor (the same function, so the same bits), with the options'
/// values for every tensor (a MergeKit configuration's gradients and filters run through <c>MergeKitMerge</c>).
/// </summary>
/// <typeparam name="TOptions">The method's options.</typeparam>
public abstract class MergeKitTaskArithmeticAlgorithm<TOptions> : TensorwiseMergeAlgorithm<TOptions> where TOptions : MergeKitTaskArithmeticOptions
{
    /// <summary>Creates the method.</summary>
    /// <param name="variant">The MergeKit preset.</param>
    /// <param name="options">The options (per-model lists, λ, normalize, rescale, seed).</param>
    /// <param name="logger">Where the method reports.</param>
    private protected MergeKitTaskArithmeticAlgorithm(MergeKitVariant variant, TOptions options, ILogger? logger)
        : base(options, logger) => Variant = variant;

    /// <summary>The MergeKit preset this method runs.</summary>
    public MergeKitVariant Variant { get; }

    /// <inheritdoc />
    protected override Func<string, TorchSharp.torch.Tensor> Step(MergePlan plan)
    {
        var perModel = Options.PerModel();
        foreach (var (key, values) in perModel)
            if (values.Count != 1 && values.Count != plan.Count)
                throw new FusionParameterException(Info.Name, key, $"Parameter '{key}' of '{Info.Name}' has {values.Count} values for {plan.Count} models; give one per model or one for all.");
        var schedule = new ConstantMergeParameterSchedule(Options.Global(Variant), perModel);
        return name => MergeKitTaskArithmetic.MergeTensor(Variant, name, plan.ReadCompute(plan.Pretrained!, name),
            plan.Models.Select(m => plan.ReadCompute(m, name)).ToList(), schedule, Options.Seed);
    }
}

using Microsoft.Extensions.Logging;

namespace FusionBench.Core.Algorithms.Merging.GeneralizedTaskArithmetic;

/// <summary>
/// A MergeKit task-vector method (one <see cref="MergeKitVariant"/>) over a pool: every tensor merged on its own by
/// <c>GTATask</c>'s rule, in memory or streamed tensor by tensor (the same function, so the same bits). Per-model values
/// come from the options, or from a <see cref="IMergeParameterSchedule"/> (a MergeKit configuration's gradients and filters).
/// </summary>
/// <typeparam name="TOptions">The method's options.</typeparam>
public abstract class MergeKitTaskArithmeticAlgorithm<TOptions> : TensorwiseMergeAlgorithm<TOptions> where TOptions : MergeKitTaskArithmeticOptions
{
    private readonly IMergeParameterSchedule? _schedule;

    /// <summary>Creates the method.</summary>
    /// <param name="variant">The MergeKit preset.</param>
    /// <param name="options">The options (per-model lists, λ, normalize, rescale, seed).</param>
    /// <param name="logger">Where the method reports.</param>
    /// <param name="schedule">Per-tensor values that replace the options' (a MergeKit configuration's); null uses the options.</param>
    private protected MergeKitTaskArithmeticAlgorithm(MergeKitVariant variant, TOptions options, ILogger? logger, IMergeParameterSchedule? schedule)
        : base(options, logger)
    {
        Variant = variant;
        _schedule = schedule;
    }

    /// <summary>The MergeKit preset this method runs.</summary>
    public MergeKitVariant Variant { get; }

    /// <inheritdoc />
    protected override Func<string, TorchSharp.torch.Tensor> Step(MergePlan plan)
    {
        var perModel = Options.PerModel();
        foreach (var (key, values) in perModel)
            if (values.Count != 1 && values.Count != plan.Count)
                throw new FusionParameterException(Info.Name, key, $"Parameter '{key}' of '{Info.Name}' has {values.Count} values for {plan.Count} models; give one per model or one for all.");
        var schedule = _schedule ?? new ConstantMergeParameterSchedule(Options.Global(Variant), perModel);
        return name => MergeKitTaskArithmetic.MergeTensor(Variant, name, plan.ReadCompute(plan.Pretrained!, name),
            plan.Models.Select(m => plan.ReadCompute(m, name)).ToList(), schedule, Options.Seed);
    }
}

using Microsoft.Extensions.Logging;

namespace FusionBench.Core.Algorithms.Merging.ModelStock;

/// <summary>
/// <c>model_stock</c> (Jang et al., 2024): per tensor, the interpolation ratio t = N·cos θ / ((N − 1)·cos θ + 1) from the
/// angle θ between the fine-tuned models' offsets from the pretrained model, and θ = t·mean(θᵢ) + (1 − t)·θ₀. FusionBench's
/// rule by default (mean angle over pairs; <c>ignore_keys</c> take the plain average); MergeKit's with
/// <c>average=cosine</c> and optionally <c>filter_wise</c>. Needs at least two fine-tuned models; streams tensor by tensor.
/// </summary>
public sealed class ModelStockAlgorithm(ModelStockOptions options, ILogger<ModelStockAlgorithm>? logger = null) : TensorwiseMergeAlgorithm<ModelStockOptions>(options, logger)
{
    /// <inheritdoc />
    public override FusionAlgorithmInfo Info { get; } = new("model_stock", "Model Stock", FusionCategory.Merging,
        "https://arxiv.org/abs/2403.19522", "Interpolates the fine-tuned average toward the pretrained model by the angle between the fine-tuned models.");

    /// <inheritdoc />
    protected override MergePlan CreatePlan(IModelPool modelPool)
    {
        var plan = MergePlan.Create(modelPool, Info.Name, requirePretrained: true);
        if (plan.Count < 2)
            throw new FusionException($"Method 'model_stock' needs at least two fine-tuned models; the pool has {plan.Count}.");
        return plan;
    }

    /// <inheritdoc />
    protected override Func<string, TorchSharp.torch.Tensor> Step(MergePlan plan)
    {
        var ignored = new HashSet<string>(Options.IgnoreKeys, StringComparer.Ordinal);
        bool mergeKit = Options.Average == ModelStockAverage.Cosine || Options.FilterWise;
        return name =>
        {
            var pre = plan.ReadCompute(plan.Pretrained!, name);
            var models = plan.Models.Select(m => plan.ReadCompute(m, name)).ToList();
            if (ignored.Contains(name)) return ModelStockKernel.Average(models);
            return mergeKit ? ModelStockKernel.MergeKit(pre, models, Options.FilterWise) : ModelStockKernel.FusionBench(pre, models);
        };
    }
}

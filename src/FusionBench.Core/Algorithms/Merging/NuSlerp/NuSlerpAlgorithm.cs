using Microsoft.Extensions.Logging;

namespace FusionBench.Core.Algorithms.Merging.NuSlerp;

/// <summary>
/// <c>nuslerp</c> (MergeKit's normalised SLERP): two fine-tuned models interpolated spherically by t = w₂/(w₁ + w₂), as
/// whole tensors or row/column vectors; with the pool's pretrained model as base, their task vectors are interpolated and
/// added to it. Streams tensor by tensor.
/// </summary>
public sealed class NuSlerpAlgorithm(NuSlerpOptions options, ILogger<NuSlerpAlgorithm>? logger = null) : TensorwiseMergeAlgorithm<NuSlerpOptions>(options, logger)
{
    /// <inheritdoc />
    public override FusionAlgorithmInfo Info { get; } = new("nuslerp", "NuSLERP", FusionCategory.Merging,
        "https://github.com/arcee-ai/mergekit", "Spherical interpolation of two models (or of their task vectors around the pretrained model).");

    /// <inheritdoc />
    protected override MergePlan CreatePlan(IModelPool modelPool)
    {
        var plan = MergePlan.Create(modelPool, Info.Name, requirePretrained: false);
        if (plan.Count != 2)
            throw new FusionException($"Method 'nuslerp' interpolates exactly two fine-tuned models; the pool has {plan.Count} ({string.Join(", ", plan.ModelNames)}).");
        return plan;
    }

    /// <inheritdoc />
    protected override Func<string, TorchSharp.torch.Tensor> Step(MergePlan plan)
    {
        if (Options.Weight.Count != 2)
            throw new FusionParameterException(Info.Name, "weight", $"Parameter 'weight' of 'nuslerp' needs two values (one per model); it has {Options.Weight.Count}.");
        double t = NuSlerpKernel.Factor(Options.Weight[0], Options.Weight[1]);
        int dim = Options.RowWise ? 0 : -1;
        bool useBase = Options.UseBase && plan.Pretrained is not null;
        return name =>
        {
            var a = plan.ReadCompute(plan.Models[0], name);
            var b = plan.ReadCompute(plan.Models[1], name);
            if (!useBase) return NuSlerpKernel.Interpolate(t, a, b, dim, Options.Flatten);
            var p = plan.ReadCompute(plan.Pretrained!, name);
            return NuSlerpKernel.Interpolate(t, a.sub(p), b.sub(p), dim, Options.Flatten).add_(p);
        };
    }
}

using Microsoft.Extensions.Logging;
using FusionBench.Core.TaskVectors;
using static TorchSharp.torch;

namespace FusionBench.Core.Algorithms.Merging.Slerp;

/// <summary>
/// <c>slerp</c> as FusionBench (and MergeKit) computes it: per tensor, flattened, spherical interpolation by <c>t</c>
/// between the pool's two models — the pretrained model and the fine-tuned one, or two fine-tuned models when the
/// pool has no pretrained model — θ = sin((1−t)Ω)/sin Ω·v0 + sin(tΩ)/sin Ω·v1 with cos Ω the cosine of the two tensors
/// (each normalised only if its norm exceeds <c>epsilon</c>); linear interpolation where |cos Ω| &gt; <c>DOT_THRESHOLD</c>.
/// The option <c>model</c> (not in FusionBench) picks v1 among several fine-tuned models, with the pretrained model as v0.
/// </summary>
public sealed class SlerpAlgorithm(SlerpOptions options, ILogger<SlerpAlgorithm>? logger = null) : FusionAlgorithm<SlerpOptions>(options, logger)
{
    /// <inheritdoc />
    public override FusionAlgorithmInfo Info { get; } = new("slerp", "SLERP", FusionCategory.Merging,
        "https://dl.acm.org/doi/10.1145/325165.325242", "Spherical linear interpolation between the pool's two models, tensor by tensor.");

    /// <inheritdoc />
    protected override StateDict FuseCore(IModelPool modelPool, FusionContext context)
    {
        var (plan, step) = Plan(modelPool);
        return plan.MergeEachTensor(step, context.CancellationToken);
    }

    /// <inheritdoc />
    /// <remarks>Each tensor is interpolated whole (Ω comes from the whole tensor's norms), when the writer reads it.</remarks>
    protected override IWeightSource? StreamCore(IModelPool modelPool, FusionContext context)
    {
        var (plan, step) = Plan(modelPool);
        return plan.Lazily(step);
    }

    /// <summary>The plan over the two models and the per-tensor interpolation.</summary>
    private (MergePlan Plan, Func<string, Tensor> Step) Plan(IModelPool modelPool)
    {
        MergePlan plan;
        if (Options.Model is string model)
        {
            if (!modelPool.ModelNames.Contains(model))
                throw new FusionParameterException(Info.Name, "model", $"Parameter 'model' of 'slerp' is '{model}', which is not in the pool ({string.Join(", ", modelPool.ModelNames)}).");
            plan = MergePlan.Create(modelPool, Info.Name, requirePretrained: true, new[] { model });
        }
        else
        {
            int count = modelPool.ModelNames.Count + (modelPool.Pretrained is null ? 0 : 1);
            if (count != 2)
                throw new FusionException($"Method 'slerp' interpolates between exactly two models; the pool has {count} " +
                    $"({(modelPool.Pretrained is null ? "" : "the pretrained model, ")}{string.Join(", ", modelPool.ModelNames)}). " +
                    "Give a pool of two models, or model=NAME to interpolate from the pretrained model to one of them.");
            plan = MergePlan.Create(modelPool, Info.Name, requirePretrained: false);
        }
        var (v0, v1) = plan.Pretrained is not null ? (plan.Pretrained, plan.Models[0]) : (plan.Models[0], plan.Models[1]);
        return (plan, name => TaskVectorKernels.Slerp(Options.T, plan.ReadCompute(v0, name), plan.ReadCompute(v1, name), Options.DotThreshold, Options.Epsilon));
    }
}

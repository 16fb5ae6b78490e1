using Microsoft.Extensions.Logging;
using FusionBench.Core.TaskVectors;
using static TorchSharp.torch;

namespace FusionBench.Core.Algorithms.Merging.Slerp;

/// <summary>
/// <c>slerp</c> with MergeKit's semantics: per tensor, flattened, spherical interpolation from the pretrained model
/// (v0) to one fine-tuned model (v1) by <c>t</c>; linear interpolation where the directions are nearly parallel
/// (|cos| &gt; 0.9995).
/// </summary>
public sealed class SlerpAlgorithm(SlerpOptions options, ILogger<SlerpAlgorithm>? logger = null) : FusionAlgorithm<SlerpOptions>(options, logger)
{
    /// <inheritdoc />
    public override FusionAlgorithmInfo Info { get; } = new("slerp", "SLERP", FusionCategory.Merging,
        "https://dl.acm.org/doi/10.1145/325165.325242", "Spherical linear interpolation between the pretrained model and one fine-tuned model, tensor by tensor.");

    /// <inheritdoc />
    protected override StateDict FuseCore(IModelPool modelPool, FusionContext context)
    {
        string model = Options.Model ?? (modelPool.ModelNames.Count == 1
            ? modelPool.ModelNames[0]
            : throw new FusionParameterException(Info.Name, "model",
                $"Method 'slerp' interpolates between the pretrained model and one fine-tuned model; the pool has {modelPool.ModelNames.Count} " +
                $"({string.Join(", ", modelPool.ModelNames)}). Choose one with model=NAME."));
        if (!modelPool.ModelNames.Contains(model))
            throw new FusionParameterException(Info.Name, "model", $"Parameter 'model' of 'slerp' is '{model}', which is not in the pool ({string.Join(", ", modelPool.ModelNames)}).");
        var plan = MergePlan.Create(modelPool, Info.Name, requirePretrained: true, new[] { model });
        return plan.MergeEachTensor(name =>
            TaskVectorKernels.Slerp(Options.T, plan.ReadCompute(plan.Pretrained!, name), plan.ReadCompute(plan.Models[0], name)), context.CancellationToken);
    }
}

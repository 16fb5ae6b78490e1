using Microsoft.Extensions.Logging;
using static TorchSharp.torch;

namespace FusionBench.Core.Algorithms.Merging.MagMax;

/// <summary>
/// <c>magmax</c> (Marczak et al., ECCV 2024, as FusionBench computes it): per entry, the task vector of largest magnitude
/// τ_max[j] = τ_{argmaxᵢ |τᵢ[j]|}[j] — folded over the models in pool order with ≥, so on a tie the later model wins —
/// and θ = θ₀ + λ·τ_max. Element-wise, so it merges row block by row block and streams.
/// </summary>
public sealed class MagMaxAlgorithm(MagMaxOptions options, ILogger<MagMaxAlgorithm>? logger = null) : TensorwiseMergeAlgorithm<MagMaxOptions>(options, logger)
{
    /// <inheritdoc />
    public override FusionAlgorithmInfo Info { get; } = new("magmax", "MagMax", FusionCategory.Merging,
        "https://arxiv.org/abs/2407.06322", "Per entry, the task vector of largest magnitude, scaled and added to the pretrained model.");

    /// <inheritdoc />
    protected override Func<string, Tensor> Step(MergePlan plan) => name => plan.MergeRows(name, (p, models) =>
    {
        var best = models[0].sub(p!);
        for (int i = 1; i < models.Count; i++)
        {
            var tv = models[i].sub(p!);
            best = where(tv.abs().ge(best.abs()), tv, best);
        }
        return best.mul_(Options.ScalingFactor).add_(p!);
    });
}

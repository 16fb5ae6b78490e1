using Microsoft.Extensions.Logging;
namespace FusionBench.Core.Algorithms.Mixing.MoeMerging;

/// <summary>
/// <c>moe_merging</c>: each layer's MLP becomes a mixture whose expert e is fine-tuned model e's MLP, with
/// top-<c>experts_per_token</c> routing; attention, norms and embeddings come from the pretrained model; the router is
/// initialised (untrained).
/// </summary>
public sealed class MoeMergingAlgorithm(MoeMergingOptions options, ILogger<MoeMergingAlgorithm>? logger = null) : FusionAlgorithm<MoeMergingOptions>(options, logger)
{
    /// <inheritdoc />
    public override FusionAlgorithmInfo Info { get; } = new("moe_merging", "MoE Merging", FusionCategory.Mixing,
        "https://arxiv.org/abs/2406.03280", "Builds a mixture of experts whose experts are the fine-tuned models' MLPs.");

    /// <inheritdoc />
    protected override StateDict FuseCore(IModelPool modelPool, FusionContext context)
    {
        var plan = MergePlan.Create(modelPool, Info.Name, requirePretrained: true);
        return MixtureOfExpertsLayout.Build(plan.Pretrained!, plan.Models, Options.ExpertsPerToken, Options.Seed, Info.Name, modelPool, context.CancellationToken);
    }
}

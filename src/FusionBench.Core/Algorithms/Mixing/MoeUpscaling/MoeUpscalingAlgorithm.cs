using Microsoft.Extensions.Logging;
namespace FusionBench.Core.Algorithms.Mixing.MoeUpscaling;

/// <summary>
/// <c>moe_upscaling</c> (sparse upcycling, Komatsuzaki et al.): each layer's MLP becomes a mixture of
/// <c>num_experts</c> copies of it with top-<c>experts_per_token</c> routing; attention, norms and embeddings are
/// copied and the router is initialised.
/// </summary>
public sealed class MoeUpscalingAlgorithm(MoeUpscalingOptions options, ILogger<MoeUpscalingAlgorithm>? logger = null) : FusionAlgorithm<MoeUpscalingOptions>(options, logger)
{
    /// <inheritdoc />
    public override FusionAlgorithmInfo Info { get; } = new("moe_upscaling", "MoE Upscaling", FusionCategory.Mixing,
        "https://arxiv.org/abs/2212.05055", "Upcycles each dense MLP into a mixture of experts made of its copies.");

    /// <inheritdoc />
    protected override StateDict FuseCore(IModelPool modelPool, FusionContext context)
    {
        var source = PoolRequirements.SingleModel(modelPool, Options.Model, Info.Name, preferPretrained: true);
        return MixtureOfExpertsLayout.Build(source, Enumerable.Repeat(source, Options.NumExperts).ToList(), Options.ExpertsPerToken, Options.Seed, Info.Name, modelPool, context.CancellationToken);
    }
}

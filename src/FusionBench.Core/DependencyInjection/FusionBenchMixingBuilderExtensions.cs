using FusionBench.Core.Algorithms.Mixing.DepthUpscaling;
using FusionBench.Core.Algorithms.Mixing.ModelRecombination;
using FusionBench.Core.Algorithms.Mixing.MoeMerging;
using FusionBench.Core.Algorithms.Mixing.MoeUpscaling;
using FusionBench.Core.Algorithms.Mixing.WeightEnsemblingMoe;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the built-in mixing methods.</summary>
public static class FusionBenchMixingBuilderExtensions
{
    /// <summary>Registers <c>depth_upscaling</c>.</summary>
    public static IFusionBenchBuilder AddDepthUpscaling(this IFusionBenchBuilder builder, string name = "depth_upscaling", Action<DepthUpscalingOptions>? configure = null) =>
        builder.AddAlgorithm<DepthUpscalingAlgorithm, DepthUpscalingOptions>(name, configure);

    /// <summary>Registers <c>moe_upscaling</c>.</summary>
    public static IFusionBenchBuilder AddMoeUpscaling(this IFusionBenchBuilder builder, string name = "moe_upscaling", Action<MoeUpscalingOptions>? configure = null) =>
        builder.AddAlgorithm<MoeUpscalingAlgorithm, MoeUpscalingOptions>(name, configure);

    /// <summary>Registers <c>moe_merging</c>.</summary>
    public static IFusionBenchBuilder AddMoeMerging(this IFusionBenchBuilder builder, string name = "moe_merging", Action<MoeMergingOptions>? configure = null) =>
        builder.AddAlgorithm<MoeMergingAlgorithm, MoeMergingOptions>(name, configure);

    /// <summary>Registers <c>model_recombination</c>.</summary>
    public static IFusionBenchBuilder AddModelRecombination(this IFusionBenchBuilder builder, string name = "model_recombination", Action<ModelRecombinationOptions>? configure = null) =>
        builder.AddAlgorithm<ModelRecombinationAlgorithm, ModelRecombinationOptions>(name, configure);

    /// <summary>Registers <c>weight_ensembling_moe</c>.</summary>
    public static IFusionBenchBuilder AddWeightEnsemblingMoe(this IFusionBenchBuilder builder, string name = "weight_ensembling_moe", Action<WeightEnsemblingMoeOptions>? configure = null) =>
        builder.AddAlgorithm<WeightEnsemblingMoeAlgorithm, WeightEnsemblingMoeOptions>(name, configure);
}

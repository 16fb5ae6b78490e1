using FusionBench.Core.Algorithms.Merging.EmrMerging;
using FusionBench.Core.Algorithms.Merging.IsotropicMerging;
using FusionBench.Core.Algorithms.Merging.TallMask;
using FusionBench.Core.Algorithms.Merging.TaskSingularVector;
using FusionBench.Core.Algorithms.Merging.Wudi;
using FusionBench.Core.Algorithms.Merging.Breadcrumbs;
using FusionBench.Core.Algorithms.Merging.Della;
using FusionBench.Core.Algorithms.Merging.Karcher;
using FusionBench.Core.Algorithms.Merging.MagMax;
using FusionBench.Core.Algorithms.Merging.ModelStock;
using FusionBench.Core.Algorithms.Merging.NuSlerp;
using FusionBench.Core.Algorithms.Merging.AdaMerging;
using FusionBench.Core.Algorithms.Merging.DareTaskArithmetic;
using FusionBench.Core.Algorithms.Merging.FisherMerging;
using FusionBench.Core.Algorithms.Merging.RegMean;
using FusionBench.Core.Algorithms.Merging.DareTiesMerging;
using FusionBench.Core.Algorithms.Merging.SimpleAverage;
using FusionBench.Core.Algorithms.Merging.Slerp;
using FusionBench.Core.Algorithms.Merging.TaskArithmetic;
using FusionBench.Core.Algorithms.Merging.TiesMerging;
using FusionBench.Core.Algorithms.Merging.WeightedAverage;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the built-in data-free merging methods (each through <see cref="FusionBenchBuilderExtensions.AddAlgorithm{TAlgorithm, TOptions}"/>).</summary>
public static class FusionBenchMergingBuilderExtensions
{
    /// <summary>Registers <c>simple_average</c>.</summary>
    public static IFusionBenchBuilder AddSimpleAverage(this IFusionBenchBuilder builder, string name = "simple_average", Action<SimpleAverageOptions>? configure = null) =>
        builder.AddAlgorithm<SimpleAverageAlgorithm, SimpleAverageOptions>(name, configure);

    /// <summary>Registers <c>weighted_average</c>.</summary>
    public static IFusionBenchBuilder AddWeightedAverage(this IFusionBenchBuilder builder, string name = "weighted_average", Action<WeightedAverageOptions>? configure = null) =>
        builder.AddAlgorithm<WeightedAverageAlgorithm, WeightedAverageOptions>(name, configure);

    /// <summary>Registers <c>task_arithmetic</c>.</summary>
    public static IFusionBenchBuilder AddTaskArithmetic(this IFusionBenchBuilder builder, string name = "task_arithmetic", Action<TaskArithmeticOptions>? configure = null) =>
        builder.AddAlgorithm<TaskArithmeticAlgorithm, TaskArithmeticOptions>(name, configure);

    /// <summary>Registers <c>ties_merging</c>.</summary>
    public static IFusionBenchBuilder AddTiesMerging(this IFusionBenchBuilder builder, string name = "ties_merging", Action<TiesMergingOptions>? configure = null) =>
        builder.AddAlgorithm<TiesMergingAlgorithm, TiesMergingOptions>(name, configure);

    /// <summary>Registers <c>dare_task_arithmetic</c>.</summary>
    public static IFusionBenchBuilder AddDareTaskArithmetic(this IFusionBenchBuilder builder, string name = "dare_task_arithmetic", Action<DareTaskArithmeticOptions>? configure = null) =>
        builder.AddAlgorithm<DareTaskArithmeticAlgorithm, DareTaskArithmeticOptions>(name, configure);

    /// <summary>Registers <c>dare_ties_merging</c>.</summary>
    public static IFusionBenchBuilder AddDareTiesMerging(this IFusionBenchBuilder builder, string name = "dare_ties_merging", Action<DareTiesMergingOptions>? configure = null) =>
        builder.AddAlgorithm<DareTiesMergingAlgorithm, DareTiesMergingOptions>(name, configure);

    /// <summary>Registers <c>slerp</c>.</summary>
    public static IFusionBenchBuilder AddSlerp(this IFusionBenchBuilder builder, string name = "slerp", Action<SlerpOptions>? configure = null) =>
        builder.AddAlgorithm<SlerpAlgorithm, SlerpOptions>(name, configure);

    /// <summary>Registers <c>task_wise_adamerging</c>.</summary>
    public static IFusionBenchBuilder AddTaskWiseAdaMerging(this IFusionBenchBuilder builder, string name = "task_wise_adamerging", Action<AdaMergingOptions>? configure = null) =>
        builder.AddAlgorithm<TaskWiseAdaMergingAlgorithm, AdaMergingOptions>(name, configure);

    /// <summary>Registers <c>layer_wise_adamerging</c>.</summary>
    public static IFusionBenchBuilder AddLayerWiseAdaMerging(this IFusionBenchBuilder builder, string name = "layer_wise_adamerging", Action<AdaMergingOptions>? configure = null) =>
        builder.AddAlgorithm<LayerWiseAdaMergingAlgorithm, AdaMergingOptions>(name, configure);

    /// <summary>Registers <c>fisher_merging</c>.</summary>
    public static IFusionBenchBuilder AddFisherMerging(this IFusionBenchBuilder builder, string name = "fisher_merging", Action<FisherMergingOptions>? configure = null) =>
        builder.AddAlgorithm<FisherMergingAlgorithm, FisherMergingOptions>(name, configure);

    /// <summary>Registers <c>regmean</c>.</summary>
    public static IFusionBenchBuilder AddRegMean(this IFusionBenchBuilder builder, string name = "regmean", Action<RegMeanOptions>? configure = null) =>
        builder.AddAlgorithm<RegMeanAlgorithm, RegMeanOptions>(name, configure);

    /// <summary>Registers <c>magmax</c>.</summary>
    public static IFusionBenchBuilder AddMagMax(this IFusionBenchBuilder builder, string name = "magmax", Action<MagMaxOptions>? configure = null) =>
        builder.AddAlgorithm<MagMaxAlgorithm, MagMaxOptions>(name, configure);

    /// <summary>Registers <c>model_stock</c>.</summary>
    public static IFusionBenchBuilder AddModelStock(this IFusionBenchBuilder builder, string name = "model_stock", Action<ModelStockOptions>? configure = null) =>
        builder.AddAlgorithm<ModelStockAlgorithm, ModelStockOptions>(name, configure);

    /// <summary>Registers <c>breadcrumbs</c>.</summary>
    public static IFusionBenchBuilder AddBreadcrumbs(this IFusionBenchBuilder builder, string name = "breadcrumbs", Action<BreadcrumbsOptions>? configure = null) =>
        builder.AddAlgorithm<BreadcrumbsAlgorithm, BreadcrumbsOptions>(name, configure);

    /// <summary>Registers <c>breadcrumbs_ties</c>.</summary>
    public static IFusionBenchBuilder AddBreadcrumbsTies(this IFusionBenchBuilder builder, string name = "breadcrumbs_ties", Action<BreadcrumbsOptions>? configure = null) =>
        builder.AddAlgorithm<BreadcrumbsTiesAlgorithm, BreadcrumbsOptions>(name, configure);

    /// <summary>Registers <c>della</c>.</summary>
    public static IFusionBenchBuilder AddDella(this IFusionBenchBuilder builder, string name = "della", Action<DellaOptions>? configure = null) =>
        builder.AddAlgorithm<DellaAlgorithm, DellaOptions>(name, configure);

    /// <summary>Registers <c>della_linear</c>.</summary>
    public static IFusionBenchBuilder AddDellaLinear(this IFusionBenchBuilder builder, string name = "della_linear", Action<DellaOptions>? configure = null) =>
        builder.AddAlgorithm<DellaLinearAlgorithm, DellaOptions>(name, configure);

    /// <summary>Registers <c>nuslerp</c>.</summary>
    public static IFusionBenchBuilder AddNuSlerp(this IFusionBenchBuilder builder, string name = "nuslerp", Action<NuSlerpOptions>? configure = null) =>
        builder.AddAlgorithm<NuSlerpAlgorithm, NuSlerpOptions>(name, configure);

    /// <summary>Registers <c>karcher</c>.</summary>
    public static IFusionBenchBuilder AddKarcher(this IFusionBenchBuilder builder, string name = "karcher", Action<KarcherOptions>? configure = null) =>
        builder.AddAlgorithm<KarcherAlgorithm, KarcherOptions>(name, configure);

    /// <summary>Registers <c>task_singular_vector</c>.</summary>
    public static IFusionBenchBuilder AddTaskSingularVector(this IFusionBenchBuilder builder, string name = "task_singular_vector", Action<TaskSingularVectorOptions>? configure = null) =>
        builder.AddAlgorithm<TaskSingularVectorAlgorithm, TaskSingularVectorOptions>(name, configure);

    /// <summary>Registers <c>iso_c</c>.</summary>
    public static IFusionBenchBuilder AddIsoC(this IFusionBenchBuilder builder, string name = "iso_c", Action<IsoCOptions>? configure = null) =>
        builder.AddAlgorithm<IsoCAlgorithm, IsoCOptions>(name, configure);

    /// <summary>Registers <c>iso_cts</c>.</summary>
    public static IFusionBenchBuilder AddIsoCts(this IFusionBenchBuilder builder, string name = "iso_cts", Action<IsoCtsOptions>? configure = null) =>
        builder.AddAlgorithm<IsoCtsAlgorithm, IsoCtsOptions>(name, configure);

    /// <summary>Registers <c>wudi</c>.</summary>
    public static IFusionBenchBuilder AddWudi(this IFusionBenchBuilder builder, string name = "wudi", Action<WudiOptions>? configure = null) =>
        builder.AddAlgorithm<WudiAlgorithm, WudiOptions>(name, configure);

    /// <summary>Registers <c>tall_mask_task_arithmetic</c>.</summary>
    public static IFusionBenchBuilder AddTallMaskTaskArithmetic(this IFusionBenchBuilder builder, string name = "tall_mask_task_arithmetic", Action<TallMaskOptions>? configure = null) =>
        builder.AddAlgorithm<TallMaskTaskArithmeticAlgorithm, TallMaskOptions>(name, configure);

    /// <summary>Registers <c>tall_mask_consensus</c>.</summary>
    public static IFusionBenchBuilder AddTallMaskConsensus(this IFusionBenchBuilder builder, string name = "tall_mask_consensus", Action<TallMaskConsensusOptions>? configure = null) =>
        builder.AddAlgorithm<TallMaskConsensusAlgorithm, TallMaskConsensusOptions>(name, configure);

    /// <summary>Registers <c>emr_merging</c>.</summary>
    public static IFusionBenchBuilder AddEmrMerging(this IFusionBenchBuilder builder, string name = "emr_merging", Action<EmrMergingOptions>? configure = null) =>
        builder.AddAlgorithm<EmrMergingAlgorithm, EmrMergingOptions>(name, configure);
}

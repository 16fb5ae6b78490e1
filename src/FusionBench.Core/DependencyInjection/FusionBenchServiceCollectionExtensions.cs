using FusionBench.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers FusionBench.Core in a service collection.</summary>
public static class FusionBenchServiceCollectionExtensions
{
    /// <summary>
    /// Registers the algorithm provider and every built-in fusion method under its FusionBench name. Safe to call more
    /// than once.
    /// </summary>
    /// <returns>A builder to register more methods on.</returns>
    public static IFusionBenchBuilder AddFusionBench(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var builder = new FusionBenchBuilder(services);
        services.AddOptions();
        services.TryAddSingleton<IFusionAlgorithmProvider, FusionAlgorithmProvider>();
        builder.AddSimpleEnsemble()
            .AddWeightedEnsemble()
            .AddMaxModelPredictor()
            .AddSimpleAverage()
            .AddWeightedAverage()
            .AddTaskArithmetic()
            .AddTiesMerging()
            .AddDareTaskArithmetic()
            .AddDareTiesMerging()
            .AddSlerp()
            .AddFisherMerging()
            .AddRegMean()
            .AddTaskWiseAdaMerging()
            .AddLayerWiseAdaMerging()
            .AddDepthUpscaling()
            .AddMoeUpscaling()
            .AddMoeMerging()
            .AddModelRecombination()
            .AddWeightEnsemblingMoe();
        return builder;
    }
}

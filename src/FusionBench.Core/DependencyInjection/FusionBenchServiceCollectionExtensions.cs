using FusionBench.Core;
using FusionBench.Core.DependencyInjection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

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
        if (!services.Any(d => d.ServiceType == typeof(IValidateOptions<FusionBenchStartupCheck>)))
        {
            services.AddSingleton<IValidateOptions<FusionBenchStartupCheck>, FusionBenchConfigurationNamesValidator>();
            services.AddOptions<FusionBenchStartupCheck>().ValidateOnStart();
        }
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
            .AddMagMax()
            .AddModelStock()
            .AddBreadcrumbs()
            .AddBreadcrumbsTies()
            .AddDella()
            .AddDellaLinear()
            .AddNuSlerp()
            .AddKarcher()
            .AddTaskSingularVector()
            .AddIsoC()
            .AddIsoCts()
            .AddWudi()
            .AddTallMaskTaskArithmetic()
            .AddTallMaskConsensus()
            .AddEmrMerging()
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

    /// <summary>
    /// Registers FusionBench.Core as <see cref="AddFusionBench(IServiceCollection)"/> does and binds every method's options
    /// from <paramref name="configuration"/>: one child per method name, keyed by FusionBench's snake_case parameter names
    /// (for example <c>"ties_merging": { "threshold": 20, "merge_func": "mean" }</c>). Methods registered later on the
    /// returned builder are bound too. An unknown method or key, or a value out of range, fails at start-up
    /// (<c>ValidateOnStart</c>; outside a host call <c>IStartupValidator.Validate()</c>) and whenever the method is built.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configuration">The section whose children are method names (for example <c>configuration.GetSection("FusionBench:Methods")</c>).</param>
    /// <returns>A builder to register more methods on.</returns>
    public static IFusionBenchBuilder AddFusionBench(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var builder = services.AddFusionBench();
        services.RemoveAll<FusionBenchConfiguration>();
        services.AddSingleton(new FusionBenchConfiguration(configuration));
        return builder;
    }
}

using Microsoft.Extensions.DependencyInjection;

namespace FusionBench.Core.DependencyInjection;

/// <summary>Configures FusionBench.Core in a service collection; returned by <see cref="FusionBenchServiceCollectionExtensions.AddFusionBench(IServiceCollection)"/>.</summary>
public interface IFusionBenchBuilder
{
    /// <summary>The service collection being configured.</summary>
    IServiceCollection Services { get; }
}

internal sealed class FusionBenchBuilder(IServiceCollection services) : IFusionBenchBuilder
{
    public IServiceCollection Services { get; } = services;
}

using Microsoft.Extensions.DependencyInjection;
namespace FusionBench.Core.DependencyInjection;

/// <summary>
/// Entry point of a plug-in assembly: the <c>fusionbench</c> CLI (<c>--plugin PATH.dll</c>) creates every public
/// implementation with a parameterless constructor and lets it register its methods.
/// </summary>
public interface IFusionBenchPlugin
{
    /// <summary>Registers the plug-in's fusion methods, typically with <see cref="FusionBenchBuilderExtensions.AddAlgorithm{TAlgorithm, TOptions}"/>.</summary>
    void Configure(IFusionBenchBuilder builder);
}

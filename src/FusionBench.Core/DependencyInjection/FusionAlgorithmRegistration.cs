using Microsoft.Extensions.DependencyInjection;
using FusionBench.Core;
using Microsoft.Extensions.Options;

namespace FusionBench.Core.DependencyInjection;

/// <summary>One registered fusion method: its name, types and how to build it with optional parameter overrides.</summary>
public sealed class FusionAlgorithmRegistration
{
    private readonly Func<IServiceProvider, IEnumerable<KeyValuePair<string, string>>?, IFusionAlgorithm> _factory;
    private readonly Func<IServiceProvider, object> _options;

    internal FusionAlgorithmRegistration(string name, Type algorithmType, Type optionsType,
        Func<IServiceProvider, IEnumerable<KeyValuePair<string, string>>?, IFusionAlgorithm> factory, Func<IServiceProvider, object> options)
    {
        Name = name;
        AlgorithmType = algorithmType;
        OptionsType = optionsType;
        _factory = factory;
        _options = options;
    }

    /// <summary>The name the method is registered (and resolved) under.</summary>
    public string Name { get; }

    /// <summary>The algorithm's type.</summary>
    public Type AlgorithmType { get; }

    /// <summary>The options' type.</summary>
    public Type OptionsType { get; }

    internal IFusionAlgorithm Create(IServiceProvider services, IEnumerable<KeyValuePair<string, string>>? parameters) => _factory(services, parameters);

    internal object CreateOptions(IServiceProvider services) => _options(services);

    internal static FusionAlgorithmRegistration For<TAlgorithm, TOptions>(string name)
        where TAlgorithm : class, IFusionAlgorithm
        where TOptions : class, new()
    {
        return new FusionAlgorithmRegistration(name, typeof(TAlgorithm), typeof(TOptions), Factory, sp => NewOptions(sp));

        TOptions NewOptions(IServiceProvider sp)
        {
            // IOptionsFactory builds a fresh instance with the configuration and every Configure action of this name
            // applied (and validates it), so per-call overrides never leak into the registration's defaults.
            try
            {
                return sp.GetService<IOptionsFactory<TOptions>>()?.Create(name) ?? new TOptions();
            }
            catch (OptionsValidationException e)
            {
                throw new FusionParameterException(name, null, string.Join(" ", e.Failures), e);
            }
        }

        IFusionAlgorithm Factory(IServiceProvider sp, IEnumerable<KeyValuePair<string, string>>? parameters)
        {
            var options = NewOptions(sp);
            if (parameters is not null) OptionsBinder.Apply(name, options, parameters);
            OptionsBinder.Validate(name, options);
            try
            {
                return ActivatorUtilities.CreateInstance<TAlgorithm>(sp, options);
            }
            catch (System.Reflection.TargetInvocationException e) when (e.InnerException is FusionException inner)
            {
                throw inner;
            }
        }
    }
}

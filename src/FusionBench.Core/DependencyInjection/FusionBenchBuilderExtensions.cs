using FusionBench.Core;
using FusionBench.Core.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers fusion methods on an <see cref="IFusionBenchBuilder"/>.</summary>
public static class FusionBenchBuilderExtensions
{
    /// <summary>
    /// Registers a fusion method under <paramref name="name"/>: a keyed <see cref="IFusionAlgorithm"/> built with named
    /// <typeparamref name="TOptions"/>, resolvable through <see cref="IFusionAlgorithmProvider"/> and the CLI. Built-in
    /// methods register through this same call.
    /// </summary>
    /// <typeparam name="TAlgorithm">The algorithm; its constructor takes <typeparamref name="TOptions"/> (and any services).</typeparam>
    /// <typeparam name="TOptions">Its options: public settable properties become snake_case parameters.</typeparam>
    /// <param name="builder">The builder.</param>
    /// <param name="name">The name to register under (FusionBench's config name for built-ins).</param>
    /// <param name="configure">Changes to the options' defaults for this registration.</param>
    /// <exception cref="InvalidOperationException">Another algorithm type is already registered under that name.</exception>
    public static IFusionBenchBuilder AddAlgorithm<TAlgorithm, TOptions>(this IFusionBenchBuilder builder, string name, Action<TOptions>? configure = null)
        where TAlgorithm : class, IFusionAlgorithm
        where TOptions : class, new()
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var services = builder.Services;
        var existing = services
            .Where(d => d.ServiceType == typeof(FusionAlgorithmRegistration) && d.ImplementationInstance is FusionAlgorithmRegistration r && r.Name == name)
            .Select(d => (FusionAlgorithmRegistration)d.ImplementationInstance!)
            .FirstOrDefault();
        if (existing is not null)
        {
            if (existing.AlgorithmType != typeof(TAlgorithm))
                throw new InvalidOperationException($"A fusion method named '{name}' is already registered ({existing.AlgorithmType.Name}).");
            if (configure is not null) services.Configure(name, configure);
            return builder; // registering the same method twice is a no-op (AddFusionBench may be called again)
        }
        var registration = FusionAlgorithmRegistration.For<TAlgorithm, TOptions>(name);
        // Named options: bound from AddFusionBench(configuration)'s section (if any), then the configure actions, then
        // validated by the data annotations — at start-up in a host (ValidateOnStart) and whenever the method is built.
        services.AddSingleton<IConfigureOptions<TOptions>>(sp => new ConfigureFromFusionBenchConfiguration<TOptions>(name, sp.GetService<FusionBenchConfiguration>()));
        services.AddOptions<TOptions>(name).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TOptions>>(new FusionOptionsValidator<TOptions>(name));
        if (configure is not null) services.Configure(name, configure);
        services.AddSingleton(registration);
        services.AddKeyedTransient<IFusionAlgorithm>(name, (sp, _) => registration.Create(sp, null));
        return builder;
    }
}

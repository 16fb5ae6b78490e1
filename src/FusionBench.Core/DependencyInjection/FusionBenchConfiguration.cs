using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace FusionBench.Core.DependencyInjection;

/// <summary>
/// The configuration section the methods' options are bound from: one child per method name, its keys FusionBench's
/// snake_case parameter names (<c>"task_arithmetic": { "scaling_factor": 0.4 }</c>). Registered by
/// <c>AddFusionBench(IConfiguration)</c>.
/// </summary>
public sealed class FusionBenchConfiguration(IConfiguration section)
{
    /// <summary>The section whose children are method names.</summary>
    public IConfiguration Section { get; } = section ?? throw new ArgumentNullException(nameof(section));
}

/// <summary>Binds one method's named options from its child of <see cref="FusionBenchConfiguration"/>; an unknown key is an error.</summary>
internal sealed class ConfigureFromFusionBenchConfiguration<TOptions>(string name, FusionBenchConfiguration? configuration)
    : IConfigureNamedOptions<TOptions> where TOptions : class
{
    public void Configure(TOptions options) { }

    public void Configure(string? optionsName, TOptions options)
    {
        if (optionsName != name || configuration is null) return;
        var section = configuration.Section.GetSection(name);
        if (!section.Exists()) return;
        // An unknown key is an error, never ignored. (The binder's ErrorOnUnknownConfiguration does not honour
        // ConfigurationKeyName, so the check uses the method's own parameter names.)
        var known = OptionsBinder.Describe(options).Select(p => p.Name).ToHashSet(StringComparer.OrdinalIgnoreCase); // configuration keys ignore case
        foreach (var child in section.GetChildren())
            if (!known.Contains(child.Key))
                throw new FusionParameterException(name, child.Key,
                    $"Configuration of method '{name}' ({section.Path}) has the unknown key '{child.Key}'.{Environment.NewLine}{OptionsBinder.ListParameters(name, options)}");
        try
        {
            section.Bind(options);
        }
        catch (InvalidOperationException e)
        {
            throw new FusionParameterException(name, null, $"Configuration of method '{name}' ({section.Path}): {e.Message}", e);
        }
    }
}

/// <summary>Validates one method's named options with its data annotations (what <c>ValidateOnStart</c> runs).</summary>
internal sealed class FusionOptionsValidator<TOptions>(string name) : IValidateOptions<TOptions> where TOptions : class
{
    public ValidateOptionsResult Validate(string? optionsName, TOptions options)
    {
        if (optionsName != name) return ValidateOptionsResult.Skip;
        try
        {
            OptionsBinder.Validate(name, options);
            return ValidateOptionsResult.Success;
        }
        catch (FusionParameterException e)
        {
            return ValidateOptionsResult.Fail(e.Message);
        }
    }
}

/// <summary>The options type of the start-up check that the configuration names only registered methods.</summary>
internal sealed class FusionBenchStartupCheck;

/// <summary>At start-up, every child of the configuration section must name a registered method.</summary>
internal sealed class FusionBenchConfigurationNamesValidator(IServiceProvider services) : IValidateOptions<FusionBenchStartupCheck>
{
    public ValidateOptionsResult Validate(string? name, FusionBenchStartupCheck options)
    {
        if (services.GetService(typeof(FusionBenchConfiguration)) is not FusionBenchConfiguration configuration) return ValidateOptionsResult.Success;
        var known = ((IEnumerable<FusionAlgorithmRegistration>)services.GetService(typeof(IEnumerable<FusionAlgorithmRegistration>))!)
            .Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
        var unknown = configuration.Section.GetChildren().Select(c => c.Key).Where(k => !known.Contains(k)).ToList();
        return unknown.Count == 0
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(unknown.Select(k => new UnknownFusionAlgorithmException(k, known.Order(StringComparer.Ordinal)).Message));
    }
}

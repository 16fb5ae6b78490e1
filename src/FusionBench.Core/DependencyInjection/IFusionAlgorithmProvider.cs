using Microsoft.Extensions.DependencyInjection;
using FusionBench.Core;

namespace FusionBench.Core.DependencyInjection;

/// <summary>Finds registered fusion methods by name, built-in and custom alike.</summary>
public interface IFusionAlgorithmProvider
{
    /// <summary>Every registered method, in registration order.</summary>
    IReadOnlyList<FusionAlgorithmRegistration> Registrations { get; }

    /// <summary>The method registered under <paramref name="name"/>, with its registered options.</summary>
    /// <exception cref="UnknownFusionAlgorithmException">No method has that name; the message lists the registered ones.</exception>
    IFusionAlgorithm Get(string name);

    /// <summary>Whether a method has that name; if so, returns it.</summary>
    bool TryGet(string name, out IFusionAlgorithm? algorithm);

    /// <summary>The method registered under <paramref name="name"/> with some parameters overridden from text values.</summary>
    /// <param name="name">The registered name.</param>
    /// <param name="parameters">FusionBench parameter names and values as text (<c>scaling_factor</c> → <c>0.4</c>,
    /// <c>weights</c> → <c>[0.2,0.8]</c>).</param>
    /// <exception cref="UnknownFusionAlgorithmException">No method has that name.</exception>
    /// <exception cref="FusionParameterException">A parameter is unknown, ill-typed or out of range; the message lists the method's parameters.</exception>
    IFusionAlgorithm Create(string name, IEnumerable<KeyValuePair<string, string>> parameters);

    /// <summary>The parameters of a method with their types, registered defaults and meanings.</summary>
    IReadOnlyList<FusionParameter> DescribeParameters(string name);
}

/// <summary>No fusion method is registered under the requested name.</summary>
public sealed class UnknownFusionAlgorithmException : FusionException
{
    /// <summary>Creates the exception.</summary>
    public UnknownFusionAlgorithmException(string name, IEnumerable<string> known)
        : base($"Unknown fusion method '{name}'. Registered methods: {string.Join(", ", known)}. " +
               "Register your own with services.AddFusionBench().AddAlgorithm<TAlgorithm, TOptions>(\"name\").")
    {
        Name = name;
    }

    /// <summary>The name that was asked for.</summary>
    public string Name { get; }
}

internal sealed class FusionAlgorithmProvider(IServiceProvider services, IEnumerable<FusionAlgorithmRegistration> registrations) : IFusionAlgorithmProvider
{
    private readonly List<FusionAlgorithmRegistration> _registrations = registrations.ToList();

    public IReadOnlyList<FusionAlgorithmRegistration> Registrations => _registrations;

    public IFusionAlgorithm Get(string name) => Find(name).Create(services, null);

    public bool TryGet(string name, out IFusionAlgorithm? algorithm)
    {
        var r = _registrations.FirstOrDefault(r => r.Name == name);
        algorithm = r?.Create(services, null);
        return algorithm is not null;
    }

    public IFusionAlgorithm Create(string name, IEnumerable<KeyValuePair<string, string>> parameters) =>
        Find(name).Create(services, parameters ?? throw new ArgumentNullException(nameof(parameters)));

    public IReadOnlyList<FusionParameter> DescribeParameters(string name) => OptionsBinder.Describe(Find(name).CreateOptions(services));

    private FusionAlgorithmRegistration Find(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return _registrations.FirstOrDefault(r => r.Name == name)
            ?? throw new UnknownFusionAlgorithmException(name, _registrations.Select(r => r.Name));
    }
}

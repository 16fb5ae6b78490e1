namespace FusionBench.Core.Options;

/// <summary>One parameter of a fusion method, as <c>fusionbench describe</c> shows it.</summary>
/// <param name="Name">FusionBench's parameter name (snake_case), used by <c>--set NAME=VALUE</c> and in reports.</param>
/// <param name="TypeName">The accepted type: <c>float</c>, <c>int</c>, <c>bool</c>, <c>string</c>, <c>list[float]</c>,
/// <c>list[string]</c>, or the allowed values <c>a|b|c</c>.</param>
/// <param name="DefaultValue">The default, as a registration configured it.</param>
/// <param name="Description">What the parameter means.</param>
public sealed record FusionParameter(string Name, string TypeName, object? DefaultValue, string Description)
{
    /// <summary>The default formatted as <c>--set</c> would accept it.</summary>
    public string DefaultText => FusionParameterValue.Format(DefaultValue);
}

/// <summary>A parameter name or value is not one the method accepts; the message lists the method's parameters.</summary>
public sealed class FusionParameterException : FusionException
{
    /// <summary>Creates the exception.</summary>
    public FusionParameterException(string method, string? parameter, string message) : base(message)
    {
        Method = method;
        Parameter = parameter;
    }

    /// <summary>Creates the exception with an inner cause.</summary>
    public FusionParameterException(string method, string? parameter, string message, Exception innerException) : base(message, innerException)
    {
        Method = method;
        Parameter = parameter;
    }

    /// <summary>The method whose parameter is wrong.</summary>
    public string Method { get; }

    /// <summary>The parameter, if one is named.</summary>
    public string? Parameter { get; }
}

using System.Collections;
using System.Globalization;

namespace FusionBench.Core.Options;

/// <summary>Formats parameter values the way <c>--set</c> and reports write them.</summary>
public static class FusionParameterValue
{
    /// <summary>Formats a value: numbers in invariant culture, <c>true</c>/<c>false</c>, lists as <c>[a,b]</c>, null as <c>null</c>.</summary>
    public static string Format(object? value) => value switch
    {
        null => "null",
        bool b => b ? "true" : "false",
        string s => s,
        Enum e => OptionsBinder.SnakeCase(e.ToString()),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        IEnumerable list => "[" + string.Join(",", list.Cast<object?>().Select(Format)) + "]",
        _ => value.ToString() ?? "",
    };
}

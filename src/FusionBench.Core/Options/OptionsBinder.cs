using System.Collections;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;
using System.Text;

namespace FusionBench.Core.Options;

/// <summary>
/// Binds a method's options class to FusionBench's parameter names: each public settable property is a parameter
/// named in snake_case (<c>ScalingFactor</c> → <c>scaling_factor</c>), described by its <see cref="DescriptionAttribute"/>
/// and validated by its data annotations.
/// </summary>
internal static class OptionsBinder
{
    public static string SnakeCase(string pascal)
    {
        var sb = new StringBuilder(pascal.Length + 4);
        for (int i = 0; i < pascal.Length; i++)
        {
            char c = pascal[i];
            if (char.IsUpper(c))
            {
                bool boundary = i > 0 && (char.IsLower(pascal[i - 1]) || (i + 1 < pascal.Length && char.IsLower(pascal[i + 1]) && char.IsUpper(pascal[i - 1])));
                if (boundary) sb.Append('_');
                sb.Append(char.ToLowerInvariant(c));
            }
            else sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>
    /// A property's parameter name: its <see cref="Microsoft.Extensions.Configuration.ConfigurationKeyNameAttribute"/>
    /// (the same name configuration binding uses), else its name in snake_case.
    /// </summary>
    public static string ParameterName(PropertyInfo property) =>
        property.GetCustomAttribute<Microsoft.Extensions.Configuration.ConfigurationKeyNameAttribute>()?.Name ?? SnakeCase(property.Name);

    private static string MemberParameterName(Type optionsType, string member) =>
        optionsType.GetProperty(member) is PropertyInfo p ? ParameterName(p) : SnakeCase(member);

    private static IEnumerable<PropertyInfo> Properties(Type optionsType) =>
        optionsType.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanRead && p.CanWrite && p.GetIndexParameters().Length == 0);

    public static IReadOnlyList<FusionParameter> Describe(object options) =>
        Properties(options.GetType())
            .Select(p => new FusionParameter(ParameterName(p), TypeName(p.PropertyType), p.GetValue(options),
                p.GetCustomAttribute<DescriptionAttribute>()?.Description ?? ""))
            .ToList();

    public static IReadOnlyDictionary<string, object?> ToDictionary(object options) =>
        Properties(options.GetType()).ToDictionary(p => ParameterName(p), p => p.GetValue(options), StringComparer.Ordinal);

    public static string TypeName(Type t)
    {
        t = Nullable.GetUnderlyingType(t) ?? t;
        if (t == typeof(double) || t == typeof(float)) return "float";
        if (t == typeof(int) || t == typeof(long)) return "int";
        if (t == typeof(bool)) return "bool";
        if (t == typeof(string)) return "string";
        if (t.IsEnum) return string.Join("|", Enum.GetNames(t).Select(SnakeCase));
        var element = ElementType(t);
        if (element is not null) return $"list[{TypeName(element)}]";
        return t.Name;
    }

    private static Type? ElementType(Type t)
    {
        if (t.IsArray) return t.GetElementType();
        if (t.IsGenericType && t.GetGenericArguments().Length == 1 && typeof(IEnumerable).IsAssignableFrom(t)) return t.GetGenericArguments()[0];
        return null;
    }

    /// <summary>Sets parameters from text values (as given to <c>--set</c>).</summary>
    public static void Apply(string method, object options, IEnumerable<KeyValuePair<string, string>> values)
    {
        var props = Properties(options.GetType()).ToDictionary(p => ParameterName(p), StringComparer.Ordinal);
        foreach (var (key, text) in values)
        {
            if (!props.TryGetValue(key, out var prop))
                throw new FusionParameterException(method, key,
                    $"Method '{method}' has no parameter '{key}'.{Environment.NewLine}{ListParameters(method, options)}");
            object? value;
            try { value = Parse(text, prop.PropertyType); }
            catch (FormatException e)
            {
                throw new FusionParameterException(method, key,
                    $"Parameter '{key}' of method '{method}' expects {TypeName(prop.PropertyType)}, got '{text}' ({e.Message}).{Environment.NewLine}{ListParameters(method, options)}");
            }
            prop.SetValue(options, value);
        }
    }

    /// <summary>Checks data annotations (and <see cref="IValidatableObject"/>); throws naming every failing parameter.</summary>
    public static void Validate(string method, object options)
    {
        var results = new List<ValidationResult>();
        if (Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true)) return;
        var first = results[0];
        var type = options.GetType();
        string param = first.MemberNames.Select(m => MemberParameterName(type, m)).FirstOrDefault() ?? "";
        string message = string.Join(" ", results.Select(r =>
        {
            string names = string.Join(", ", r.MemberNames.Select(m => MemberParameterName(type, m)));
            return names.Length > 0 ? $"{names}: {RenameMembers(r.ErrorMessage, r.MemberNames)}" : r.ErrorMessage;
        }));
        throw new FusionParameterException(method, param, $"Invalid parameters for method '{method}': {message}");
    }

    private static string? RenameMembers(string? message, IEnumerable<string> members)
    {
        if (message is null) return null;
        foreach (var m in members) message = message.Replace($"The field {m} ", "The value ", StringComparison.Ordinal);
        return message;
    }

    public static string ListParameters(string method, object options)
    {
        var ps = Describe(options);
        if (ps.Count == 0) return $"Method '{method}' takes no parameters.";
        var sb = new StringBuilder($"Parameters of '{method}':");
        foreach (var p in ps) sb.Append(CultureInfo.InvariantCulture, $"{Environment.NewLine}  {p.Name} ({p.TypeName}, default {p.DefaultText})");
        return sb.ToString();
    }

    public static object? Parse(string text, Type type)
    {
        text = text.Trim();
        var underlying = Nullable.GetUnderlyingType(type);
        if ((underlying is not null || !type.IsValueType) && (text == "null" || text == "~"))
            return null;
        type = underlying ?? type;
        if (type == typeof(string)) return Unquote(text);
        if (type == typeof(double))
            return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : throw new FormatException("not a number");
        if (type == typeof(float))
            return float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var f) ? f : throw new FormatException("not a number");
        if (type == typeof(int))
            return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) ? i : throw new FormatException("not an integer");
        if (type == typeof(long))
            return long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l) ? l : throw new FormatException("not an integer");
        if (type == typeof(bool))
            return text.ToLowerInvariant() switch { "true" => true, "false" => false, _ => throw new FormatException("not true or false") };
        if (type.IsEnum)
        {
            foreach (var name in Enum.GetNames(type))
                if (string.Equals(SnakeCase(name), text, StringComparison.OrdinalIgnoreCase) || string.Equals(name, text, StringComparison.OrdinalIgnoreCase))
                    return Enum.Parse(type, name);
            throw new FormatException($"allowed values are {TypeName(type)}");
        }
        var element = ElementType(type);
        if (element is not null)
        {
            string inner = text.StartsWith('[') && text.EndsWith(']') ? text[1..^1] : text;
            var items = inner.Trim().Length == 0 ? new List<string>() : SplitTopLevel(inner);
            var array = Array.CreateInstance(element, items.Count);
            for (int k = 0; k < items.Count; k++) array.SetValue(Parse(items[k], element), k);
            if (type.IsArray || type.IsAssignableFrom(array.GetType())) return array;
            var list = (IList)Activator.CreateInstance(typeof(List<>).MakeGenericType(element))!;
            foreach (var item in array) list.Add(item);
            return list;
        }
        throw new FormatException($"type {type.Name} cannot be set from text");
    }

    /// <summary>Splits on commas outside brackets and parentheses, so <c>[range(0,4),range(2,6)]</c> has two items.</summary>
    private static List<string> SplitTopLevel(string text)
    {
        var parts = new List<string>();
        int depth = 0, start = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] is '(' or '[') depth++;
            else if (text[i] is ')' or ']') depth--;
            else if (text[i] == ',' && depth == 0)
            {
                parts.Add(text[start..i]);
                start = i + 1;
            }
        }
        parts.Add(text[start..]);
        return parts;
    }

    private static string Unquote(string s) =>
        s.Length >= 2 && ((s[0] == '"' && s[^1] == '"') || (s[0] == '\'' && s[^1] == '\'')) ? s[1..^1] : s;
}

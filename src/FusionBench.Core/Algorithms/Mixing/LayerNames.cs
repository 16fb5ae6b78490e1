using System.Text.RegularExpressions;

namespace FusionBench.Core.Algorithms.Mixing;

/// <summary>
/// Finds the repeated blocks of a checkpoint by Hugging Face's naming (<c>….layers.3.…</c>, <c>….layer.3.…</c>,
/// <c>….h.3.…</c>, <c>….blocks.3.…</c>), so the mixing methods work on any transformer checkpoint, not one family.
/// </summary>
internal static partial class LayerNames
{
    [GeneratedRegex(@"^(?<prefix>.*?\.(?:layers|layer|h|blocks)\.)(?<index>\d+)\.(?<rest>.+)$")]
    private static partial Regex Pattern();

    /// <summary>The layer list's prefix, the layer index and the rest of the name; null for a tensor outside the layers.</summary>
    public static (string Prefix, int Index, string Tail)? Parse(string name)
    {
        var m = Pattern().Match(name);
        return m.Success ? (m.Groups["prefix"].Value, int.Parse(m.Groups["index"].Value, System.Globalization.CultureInfo.InvariantCulture), m.Groups["rest"].Value) : null;
    }

    /// <summary>The number of layers (highest index + 1) and their prefix; throws if the checkpoint has no layer list.</summary>
    public static (string Prefix, int Count) Layers(IEnumerable<string> names, string method)
    {
        var parsed = names.Select(Parse).Where(p => p is not null).Select(p => p!.Value).ToList();
        if (parsed.Count == 0)
            throw new FusionException($"Method '{method}' works on a stack of layers, but no tensor name has the form '….layers.N.…'.");
        var prefixes = parsed.Select(p => p.Prefix).Distinct().ToList();
        if (prefixes.Count > 1)
            throw new FusionException($"Method '{method}' found more than one layer list ({string.Join(", ", prefixes)}); it handles one.");
        return (prefixes[0], parsed.Max(p => p.Index) + 1);
    }
}

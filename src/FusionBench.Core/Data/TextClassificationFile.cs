using System.Globalization;
using System.Text.Json;
using CsvHelper;
using CsvHelper.Configuration;

namespace FusionBench.Core.Data;

/// <summary>One labelled text.</summary>
/// <param name="Text">The text.</param>
/// <param name="Label">Its class id (0-based).</param>
public readonly record struct TextExample(string Text, int Label);

/// <summary>
/// Reads a text-classification file: CSV (<c>.csv</c>), TSV (<c>.tsv</c>) or JSON Lines (<c>.jsonl</c>) with a
/// <c>text</c> and a <c>label</c> column. A label is a class id (0 … classes − 1) or a class name from
/// the model's <c>id2label</c>. Rows are read lazily, one at a time, so a file of any size
/// streams; every error names the file, the line and what is wrong.
/// </summary>
public static class TextClassificationFile
{
    /// <summary>The file kinds read, by extension.</summary>
    public static IReadOnlyList<string> Extensions { get; } = new[] { ".csv", ".tsv", ".jsonl" };

    /// <summary>Reads the examples in file order.</summary>
    /// <param name="path">The file.</param>
    /// <param name="numClasses">The classes of the model's head: ids must be below it.</param>
    /// <param name="labels">Class names in id order, or null when labels are ids only.</param>
    /// <exception cref="FusionException">A missing file or column, an unknown label, a malformed row.</exception>
    public static IEnumerable<TextExample> Read(string path, int numClasses, IReadOnlyList<string>? labels = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FusionException($"{path}: no such data file.");
        string ext = Path.GetExtension(path).ToLowerInvariant();
        if (!Extensions.Contains(ext)) throw new FusionException($"{path}: unknown data file kind '{ext}' (read: {string.Join(", ", Extensions)}).");
        var byName = labels?.Select((n, i) => (n, i)).ToDictionary(x => x.n, x => x.i, StringComparer.Ordinal);
        return ext == ".jsonl" ? ReadJsonLines(path, numClasses, byName) : ReadDelimited(path, ext == ".tsv" ? "\t" : ",", numClasses, byName);
    }

    /// <summary>Reads the whole file (for small data and tests).</summary>
    public static List<TextExample> ReadAll(string path, int numClasses, IReadOnlyList<string>? labels = null) => Read(path, numClasses, labels).ToList();

    private static IEnumerable<TextExample> ReadDelimited(string path, string delimiter, int numClasses, Dictionary<string, int>? byName)
    {
        var config = new CsvConfiguration(CultureInfo.InvariantCulture) { Delimiter = delimiter, DetectColumnCountChanges = true };
        using var reader = new StreamReader(path);
        using var csv = new CsvReader(reader, config);
        if (!csv.Read()) throw new FusionException($"{path}: the file is empty (expected a header with 'text' and 'label').");
        csv.ReadHeader();
        var header = csv.HeaderRecord ?? Array.Empty<string>();
        foreach (var column in new[] { "text", "label" })
            if (!header.Contains(column))
                throw new FusionException($"{path}: no '{column}' column (columns: {string.Join(", ", header)}).");
        while (true)
        {
            bool more;
            try { more = csv.Read(); }
            catch (CsvHelperException e) { throw new FusionException($"{path}: line {csv.Parser.RawRow}: malformed row ({e.GetType().Name}).", e); }
            if (!more) yield break;
            int line = csv.Parser.RawRow;
            string? text, label;
            try
            {
                text = csv.GetField("text");
                label = csv.GetField("label");
            }
            catch (CsvHelperException e) { throw new FusionException($"{path}: line {line}: malformed row ({e.GetType().Name}).", e); }
            yield return new TextExample(text ?? "", ParseLabel(label, path, line, numClasses, byName));
        }
    }

    private static IEnumerable<TextExample> ReadJsonLines(string path, int numClasses, Dictionary<string, int>? byName)
    {
        int line = 0;
        foreach (var raw in File.ReadLines(path))
        {
            line++;
            if (string.IsNullOrWhiteSpace(raw)) continue;
            string? text, label;
            try
            {
                using var doc = JsonDocument.Parse(raw);
                var r = doc.RootElement;
                if (r.ValueKind != JsonValueKind.Object || !r.TryGetProperty("text", out var t) || !r.TryGetProperty("label", out var l))
                    throw new FusionException($"{path}: line {line}: expected an object with 'text' and 'label'.");
                text = t.ValueKind == JsonValueKind.String ? t.GetString() : throw new FusionException($"{path}: line {line}: 'text' is not a string.");
                label = l.ValueKind switch
                {
                    JsonValueKind.String => l.GetString(),
                    JsonValueKind.Number => l.GetRawText(),
                    _ => throw new FusionException($"{path}: line {line}: 'label' is neither a class id nor a class name."),
                };
            }
            catch (JsonException e) { throw new FusionException($"{path}: line {line}: not valid JSON ({e.Message}).", e); }
            yield return new TextExample(text ?? "", ParseLabel(label, path, line, numClasses, byName));
        }
    }

    private static int ParseLabel(string? value, string path, int line, int numClasses, Dictionary<string, int>? byName)
    {
        value = value?.Trim();
        if (string.IsNullOrEmpty(value)) throw new FusionException($"{path}: line {line}: empty label.");
        if (byName is not null && byName.TryGetValue(value, out int named)) return named;
        if (int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out int id))
        {
            if (id >= 0 && id < numClasses) return id;
            throw new FusionException($"{path}: line {line}: label {id} is outside the head's {numClasses} classes (0–{numClasses - 1}).");
        }
        string known = byName is null ? "class ids only: the model's config.json has no id2label" : "known: " + string.Join(", ", byName.Keys);
        throw new FusionException($"{path}: line {line}: unknown label '{value}' ({known}).");
    }
}

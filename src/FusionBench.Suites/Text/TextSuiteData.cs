using System.IO.Compression;
using System.Text;
using System.Text.Json;

namespace FusionBench.Suites.Text;

/// <summary>One split of a text task: texts and their class indices.</summary>
public sealed record TextSplit(IReadOnlyList<string> Texts, IReadOnlyList<int> Labels)
{
    /// <summary>The number of examples.</summary>
    public int Count => Texts.Count;
}

/// <summary>A text-classification task of the suite: its classes, the label sentence of each class (for the zero-shot head) and its data.</summary>
public sealed record TextTask(string Name, IReadOnlyList<string> Classes, IReadOnlyList<string> Prompts, TextSplit Train, TextSplit Test)
{
    /// <summary>The number of classes.</summary>
    public int NumClasses => Classes.Count;
}

/// <summary>
/// The text suite's embedded data (<c>data/text/</c>, derived from Debian and npm packages by
/// <c>prepare_text_data.py</c>; sources, versions and licences in its <c>PROVENANCE.md</c>): per task
/// <c>TASK.train.tsv.gz</c> and <c>TASK.test.tsv.gz</c> (<c>label&lt;TAB&gt;text</c>, UTF-8) and <c>tasks.json</c>
/// (classes and label sentences).
/// </summary>
public static class TextSuiteData
{
    /// <summary>Every task in <paramref name="dataDirectory"/>, in <c>tasks.json</c>'s order.</summary>
    /// <exception cref="FileNotFoundException">A file is missing.</exception>
    /// <exception cref="InvalidDataException">A file is malformed; the message names it and the line.</exception>
    public static IReadOnlyList<TextTask> Load(string dataDirectory)
    {
        string index = Path.Combine(dataDirectory, "tasks.json");
        if (!File.Exists(index)) throw new FileNotFoundException($"The text suite's task list is missing: {index}", index);
        using var doc = JsonDocument.Parse(File.ReadAllText(index));
        if (!doc.RootElement.TryGetProperty("tasks", out var entries) || entries.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"{index}: expected an object with a 'tasks' array.");
        var tasks = new List<TextTask>();
        foreach (var e in entries.EnumerateArray())
        {
            string name = e.GetProperty("name").GetString()!;
            var classes = e.GetProperty("classes").EnumerateArray().Select(c => c.GetString()!).ToList();
            var prompts = e.GetProperty("prompts").EnumerateArray().Select(c => c.GetString()!).ToList();
            if (prompts.Count != classes.Count)
                throw new InvalidDataException($"{index}: task '{name}' has {classes.Count} classes but {prompts.Count} prompts.");
            var train = ReadSplit(Path.Combine(dataDirectory, $"{name}.train.tsv.gz"), classes.Count);
            var test = ReadSplit(Path.Combine(dataDirectory, $"{name}.test.tsv.gz"), classes.Count);
            tasks.Add(new TextTask(name, classes, prompts, train, test));
        }
        return tasks;
    }

    /// <summary>Reads one <c>label&lt;TAB&gt;text</c> gzip file.</summary>
    public static TextSplit ReadSplit(string path, int numClasses)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Text data file not found: {path}", path);
        var texts = new List<string>();
        var labels = new List<int>();
        using var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var reader = new StreamReader(gz, new UTF8Encoding(false, throwOnInvalidBytes: true));
        int lineNumber = 0;
        while (reader.ReadLine() is string line)
        {
            lineNumber++;
            if (line.Length == 0) continue;
            int tab = line.IndexOf('\t');
            if (tab <= 0 || !int.TryParse(line.AsSpan(0, tab), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int label)
                || label >= numClasses)
                throw new InvalidDataException($"{path}:{lineNumber}: expected 'label<TAB>text' with a label in 0–{numClasses - 1}.");
            labels.Add(label);
            texts.Add(line[(tab + 1)..]);
        }
        return new TextSplit(texts, labels);
    }
}

namespace FusionBench.Cli.Commands;

/// <summary>Writes a plain aligned text table (readable in a terminal and in a log).</summary>
internal static class TextTable
{
    public static void Write(TextWriter writer, IReadOnlyList<string> header, IReadOnlyList<string[]> rows)
    {
        var widths = header.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        writer.WriteLine(Line(header));
        writer.WriteLine(string.Join("  ", widths.Select(w => new string('-', w))));
        foreach (var r in rows) writer.WriteLine(Line(r));

        string Line(IReadOnlyList<string> cells) =>
            string.Join("  ", cells.Select((c, i) => i == cells.Count - 1 ? c : c.PadRight(widths[i]))).TrimEnd();
    }
}

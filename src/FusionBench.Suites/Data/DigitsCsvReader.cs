using System.Globalization;
using System.Text;
using FusionBench.Core.Checkpoints;
using static TorchSharp.torch;

namespace FusionBench.Suites.Data;

/// <summary>
/// Reads scikit-learn's <c>digits.csv(.gz)</c>: one 8×8 handwritten digit per line, 64 pixel values 0–16 then the
/// label, comma-separated, no header.
/// </summary>
public static class DigitsCsvReader
{
    /// <summary>Reads every row: images float32 [N, 1, 8, 8] scaled to [0, 1], labels int64 [N].</summary>
    /// <exception cref="CheckpointFormatException">A row does not have 65 integers in range; the message gives the line.</exception>
    public static (Tensor Images, Tensor Labels) Read(string path)
    {
        var text = Encoding.ASCII.GetString(IdxReader.ReadAll(path));
        var pixels = new List<float>();
        var labels = new List<long>();
        int lineNo = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNo++;
            var line = raw.Trim();
            if (line.Length == 0) continue;
            var cells = line.Split(',');
            if (cells.Length != 65)
                throw new CheckpointFormatException(path, null, $"line {lineNo} has {cells.Length} values, expected 65 (64 pixels and a label).");
            for (int i = 0; i < 65; i++)
            {
                if (!int.TryParse(cells[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < 0 || (i < 64 ? v > 16 : v > 9))
                    throw new CheckpointFormatException(path, null, $"line {lineNo}, value {i + 1} ('{cells[i]}') is out of range.");
                if (i < 64) pixels.Add(v / 16f);
                else labels.Add(v);
            }
        }
        if (labels.Count == 0) throw new CheckpointFormatException(path, null, "no rows.");
        return (tensor(pixels.ToArray(), new long[] { labels.Count, 1, 8, 8 }), tensor(labels.ToArray()));
    }
}

using System.Text.Json;
using FusionBench.Core.Models;
using Xunit;

namespace FusionBench.Suites.Tests.Text;

/// <summary>
/// <see cref="BertTextEncoder"/> (Microsoft.ML.Tokenizers' BertTokenizer on the model's vocab.txt) against an
/// independent implementation of BERT's uncased tokenizer (Golden/generate_tokenizer_golden.py: basic tokenization,
/// accent stripping, punctuation splitting, greedy WordPiece) on sentences of the text suite's own data.
/// </summary>
public class TokenizerGoldenTests(MiniLmFixture minilm) : IClassFixture<MiniLmFixture>
{
    [Fact]
    public void EveryGoldenSentence_GetsTheIndependentTokenizersIds()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Text", "Golden", "tokenizer_golden.json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var encoder = new BertTextEncoder(Path.Combine(minilm.Folder, "vocab.txt"), maxLength: 512);
        var cases = doc.RootElement.GetProperty("cases").EnumerateArray().ToList();
        Assert.True(cases.Count >= 200, $"only {cases.Count} golden sentences");
        var failures = new List<string>();
        foreach (var c in cases)
        {
            string text = c.GetProperty("text").GetString()!;
            var expected = c.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var actual = encoder.Encode(text).ToArray();
            if (!expected.SequenceEqual(actual))
                failures.Add($"{c.GetProperty("task").GetString()}: \"{text}\"\n  expected [{string.Join(",", expected)}]\n  actual   [{string.Join(",", actual)}]");
        }
        Assert.True(failures.Count == 0, $"{failures.Count} of {cases.Count} sentences differ:\n" + string.Join("\n", failures.Take(10)));
        // The sample exercises what differs between tokenizers: accents, punctuation and unknown words.
        Assert.Contains(cases, c => c.GetProperty("text").GetString()!.Normalize(System.Text.NormalizationForm.FormD).Any(ch => char.GetUnicodeCategory(ch) == System.Globalization.UnicodeCategory.NonSpacingMark));
        Assert.Contains(cases, c => c.GetProperty("ids").EnumerateArray().Any(e => e.GetInt32() == 100)); // [UNK]
    }
}

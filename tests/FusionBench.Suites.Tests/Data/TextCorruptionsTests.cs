using FusionBench.Suites.Data;
using FusionBench.Suites.Tests.Text;
using FusionBench.Suites.Text;
using Xunit;

namespace FusionBench.Suites.Tests.Data;

/// <summary>The text corruptions on the suite's real test texts: seeded, at the documented rates, and each doing only what it says.</summary>
public class TextCorruptionsTests(MiniLmFixture minilm) : IClassFixture<MiniLmFixture>
{
    private static readonly IReadOnlyList<string> Texts =
        TextSuiteData.Load(Path.Combine(AppContext.BaseDirectory, "data", "text")).SelectMany(t => t.Test.Texts.Take(150)).ToList();

    private static int Letters(string s) => s.Count(char.IsLetter);

    [Theory]
    [InlineData(TextCorruption.KeyboardTypo)]
    [InlineData(TextCorruption.CharacterSwap)]
    [InlineData(TextCorruption.CharacterDeletion)]
    [InlineData(TextCorruption.WordDropout)]
    [InlineData(TextCorruption.RandomCasing)]
    public void Apply_IsDeterministicInTheSeed_AndDiffersAcrossSeeds(TextCorruption corruption)
    {
        var a = TextCorruptions.Apply(Texts, corruption, 3, seed: 5);
        Assert.Equal(a, TextCorruptions.Apply(Texts, corruption, 3, seed: 5));
        Assert.NotEqual(a, TextCorruptions.Apply(Texts, corruption, 3, seed: 6));
        Assert.Equal(corruption, TextCorruptions.Parse(TextCorruptions.Name(corruption)));
    }

    [Fact]
    public void CharacterDeletion_RemovesLettersOnly_AtTheDocumentedRate()
    {
        double[] rates = { 0.02, 0.05, 0.08, 0.12, 0.16 };
        long letters = Texts.Sum(t => (long)Letters(t));
        for (int s = 1; s <= 5; s++)
        {
            var c = TextCorruptions.Apply(Texts, TextCorruption.CharacterDeletion, s, 0);
            double removed = 1 - (double)c.Sum(t => (long)Letters(t)) / letters;
            Assert.InRange(removed, rates[s - 1] * 0.9, rates[s - 1] * 1.1);
            for (int i = 0; i < Texts.Count; i++)
                Assert.Equal(Texts[i].Where(ch => !char.IsLetter(ch)), c[i].Where(ch => !char.IsLetter(ch))); // digits, spaces, punctuation stay
        }
    }

    [Fact]
    public void KeyboardTypoAndSwap_KeepTheLength_SwapKeepsTheCharacters_TypoReplacesLowercaseLettersByNeighbouringKeys()
    {
        var typo = TextCorruptions.Apply(Texts, TextCorruption.KeyboardTypo, 5, 1);
        var swap = TextCorruptions.Apply(Texts, TextCorruption.CharacterSwap, 5, 1);
        string[] rows = { "qwertyuiop", "asdfghjkl", "zxcvbnm" };
        (int Row, int Col) Key(char ch) { for (int r = 0; r < 3; r++) if (rows[r].IndexOf(ch) is var c and >= 0) return (r, c); return (-9, -9); }
        int changed = 0;
        for (int i = 0; i < Texts.Count; i++)
        {
            Assert.Equal(Texts[i].Length, typo[i].Length);
            Assert.Equal(Texts[i].Order(), swap[i].Order());
            for (int j = 0; j < Texts[i].Length; j++)
            {
                if (Texts[i][j] == typo[i][j]) continue;
                changed++;
                var (a, b) = (Key(char.ToLowerInvariant(Texts[i][j])), Key(char.ToLowerInvariant(typo[i][j])));
                Assert.True(Math.Abs(a.Row - b.Row) <= 1 && Math.Abs(a.Col - b.Col) <= 1, $"'{Texts[i][j]}' → '{typo[i][j]}' are not neighbouring keys");
                Assert.Equal(char.IsUpper(Texts[i][j]), char.IsUpper(typo[i][j]));
            }
        }
        Assert.True(changed > 0.1 * Texts.Sum(Letters), $"{changed} typos at severity 5");
        Assert.True(swap.Zip(Texts).Count(p => p.First != p.Second) > Texts.Count / 2);
    }

    [Fact]
    public void WordDropout_KeepsAnOrderedSubsequenceOfWords_NeverEmpty_MoreDroppedAtHigherSeverity()
    {
        double previous = 0;
        for (int s = 1; s <= 5; s++)
        {
            var c = TextCorruptions.Apply(Texts, TextCorruption.WordDropout, s, 2);
            long kept = 0, total = 0;
            for (int i = 0; i < Texts.Count; i++)
            {
                var words = Texts[i].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var left = c[i].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                Assert.NotEmpty(left);
                int k = 0;
                foreach (var w in words) if (k < left.Length && left[k] == w) k++;
                Assert.True(k == left.Length || left.Length == 1, $"'{c[i]}' is not a subsequence of '{Texts[i]}'");
                kept += left.Length;
                total += words.Length;
            }
            double dropped = 1 - (double)kept / total;
            Assert.True(dropped > previous, $"severity {s} drops {dropped:P1}, not more than {previous:P1}");
            previous = dropped;
        }
    }

    [Fact]
    public void RandomCasing_ChangesTheText_ButNotWhatTheUncasedTokenizerSees()
    {
        var encoder = new BertTextEncoder(Path.Combine(minilm.Folder, "vocab.txt"));
        var cased = TextCorruptions.Apply(Texts, TextCorruption.RandomCasing, 5, 3);
        Assert.True(cased.Zip(Texts).Count(p => p.First != p.Second) > Texts.Count * 9 / 10);
        for (int i = 0; i < Texts.Count; i++) Assert.Equal(encoder.Encode(Texts[i]), encoder.Encode(cased[i]));
    }

    [Fact]
    public void Apply_RejectsASeverityOutsideOneToFive_AndParseNamesTheKnownCorruptions()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => TextCorruptions.Apply(Texts, TextCorruption.WordDropout, 0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => TextCorruptions.Apply(Texts, TextCorruption.WordDropout, 6, 0));
        var e = Assert.Throws<ArgumentException>(() => TextCorruptions.Parse("typo"));
        Assert.Contains("keyboard_typo", e.Message);
    }
}

using System.Text;

namespace FusionBench.Suites.Data;

/// <summary>
/// The text corruptions of the text suite's robustness study (FusionBench has none for text): the noise a real
/// input stream carries — typing slips, transpositions, lost characters and words, casing — at five severities.
/// </summary>
public enum TextCorruption
{
    /// <summary>A letter replaced by a neighbouring key of a QWERTY keyboard, <c>keyboard_typo</c>.</summary>
    KeyboardTypo,

    /// <summary>Two adjacent letters of a word swapped, <c>char_swap</c>.</summary>
    CharacterSwap,

    /// <summary>A letter deleted, <c>char_deletion</c>.</summary>
    CharacterDeletion,

    /// <summary>A whole word dropped (never every word of a text), <c>word_dropout</c>.</summary>
    WordDropout,

    /// <summary>A letter's case flipped, <c>random_casing</c>. An uncased tokenizer (all-MiniLM-L6-v2's) lower-cases it back.</summary>
    RandomCasing,
}

/// <summary>
/// Applies <see cref="TextCorruption"/>s to texts, seeded: the result depends only on (text, corruption, severity, seed,
/// the text's index). Character corruptions touch letters only (digits, spaces and punctuation stay), each letter
/// independently with probability p; word dropout drops each whitespace-separated word with probability p.
/// </summary>
/// <remarks>
/// Probabilities per severity 1–5: character corruptions (typo, swap, deletion) 0.02, 0.05, 0.08, 0.12, 0.16 per letter;
/// word dropout 0.05, 0.10, 0.15, 0.20, 0.30 per word; random casing 0.10, 0.20, 0.30, 0.40, 0.50 per letter.
/// A swap exchanges the letter with the next one when that is a letter of the same word, and skips the pair afterwards.
/// </remarks>
public static class TextCorruptions
{
    private static readonly double[] CharacterRates = { 0.02, 0.05, 0.08, 0.12, 0.16 };
    private static readonly double[] WordRates = { 0.05, 0.10, 0.15, 0.20, 0.30 };
    private static readonly double[] CasingRates = { 0.10, 0.20, 0.30, 0.40, 0.50 };

    // QWERTY neighbours (same row and the rows above and below, touching keys).
    private static readonly Dictionary<char, string> Neighbours = new()
    {
        ['q'] = "wa", ['w'] = "qeas", ['e'] = "wrsd", ['r'] = "etdf", ['t'] = "ryfg", ['y'] = "tugh", ['u'] = "yihj", ['i'] = "uojk",
        ['o'] = "ipkl", ['p'] = "ol", ['a'] = "qwsz", ['s'] = "weadzx", ['d'] = "ersfxc", ['f'] = "rtdgcv", ['g'] = "tyfhvb",
        ['h'] = "yugjbn", ['j'] = "uihknm", ['k'] = "iojlm", ['l'] = "opk", ['z'] = "asx", ['x'] = "zsdc", ['c'] = "xdfv",
        ['v'] = "cfgb", ['b'] = "vghn", ['n'] = "bhjm", ['m'] = "njk",
    };

    /// <summary>Every corruption, in the study's order.</summary>
    public static IReadOnlyList<TextCorruption> All { get; } = Enum.GetValues<TextCorruption>();

    /// <summary>The corruption's name in reports (<c>keyboard_typo</c>, …).</summary>
    public static string Name(TextCorruption corruption) => corruption switch
    {
        TextCorruption.KeyboardTypo => "keyboard_typo",
        TextCorruption.CharacterSwap => "char_swap",
        TextCorruption.CharacterDeletion => "char_deletion",
        TextCorruption.WordDropout => "word_dropout",
        TextCorruption.RandomCasing => "random_casing",
        _ => throw new ArgumentOutOfRangeException(nameof(corruption)),
    };

    /// <summary>The corruption of a report name.</summary>
    /// <exception cref="ArgumentException">An unknown name; the message lists the known ones.</exception>
    public static TextCorruption Parse(string name)
    {
        foreach (var c in All)
            if (Name(c) == name) return c;
        throw new ArgumentException($"Unknown text corruption '{name}'; known: {string.Join(", ", All.Select(Name))}.", nameof(name));
    }

    /// <summary>Corrupts every text; text i draws from a generator seeded with (seed, i).</summary>
    public static IReadOnlyList<string> Apply(IReadOnlyList<string> texts, TextCorruption corruption, int severity, long seed)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (severity is < 1 or > 5) throw new ArgumentOutOfRangeException(nameof(severity), $"Severity must be 1–5, got {severity}.");
        var result = new string[texts.Count];
        for (int i = 0; i < texts.Count; i++) result[i] = Apply(texts[i], corruption, severity, new Random(unchecked((int)(seed * 1_000_003 + i))));
        return result;
    }

    private static string Apply(string text, TextCorruption corruption, int severity, Random random)
    {
        switch (corruption)
        {
            case TextCorruption.WordDropout:
            {
                var words = text.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var kept = words.Where(_ => random.NextDouble() >= WordRates[severity - 1]).ToList();
                // A text never loses every word: keep one, drawn from the text.
                return kept.Count > 0 ? string.Join(' ', kept) : words.Length > 0 ? words[random.Next(words.Length)] : text;
            }
            case TextCorruption.RandomCasing:
            {
                var sb = new StringBuilder(text.Length);
                foreach (char ch in text)
                    sb.Append(char.IsLetter(ch) && random.NextDouble() < CasingRates[severity - 1]
                        ? char.IsUpper(ch) ? char.ToLowerInvariant(ch) : char.ToUpperInvariant(ch) : ch);
                return sb.ToString();
            }
            default:
            {
                double p = CharacterRates[severity - 1];
                var sb = new StringBuilder(text.Length);
                for (int i = 0; i < text.Length; i++)
                {
                    char ch = text[i];
                    if (!char.IsLetter(ch) || random.NextDouble() >= p) { sb.Append(ch); continue; }
                    switch (corruption)
                    {
                        case TextCorruption.CharacterDeletion:
                            break;
                        case TextCorruption.CharacterSwap when i + 1 < text.Length && char.IsLetter(text[i + 1]):
                            sb.Append(text[i + 1]).Append(ch);
                            i++;
                            break;
                        case TextCorruption.KeyboardTypo when Neighbours.TryGetValue(char.ToLowerInvariant(ch), out var keys):
                            char typo = keys[random.Next(keys.Length)];
                            sb.Append(char.IsUpper(ch) ? char.ToUpperInvariant(typo) : typo);
                            break;
                        default:
                            sb.Append(ch); // a letter without a neighbour table (accented) or a swap at a word's end stays
                            break;
                    }
                }
                return sb.ToString();
            }
        }
    }
}

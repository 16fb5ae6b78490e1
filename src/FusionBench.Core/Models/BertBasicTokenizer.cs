namespace FusionBench.Core.Models;

/// <summary>BERT's basic tokenization (the first stage of its tokenizer, before WordPiece), as its reference implementation defines it.</summary>
internal static class BertBasicTokenizer
{
    /// <summary>The basic tokens of a text: whitespace-separated, punctuation split off, lower-cased and accent-stripped when uncased.</summary>
    public static List<string> Tokenize(string text, bool lowerCase)
    {
        var cleaned = new System.Text.StringBuilder(text.Length + 8);
        foreach (var rune in text.EnumerateRunes())
        {
            int cp = rune.Value;
            if (cp == 0 || cp == 0xFFFD || IsControl(rune)) continue;
            if (IsWhitespace(rune)) cleaned.Append(' ');
            else if (IsCjk(cp)) cleaned.Append(' ').Append(rune.ToString()).Append(' ');
            else cleaned.Append(rune.ToString());
        }
        var tokens = new List<string>();
        foreach (var word in cleaned.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            string w = word;
            if (lowerCase)
            {
                w = w.ToLowerInvariant().Normalize(System.Text.NormalizationForm.FormD);
                var stripped = new System.Text.StringBuilder(w.Length);
                foreach (char ch in w)
                    if (System.Globalization.CharUnicodeInfo.GetUnicodeCategory(ch) != System.Globalization.UnicodeCategory.NonSpacingMark) stripped.Append(ch);
                w = stripped.ToString();
            }
            var current = new System.Text.StringBuilder();
            foreach (var rune in w.EnumerateRunes())
            {
                if (IsPunctuation(rune))
                {
                    if (current.Length > 0) { tokens.Add(current.ToString()); current.Clear(); }
                    tokens.Add(rune.ToString());
                }
                else current.Append(rune.ToString());
            }
            if (current.Length > 0) tokens.Add(current.ToString());
        }
        return tokens;
    }

    private static bool IsWhitespace(System.Text.Rune r) =>
        r.Value is ' ' or '\t' or '\n' or '\r' || System.Text.Rune.GetUnicodeCategory(r) == System.Globalization.UnicodeCategory.SpaceSeparator;

    private static bool IsControl(System.Text.Rune r) =>
        r.Value is not ('\t' or '\n' or '\r')
        && System.Text.Rune.GetUnicodeCategory(r) is System.Globalization.UnicodeCategory.Control or System.Globalization.UnicodeCategory.Format;

    // ASCII symbols count as punctuation in BERT ($, +, <, =, >, ^, `, |, ~ are not Unicode P*), as every Unicode P* does.
    private static bool IsPunctuation(System.Text.Rune r) =>
        r.Value is (>= 33 and <= 47) or (>= 58 and <= 64) or (>= 91 and <= 96) or (>= 123 and <= 126)
        || System.Text.Rune.GetUnicodeCategory(r) is System.Globalization.UnicodeCategory.ConnectorPunctuation
            or System.Globalization.UnicodeCategory.DashPunctuation or System.Globalization.UnicodeCategory.OpenPunctuation
            or System.Globalization.UnicodeCategory.ClosePunctuation or System.Globalization.UnicodeCategory.InitialQuotePunctuation
            or System.Globalization.UnicodeCategory.FinalQuotePunctuation or System.Globalization.UnicodeCategory.OtherPunctuation;

    private static bool IsCjk(int cp) =>
        cp is (>= 0x4E00 and <= 0x9FFF) or (>= 0x3400 and <= 0x4DBF) or (>= 0x20000 and <= 0x2A6DF) or (>= 0x2A700 and <= 0x2B73F)
            or (>= 0x2B740 and <= 0x2B81F) or (>= 0x2B820 and <= 0x2CEAF) or (>= 0xF900 and <= 0xFAFF) or (>= 0x2F800 and <= 0x2FA1F);
}

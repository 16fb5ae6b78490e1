using Microsoft.ML.Tokenizers;
using static TorchSharp.torch;

namespace FusionBench.Core.Models;

/// <summary>
/// Turns text into <see cref="BertModel"/> input ids with the model's own <c>vocab.txt</c> through Microsoft.ML.Tokenizers'
/// <see cref="BertTokenizer"/>, as Hugging Face's uncased BERT tokenizer does: lower-casing, accents stripped, basic
/// tokenization then WordPiece, <c>[CLS] … [SEP]</c>, truncated to <see cref="MaxLength"/> tokens, and padded per batch
/// to its longest sequence (dynamic padding) with the padding id, which <see cref="BertModel"/> masks out.
/// </summary>
public sealed class BertTextEncoder
{
    private readonly BertTokenizer _tokenizer;

    /// <summary>Loads a vocabulary file.</summary>
    /// <param name="vocabPath">The model's <c>vocab.txt</c>.</param>
    /// <param name="maxLength">The longest sequence, special tokens included (the study's suite uses 64). Default 128.</param>
    /// <param name="lowerCase">Whether the vocabulary is uncased (lower-case and strip accents). Default true.</param>
    public BertTextEncoder(string vocabPath, int maxLength = 128, bool lowerCase = true)
    {
        ArgumentNullException.ThrowIfNull(vocabPath);
        if (!File.Exists(vocabPath)) throw new FileNotFoundException($"Vocabulary not found: {vocabPath}", vocabPath);
        if (maxLength < 3) throw new ArgumentOutOfRangeException(nameof(maxLength), "A sequence needs room for [CLS], one token and [SEP].");
        _tokenizer = BertTokenizer.Create(vocabPath, new BertOptions
        {
            LowerCaseBeforeTokenization = lowerCase,
            RemoveNonSpacingMarks = lowerCase,   // Hugging Face strips accents exactly when it lower-cases
            ApplyBasicTokenization = true,
        });
        MaxLength = maxLength;
    }

    /// <summary>The longest sequence, special tokens included.</summary>
    public int MaxLength { get; }

    /// <summary>The padding id (<c>[PAD]</c>).</summary>
    public int PadTokenId => _tokenizer.PaddingTokenId;

    /// <summary>One text's ids: <c>[CLS]</c>, its word pieces (truncated), <c>[SEP]</c>.</summary>
    public IReadOnlyList<int> Encode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var pieces = _tokenizer.EncodeToIds(text, addSpecialTokens: false);
        var ids = new List<int>(Math.Min(pieces.Count, MaxLength - 2) + 2) { _tokenizer.ClassificationTokenId };
        ids.AddRange(pieces.Take(MaxLength - 2));
        ids.Add(_tokenizer.SeparatorTokenId);
        return ids;
    }

    /// <summary>A batch as int64 ids [B, T], T the longest sequence of the batch, padded with <see cref="PadTokenId"/>.</summary>
    public Tensor EncodeBatch(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var encoded = texts.Select(Encode).ToList();
        int t = encoded.Count == 0 ? 0 : encoded.Max(e => e.Count);
        var ids = new long[encoded.Count * t];
        Array.Fill(ids, PadTokenId);
        for (int b = 0; b < encoded.Count; b++)
            for (int i = 0; i < encoded[b].Count; i++) ids[b * t + i] = encoded[b][i];
        return tensor(ids, new long[] { encoded.Count, t });
    }
}

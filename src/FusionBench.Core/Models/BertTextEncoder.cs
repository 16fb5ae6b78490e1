using Microsoft.ML.Tokenizers;
using static TorchSharp.torch;

namespace FusionBench.Core.Models;

/// <summary>
/// Turns text into <see cref="BertModel"/> input ids as Hugging Face's BERT tokenizer does: BERT's basic tokenization
/// (clean-up, CJK characters spaced, lower-casing and accent stripping for uncased vocabularies, punctuation split off),
/// then WordPiece with the model's own <c>vocab.txt</c> through Microsoft.ML.Tokenizers' <see cref="BertTokenizer"/>,
/// <c>[CLS] … [SEP]</c>, truncated to <see cref="MaxLength"/> tokens, and padded per batch to its longest sequence
/// (dynamic padding) with the padding id, which <see cref="BertModel"/> masks out.
/// </summary>
/// <remarks>
/// The basic tokenization is done here, not by <see cref="BertTokenizer"/>: checked against an independent
/// implementation of BERT's tokenizer on the text suite's sentences, Microsoft.ML.Tokenizers 2.0.1's own basic step
/// drops <c>$</c>, keeps <c>_</c> inside words and folds characters such as <c>²</c>, which BERT keeps as tokens.
/// </remarks>
public sealed class BertTextEncoder
{
    private readonly BertTokenizer _tokenizer;
    private readonly bool _lowerCase;

    /// <summary>Loads a vocabulary file.</summary>
    /// <param name="vocabPath">The model's <c>vocab.txt</c>.</param>
    /// <param name="maxLength">The longest sequence, special tokens included (the study's suite uses 64). Default 128.</param>
    /// <param name="lowerCase">Whether the vocabulary is uncased (lower-case and strip accents). Default true.</param>
    public BertTextEncoder(string vocabPath, int maxLength = 128, bool lowerCase = true)
    {
        ArgumentNullException.ThrowIfNull(vocabPath);
        if (!File.Exists(vocabPath)) throw new FileNotFoundException($"Vocabulary not found: {vocabPath}", vocabPath);
        if (maxLength < 3) throw new ArgumentOutOfRangeException(nameof(maxLength), "A sequence needs room for [CLS], one token and [SEP].");
        // WordPiece only: each basic token is encoded on its own (BertTokenizer's basic step differs from BERT's).
        _tokenizer = BertTokenizer.Create(vocabPath, new BertOptions
        {
            LowerCaseBeforeTokenization = false,
            RemoveNonSpacingMarks = false,
            ApplyBasicTokenization = false,
        });
        _lowerCase = lowerCase;
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
        var ids = new List<int> { _tokenizer.ClassificationTokenId };
        foreach (var token in BertBasicTokenizer.Tokenize(text, _lowerCase))
        {
            if (ids.Count >= MaxLength - 1) break;
            foreach (int id in _tokenizer.EncodeToIds(token, addSpecialTokens: false))
            {
                if (ids.Count >= MaxLength - 1) break;
                ids.Add(id);
            }
        }
        ids.Add(_tokenizer.SeparatorTokenId);
        return ids;
    }

    /// <summary>A batch as int64 ids [B, T], T the longest sequence of the batch, padded with <see cref="PadTokenId"/>.</summary>
    public Tensor EncodeBatch(IReadOnlyList<string> texts)
    {
        ArgumentNullException.ThrowIfNull(texts);
        return Pad(texts.Select(Encode).ToList());
    }

    /// <summary>Encoded texts as int64 ids [B, T], T the longest of them, padded with <see cref="PadTokenId"/>.</summary>
    public Tensor Pad(IReadOnlyList<IReadOnlyList<int>> encoded)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        int t = encoded.Count == 0 ? 0 : encoded.Max(e => e.Count);
        var ids = new long[encoded.Count * t];
        Array.Fill(ids, PadTokenId);
        for (int b = 0; b < encoded.Count; b++)
            for (int i = 0; i < encoded[b].Count; i++) ids[b * t + i] = encoded[b][i];
        return tensor(ids, new long[] { encoded.Count, t });
    }
}

namespace FusionBench.Core.Models;

/// <summary>The configuration of a BERT encoder, with Hugging Face <c>BertConfig</c>'s field names.</summary>
/// <param name="VocabSize">Word-piece vocabulary size (<c>vocab_size</c>).</param>
/// <param name="HiddenSize">Token width (<c>hidden_size</c>).</param>
/// <param name="NumHiddenLayers">Encoder layers (<c>num_hidden_layers</c>).</param>
/// <param name="NumAttentionHeads">Attention heads (<c>num_attention_heads</c>).</param>
/// <param name="IntermediateSize">Feed-forward width (<c>intermediate_size</c>).</param>
/// <param name="MaxPositionEmbeddings">Positions (<c>max_position_embeddings</c>).</param>
/// <param name="TypeVocabSize">Token types (<c>type_vocab_size</c>).</param>
/// <param name="LayerNormEps">LayerNorm epsilon (<c>layer_norm_eps</c>).</param>
/// <param name="PadTokenId">The padding token (<c>pad_token_id</c>): positions holding it are masked out.</param>
public sealed record BertConfig(
    int VocabSize = 30522,
    int HiddenSize = 384,
    int NumHiddenLayers = 6,
    int NumAttentionHeads = 12,
    int IntermediateSize = 1536,
    int MaxPositionEmbeddings = 512,
    int TypeVocabSize = 2,
    double LayerNormEps = 1e-12,
    int PadTokenId = 0)
{
    /// <summary>all-MiniLM-L6-v2 (sentence-transformers): 6 layers, width 384, 12 heads, feed-forward 1536, 22.7M parameters.</summary>
    public static BertConfig MiniLmL6 { get; } = new();

    /// <summary>Checks that the sizes fit together.</summary>
    /// <exception cref="ArgumentException">A size is not positive or the width is not a multiple of the heads.</exception>
    public void Validate()
    {
        if (VocabSize <= 0 || HiddenSize <= 0 || NumHiddenLayers <= 0 || NumAttentionHeads <= 0 || IntermediateSize <= 0 || MaxPositionEmbeddings <= 0 || TypeVocabSize <= 0)
            throw new ArgumentException("Every size of a BertConfig must be positive.");
        if (HiddenSize % NumAttentionHeads != 0)
            throw new ArgumentException($"hidden_size {HiddenSize} is not a multiple of num_attention_heads {NumAttentionHeads}.");
    }
}

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
/// <param name="Pooling">How the forward turns hidden states into one vector per text: sentence-transformers' mean
/// pooling (all-MiniLM-L6-v2) or BERT's pooler on the first token (<c>BertForSequenceClassification</c>).</param>
public sealed record BertConfig(
    int VocabSize = 30522,
    int HiddenSize = 384,
    int NumHiddenLayers = 6,
    int NumAttentionHeads = 12,
    int IntermediateSize = 1536,
    int MaxPositionEmbeddings = 512,
    int TypeVocabSize = 2,
    double LayerNormEps = 1e-12,
    int PadTokenId = 0,
    BertPooling Pooling = BertPooling.Mean)
{
    /// <summary>all-MiniLM-L6-v2 (sentence-transformers): 6 layers, width 384, 12 heads, feed-forward 1536, 22.7M parameters.</summary>
    public static BertConfig MiniLmL6 { get; } = new();

    /// <summary>
    /// Reads a Hugging Face <c>config.json</c> of a BERT model (<c>model_type</c> <c>bert</c>). Fields that change the
    /// computation and that this forward does not implement (<c>hidden_act</c> other than <c>gelu</c>, relative
    /// position embeddings) are errors, never ignored.
    /// </summary>
    /// <param name="json">The file's text.</param>
    /// <param name="pooling">The pooling the caller's head expects.</param>
    /// <exception cref="FormatException">Not a BERT config, or a setting this forward does not support; the message names the field.</exception>
    public static BertConfig FromHuggingFace(string json, BertPooling pooling = BertPooling.Mean)
    {
        using var doc = System.Text.Json.JsonDocument.Parse(json);
        var r = doc.RootElement;
        string? type = r.TryGetProperty("model_type", out var mt) ? mt.GetString() : null;
        if (type != "bert") throw new FormatException($"model_type is '{type}', not 'bert'.");
        string act = r.TryGetProperty("hidden_act", out var a) ? a.GetString() ?? "gelu" : "gelu";
        if (act != "gelu") throw new FormatException($"hidden_act '{act}' is not supported (BERT's exact GELU 'gelu' is).");
        if (r.TryGetProperty("position_embedding_type", out var pe) && pe.GetString() is string pet && pet != "absolute")
            throw new FormatException($"position_embedding_type '{pet}' is not supported (only 'absolute').");
        int I(string name, int fallback) => r.TryGetProperty(name, out var v) && v.ValueKind == System.Text.Json.JsonValueKind.Number ? v.GetInt32() : fallback;
        var d = new BertConfig();
        var config = new BertConfig(I("vocab_size", d.VocabSize), I("hidden_size", 768), I("num_hidden_layers", 12), I("num_attention_heads", 12),
            I("intermediate_size", 3072), I("max_position_embeddings", d.MaxPositionEmbeddings), I("type_vocab_size", d.TypeVocabSize),
            r.TryGetProperty("layer_norm_eps", out var eps) ? eps.GetDouble() : d.LayerNormEps, I("pad_token_id", 0), pooling);
        try { config.Validate(); }
        catch (ArgumentException e) { throw new FormatException(e.Message, e); }
        return config;
    }

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

/// <summary>How <see cref="BertModel"/> reduces its last hidden states to one vector per text.</summary>
public enum BertPooling
{
    /// <summary>The mean over the real (unpadded) tokens, as sentence-transformers pools all-MiniLM-L6-v2.</summary>
    Mean,

    /// <summary>BERT's pooler: tanh(<c>pooler.dense</c>(first token)), what <c>BertForSequenceClassification</c> classifies.</summary>
    Pooler,
}

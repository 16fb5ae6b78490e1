using static TorchSharp.torch;

namespace FusionBench.Core.Data;

/// <summary>A task's data held by the app: labelled texts, or batches of model inputs with their labels.</summary>
public sealed class InMemoryData
{
    private InMemoryData(IEnumerable<TextExample>? texts, IEnumerable<(Tensor Inputs, Tensor Labels)>? batches)
    {
        Texts = texts;
        Batches = batches;
    }

    /// <summary>Labelled texts, tokenised with the pool's tokenizer.</summary>
    public IEnumerable<TextExample>? Texts { get; }

    /// <summary>Batches of model inputs (token ids [B, T] or pixels [B, C, H, W]) and int labels [B].</summary>
    public IEnumerable<(Tensor Inputs, Tensor Labels)>? Batches { get; }

    /// <summary>Labelled texts.</summary>
    public static InMemoryData FromTexts(IEnumerable<TextExample> texts) => new(texts ?? throw new ArgumentNullException(nameof(texts)), null);

    /// <summary>Batches of model inputs and labels, enumerated once when the pool opens.</summary>
    public static InMemoryData FromBatches(IEnumerable<(Tensor Inputs, Tensor Labels)> batches) => new(null, batches ?? throw new ArgumentNullException(nameof(batches)));
}

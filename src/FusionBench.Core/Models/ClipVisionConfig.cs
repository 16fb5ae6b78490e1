namespace FusionBench.Core.Models;

/// <summary>
/// The configuration of a CLIP-style vision transformer, with Hugging Face <c>CLIPVisionConfig</c>'s field names.
/// </summary>
/// <param name="ImageSize">Input height and width (<c>image_size</c>).</param>
/// <param name="PatchSize">Patch height and width (<c>patch_size</c>).</param>
/// <param name="HiddenSize">Token width (<c>hidden_size</c>).</param>
/// <param name="IntermediateSize">MLP width (<c>intermediate_size</c>).</param>
/// <param name="NumHiddenLayers">Encoder layers (<c>num_hidden_layers</c>).</param>
/// <param name="NumAttentionHeads">Attention heads (<c>num_attention_heads</c>).</param>
/// <param name="NumChannels">Input channels (<c>num_channels</c>).</param>
/// <param name="LayerNormEps">LayerNorm epsilon (<c>layer_norm_eps</c>).</param>
public sealed record ClipVisionConfig(
    int ImageSize = 28,
    int PatchSize = 7,
    int HiddenSize = 64,
    int IntermediateSize = 256,
    int NumHiddenLayers = 4,
    int NumAttentionHeads = 4,
    int NumChannels = 1,
    double LayerNormEps = 1e-5)
{
    /// <summary>The <c>tiny</c> size: 28×28 input, patch 7 (17 tokens), width 64, 4 layers, 4 heads, MLP 256 (≈205k parameters).</summary>
    public static ClipVisionConfig Tiny { get; } = new();

    /// <summary>The <c>small</c> size: 28×28 input, patch 7, width 128, 4 layers, 4 heads, MLP 512 (≈800k parameters).</summary>
    public static ClipVisionConfig Small { get; } = new(HiddenSize: 128, IntermediateSize: 512);

    /// <summary>Patches per side.</summary>
    public int GridSize => ImageSize / PatchSize;

    /// <summary>Tokens per image: the patches plus the class token.</summary>
    public int NumPositions => GridSize * GridSize + 1;

    /// <summary>Checks that the sizes fit together.</summary>
    /// <exception cref="ArgumentException">A size is not positive, the image is not a multiple of the patch, or the width not of the heads.</exception>
    public void Validate()
    {
        if (ImageSize <= 0 || PatchSize <= 0 || HiddenSize <= 0 || IntermediateSize <= 0 || NumHiddenLayers <= 0 || NumAttentionHeads <= 0 || NumChannels <= 0)
            throw new ArgumentException("Every size of a ClipVisionConfig must be positive.");
        if (ImageSize % PatchSize != 0) throw new ArgumentException($"image_size {ImageSize} is not a multiple of patch_size {PatchSize}.");
        if (HiddenSize % NumAttentionHeads != 0) throw new ArgumentException($"hidden_size {HiddenSize} is not a multiple of num_attention_heads {NumAttentionHeads}.");
    }
}

using Microsoft.Extensions.Logging;
namespace FusionBench.Core.Algorithms.Merging.AdaMerging;

/// <summary><c>layer_wise_adamerging</c>: one learned coefficient per fine-tuned model and parameter tensor.</summary>
public sealed class LayerWiseAdaMergingAlgorithm(AdaMergingOptions options, ILogger<LayerWiseAdaMergingAlgorithm>? logger = null) : AdaMergingAlgorithm(options, logger)
{
    /// <inheritdoc />
    public override FusionAlgorithmInfo Info { get; } = new("layer_wise_adamerging", "Layer-wise AdaMerging", FusionCategory.Merging,
        "https://arxiv.org/abs/2310.02575", "Task arithmetic with one coefficient per model and layer, learned by entropy minimisation on unlabeled test inputs.");

    /// <inheritdoc />
    protected override bool LayerWise => true;
}

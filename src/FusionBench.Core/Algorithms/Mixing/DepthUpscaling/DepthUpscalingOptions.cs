using Microsoft.Extensions.Configuration;
using System.ComponentModel;

namespace FusionBench.Core.Algorithms.Mixing.DepthUpscaling;

/// <summary>Options of <c>depth_upscaling</c>.</summary>
public sealed class DepthUpscalingOptions
{
    /// <summary>
    /// The new model's layers as indices of the source's layers: integers and Python-style <c>range(a,b)</c> spans,
    /// e.g. <c>[range(0,4),range(2,6)]</c> (SOLAR's recipe); required.
    /// </summary>
    [Description("The new model's layers as source layer indices: integers and range(a,b) spans, e.g. [range(0,4),range(2,6)].")]
    [ConfigurationKeyName("layer_indices")]
    public IReadOnlyList<string>? LayerIndices { get; set; }

    /// <summary>Which model to deepen: a fine-tuned model's name; null takes the pretrained model (or the only model).</summary>
    [Description("Which model to deepen: a fine-tuned model's name; by default the pretrained model, or the only model.")]
    [ConfigurationKeyName("model")]
    public string? Model { get; set; }
}

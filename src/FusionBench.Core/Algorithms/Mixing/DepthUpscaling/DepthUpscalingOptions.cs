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

    /// <summary>Which model to deepen: a fine-tuned model's name or <c>_pretrained_</c>; null takes the pool's single fine-tuned model (FusionBench), or the pretrained model of a pool without fine-tuned ones.</summary>
    [Description("Which model to deepen; by default the pool's single model (the pretrained model if it has no fine-tuned one).")]
    [ConfigurationKeyName("model")]
    public string? Model { get; set; }
}

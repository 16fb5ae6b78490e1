using Microsoft.Extensions.Configuration;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;

namespace FusionBench.Core.Algorithms.Mixing.MoeUpscaling;

/// <summary>Options of <c>moe_upscaling</c> (FusionBench's defaults).</summary>
public sealed class MoeUpscalingOptions
{
    /// <summary>Experts per layer. Default 4.</summary>
    [Description("Experts per layer, each a copy of the dense MLP.")]
    [Range(1, 1024)]
    [ConfigurationKeyName("num_experts")]
    public int NumExperts { get; set; } = 4;

    /// <summary>Experts routed to per token (top-k). Default 2.</summary>
    [Description("Experts each token is routed to (top-k).")]
    [Range(1, 1024)]
    [ConfigurationKeyName("experts_per_token")]
    public int ExpertsPerToken { get; set; } = 2;

    /// <summary>Which model to upcycle: a fine-tuned model's name; null takes the pretrained model (or the only model).</summary>
    [Description("Which model to upcycle: a fine-tuned model's name; by default the pretrained model, or the only model.")]
    [ConfigurationKeyName("model")]
    public string? Model { get; set; }

    /// <summary>Seed of the router initialisation. Default 0.</summary>
    [Description("Seed of the router initialisation.")]
    [ConfigurationKeyName("seed")]
    public long Seed { get; set; }
}

using Microsoft.Extensions.Configuration;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;

namespace FusionBench.Core.Algorithms.Mixing.MoeMerging;

/// <summary>Options of <c>moe_merging</c> (FusionBench's defaults).</summary>
public sealed class MoeMergingOptions
{
    /// <summary>Experts routed to per token (top-k). Default 2.</summary>
    [Description("Experts each token is routed to (top-k).")]
    [Range(1, 1024)]
    [ConfigurationKeyName("experts_per_token")]
    public int ExpertsPerToken { get; set; } = 2;

    /// <summary>Seed of the router initialisation. Default 0.</summary>
    [Description("Seed of the router initialisation.")]
    [ConfigurationKeyName("seed")]
    public long Seed { get; set; }
}

using Microsoft.Extensions.Configuration;
using System.ComponentModel;

namespace FusionBench.Core.Algorithms.Merging.Slerp;

/// <summary>Options of <c>slerp</c> (MergeKit's names).</summary>
public sealed class SlerpOptions
{
    /// <summary>Interpolation factor: 0 gives the pretrained model, 1 the fine-tuned model. MergeKit requires it; the default here is 0.5.</summary>
    [Description("Interpolation factor: 0 gives the pretrained model (v0), 1 the fine-tuned model (v1).")]
    [ConfigurationKeyName("t")]
    public double T { get; set; } = 0.5;

    /// <summary>Which fine-tuned model is v1; may be omitted when the pool has exactly one.</summary>
    [Description("Name of the fine-tuned model used as v1 (needed only when the pool holds more than one).")]
    [ConfigurationKeyName("model")]
    public string? Model { get; set; }
}

using Microsoft.Extensions.Configuration;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;

namespace FusionBench.Core.Algorithms.Merging.Slerp;

/// <summary>Options of <c>slerp</c> (FusionBench's names and defaults: <c>t</c>, <c>DOT_THRESHOLD</c>, <c>epsilon</c>).</summary>
public sealed class SlerpOptions
{
    /// <summary>Interpolation factor: 0 gives the first model (v0), 1 the second (v1). Default 0.5.</summary>
    [Description("Interpolation factor: 0 gives the pool's first model (v0), 1 its second (v1).")]
    [ConfigurationKeyName("t")]
    public double T { get; set; } = 0.5;

    /// <summary>Where |cos(v0, v1)| exceeds this, the tensors are interpolated linearly instead. Default 0.9995.</summary>
    [Description("Above this |cosine| between the two tensors, interpolate linearly (nearly parallel directions).")]
    [Range(0.0, 1.0)]
    [ConfigurationKeyName("DOT_THRESHOLD")]
    public double DotThreshold { get; set; } = 0.9995;

    /// <summary>A tensor whose norm is at most this is not normalised for the cosine. Default 1e-8.</summary>
    [Description("Tensors with a norm at most epsilon are not normalised when the cosine is computed.")]
    [Range(0.0, 1.0)]
    [ConfigurationKeyName("epsilon")]
    public double Epsilon { get; set; } = 1e-8;

    /// <summary>
    /// Not in FusionBench: with a pool of the pretrained model and several fine-tuned ones, interpolate from the pretrained
    /// model (v0) to this one (v1). Unset (the default), the pool must hold exactly two models, as in FusionBench.
    /// </summary>
    [Description("Optional: interpolate from the pretrained model to this fine-tuned one (when the pool holds more than two models).")]
    [ConfigurationKeyName("model")]
    public string? Model { get; set; }
}

using Microsoft.Extensions.Configuration;
using System.ComponentModel;

namespace FusionBench.Core.Algorithms.Merging.TaskArithmetic;

/// <summary>Options of <c>task_arithmetic</c> (FusionBench's defaults).</summary>
public sealed class TaskArithmeticOptions
{
    /// <summary>λ in θ₀ + λ Σᵢ τᵢ. Default 0.3.</summary>
    [Description("λ in θ₀ + λ·Σᵢ(θᵢ − θ₀): how much of the summed task vectors is added to the pretrained model.")]
    [ConfigurationKeyName("scaling_factor")]
    public double ScalingFactor { get; set; } = 0.3;
}

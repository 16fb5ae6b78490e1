using Microsoft.Extensions.Configuration;
using System.ComponentModel;

namespace FusionBench.Core.Algorithms.Merging.NuSlerp;

/// <summary>Options of <c>nuslerp</c> (MergeKit's names and defaults).</summary>
public sealed class NuSlerpOptions
{
    /// <summary>The two models' weights; t = w₂ / (w₁ + w₂) (0.5 when the sum is below 1e-6). Default [1, 1].</summary>
    [Description("Weights of the two models; the interpolation factor is w2 / (w1 + w2).")]
    [ConfigurationKeyName("weight")]
    public IReadOnlyList<double> Weight { get; set; } = new[] { 1.0, 1.0 };

    /// <summary>Interpolate each tensor as one flat vector. Default true.</summary>
    [Description("Interpolate each tensor as one flat vector (else row by row or column by column).")]
    [ConfigurationKeyName("nuslerp_flatten")]
    public bool Flatten { get; set; } = true;

    /// <summary>Without flattening: interpolate the vectors along dim 0 (true) or along the last dim (false, MergeKit's default).</summary>
    [Description("Without flattening, interpolate slices x[:, j] (true) instead of rows x[i, :] (false).")]
    [ConfigurationKeyName("nuslerp_row_wise")]
    public bool RowWise { get; set; }

    /// <summary>
    /// When the pool has a pretrained model, interpolate the two task vectors around it (MergeKit with a <c>base_model</c>);
    /// otherwise the two models themselves. Default true.
    /// </summary>
    [Description("With a pretrained model in the pool, interpolate the task vectors around it (MergeKit's base_model).")]
    [ConfigurationKeyName("use_base")]
    public bool UseBase { get; set; } = true;
}

using Microsoft.Extensions.Configuration;
using System.ComponentModel;

namespace FusionBench.Core.Algorithms.Merging.ModelStock;

/// <summary>How the angle of more than two fine-tuned models is averaged.</summary>
public enum ModelStockAverage
{
    /// <summary>FusionBench: the mean of the pairwise angles (in degrees), then its cosine.</summary>
    Angle,

    /// <summary>MergeKit: the mean of the pairwise cosines.</summary>
    Cosine,
}

/// <summary>Options of <c>model_stock</c> (FusionBench's names and defaults; MergeKit's as options).</summary>
public sealed class ModelStockOptions
{
    /// <summary>
    /// Tensors that get no ratio: they are the plain average of the fine-tuned models (FusionBench's behaviour). Default
    /// FusionBench's list (open_clip's text-tower tensors).
    /// </summary>
    [Description("Tensors given the fine-tuned average without interpolation (FusionBench: open_clip text-tower names).")]
    [ConfigurationKeyName("ignore_keys")]
    public IReadOnlyList<string> IgnoreKeys { get; set; } = new[]
    {
        "model.positional_embedding", "model.text_projection", "model.logit_scale",
        "model.token_embedding.weight", "model.ln_final.weight", "model.ln_final.bias",
    };

    /// <summary>How pairwise angles of more than two models are averaged: angle (FusionBench) or cosine (MergeKit). Default angle.</summary>
    [Description("Average of pairwise angles for N > 2: angle (FusionBench) or cosine (MergeKit).")]
    [ConfigurationKeyName("average")]
    public ModelStockAverage Average { get; set; } = ModelStockAverage.Angle;

    /// <summary>MergeKit's <c>filter_wise</c>: one ratio per row of each tensor instead of one per tensor. Default false.</summary>
    [Description("One interpolation ratio per row (MergeKit's filter_wise) instead of one per tensor.")]
    [ConfigurationKeyName("filter_wise")]
    public bool FilterWise { get; set; }
}

using Microsoft.Extensions.Configuration;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;

namespace FusionBench.Core.Algorithms.Merging.Karcher;

/// <summary>Options of <c>karcher</c> (MergeKit's names and defaults).</summary>
public sealed class KarcherOptions
{
    /// <summary>Iterations of the Riemannian mean at most. Default 10.</summary>
    [Description("Maximum iterations of the Riemannian (Karcher) mean on the unit sphere.")]
    [Range(0, 100000)]
    [ConfigurationKeyName("max_iter")]
    public int MaxIter { get; set; } = 10;

    /// <summary>Convergence tolerance (also: norms and angles below it are treated as zero). Default 1e-5.</summary>
    [Description("Convergence tolerance; norms and angles below it count as zero.")]
    [Range(0.0, 1.0)]
    [ConfigurationKeyName("tol")]
    public double Tol { get; set; } = 1e-5;

    /// <summary>Average the pretrained model too (MergeKit adds a configured <c>base_model</c> as an input). Default false.</summary>
    [Description("Include the pretrained model among the averaged models (MergeKit does when base_model is set).")]
    [ConfigurationKeyName("include_pretrained")]
    public bool IncludePretrained { get; set; }
}

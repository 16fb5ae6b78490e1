using Microsoft.Extensions.Configuration;
using System.ComponentModel;

namespace FusionBench.Core.Algorithms.Merging.TaskSingularVector;

/// <summary>Options of <c>task_singular_vector</c> (TSV-M; FusionBench's names and defaults).</summary>
public sealed class TaskSingularVectorOptions
{
    /// <summary>
    /// One value: the factor of the merged task vector (default 1). One value per model: each task vector is scaled by its
    /// own value before the SVD (and the merged vector is not scaled), as FusionBench does with a list.
    /// </summary>
    [Description("Factor of the merged task vector; or one factor per model, applied to the task vectors before the SVD.")]
    [ConfigurationKeyName("alpha")]
    public IReadOnlyList<double> Alpha { get; set; } = new[] { 1.0 };

    /// <summary>2-D tensors that get the plain mean of the task vectors instead of the SVD merge.</summary>
    [Description("2-D tensors merged as the plain mean of the task vectors instead of TSV.")]
    [ConfigurationKeyName("exclude_keys")]
    public IReadOnlyList<string> ExcludeKeys { get; set; } = Array.Empty<string>();

    /// <summary>Also return each task's own low-rank model (θ₀ + its rank block of the merged SVD). Default false.</summary>
    [Description("Also return each task's model from its own block of the merged singular vectors.")]
    [ConfigurationKeyName("return_single_task_models")]
    public bool ReturnSingleTaskModels { get; set; }
}

namespace FusionBench.Core.TaskVectors;

/// <summary>How TIES aggregates the entries that agree with the elected sign (FusionBench's <c>merge_func</c>).</summary>
public enum MergeFunction
{
    /// <summary>Sum of the agreeing entries (FusionBench's default).</summary>
    Sum,

    /// <summary>Mean over the agreeing non-zero entries (the TIES paper's disjoint mean).</summary>
    Mean,

    /// <summary>Largest agreeing magnitude, with the elected sign.</summary>
    Max,
}

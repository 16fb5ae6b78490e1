namespace FusionBench.Core.Algorithms.Merging.EmrMerging;

/// <summary>Options of <c>emr_merging</c>: none (FusionBench's configuration has no parameters).</summary>
public sealed class EmrMergingOptions
{
}

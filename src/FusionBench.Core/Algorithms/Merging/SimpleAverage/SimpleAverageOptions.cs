namespace FusionBench.Core.Algorithms.Merging.SimpleAverage;

/// <summary>Options of <c>simple_average</c>: none; the class exists so the method registers like every other.</summary>
public sealed class SimpleAverageOptions
{
}

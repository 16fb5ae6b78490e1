using System.Globalization;

namespace FusionBench.Core.MergeKit;

/// <summary>
/// One parameter value of a MergeKit configuration (MergeKit's <c>ParameterSetting</c>): a number, a gradient (a list of
/// numbers interpolated across a slice's layers), or a list of conditions (<c>filter</c> on the tensor name, with a
/// fallback entry without a filter).
/// </summary>
public abstract record MergeKitSetting
{
    /// <summary>
    /// The value for tensor <paramref name="tensorName"/> at relative layer position <paramref name="t"/> ∈ [0, 1]
    /// (MergeKit's <c>evaluate_setting</c>), or null when no condition matches.
    /// </summary>
    public abstract double? Evaluate(string tensorName, double t);

    /// <summary>A number (a boolean is 1 or 0, as pydantic reads it).</summary>
    public sealed record Scalar(double Value) : MergeKitSetting
    {
        /// <inheritdoc />
        public override double? Evaluate(string tensorName, double t) => Value;
    }

    /// <summary>
    /// A gradient: position t·(n − 1) between anchor i₀ = ⌊t·(n − 1)⌋ and i₁ = min(n − 1, i₀ + 1), linearly interpolated.
    /// </summary>
    public sealed record Gradient(IReadOnlyList<double> Values) : MergeKitSetting
    {
        /// <inheritdoc />
        public override double? Evaluate(string tensorName, double t)
        {
            double scaled = t * (Values.Count - 1);
            int i0 = (int)scaled;
            int i1 = Math.Min(Values.Count - 1, i0 + 1);
            double frac = scaled - i0;
            return (1 - frac) * Values[i0] + frac * Values[i1];
        }
    }

    /// <summary>Conditions in order: the first whose filter is absent, <c>*</c>, or a substring of the tensor name applies.</summary>
    public sealed record Conditional(IReadOnlyList<(string? Filter, MergeKitSetting Value)> Conditions) : MergeKitSetting
    {
        /// <inheritdoc />
        public override double? Evaluate(string tensorName, double t)
        {
            foreach (var (filter, value) in Conditions)
                if (filter is null || filter == "*" || tensorName.Contains(filter, StringComparison.Ordinal))
                    return value.Evaluate(tensorName, t);
            return null;
        }
    }

    /// <inheritdoc />
    public override string ToString() => this switch
    {
        Scalar s => s.Value.ToString(CultureInfo.InvariantCulture),
        Gradient g => "[" + string.Join(", ", g.Values.Select(v => v.ToString(CultureInfo.InvariantCulture))) + "]",
        Conditional c => "[" + string.Join(", ", c.Conditions.Select(x => $"{{filter: {x.Filter ?? "*"}, value: {x.Value}}}")) + "]",
        _ => base.ToString()!,
    };
}

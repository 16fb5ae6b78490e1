using System.Globalization;

namespace FusionBench.Core;

/// <summary>
/// One progress report of long work — a fusion's training loop, a zoo build, a benchmark — the one type every
/// <see cref="IProgress{T}"/> of this library reports.
/// </summary>
/// <param name="Operation">What is running (a method name, <c>pretraining</c>, <c>fine-tuning mnist</c>, …).</param>
/// <param name="Completed">Units done (steps, epochs, runs).</param>
/// <param name="Total">Units in all; 0 when unknown.</param>
/// <param name="Elapsed">Time since the operation started.</param>
/// <param name="Message">What the operation adds (for example the current entropy), or null.</param>
public sealed record FusionProgress(string Operation, long Completed, long Total, TimeSpan Elapsed, string? Message = null)
{
    /// <summary>The fraction done in [0, 1], or null when the total is unknown.</summary>
    public double? Fraction => Total > 0 ? Math.Clamp((double)Completed / Total, 0, 1) : null;

    /// <summary>The time left at the pace so far, or null before the first unit or when the total is unknown.</summary>
    public TimeSpan? Remaining => Total > 0 && Completed > 0
        ? TimeSpan.FromSeconds(Elapsed.TotalSeconds / Completed * Math.Max(0, Total - Completed))
        : null;

    /// <summary>A one-line rendering: <c>operation: 40/200, message, 12 s elapsed, ~48 s left</c>.</summary>
    public override string ToString()
    {
        var parts = new List<string>();
        if (Total > 0) parts.Add($"{Completed}/{Total}");
        else if (Completed > 0) parts.Add(Completed.ToString(CultureInfo.InvariantCulture));
        if (!string.IsNullOrEmpty(Message)) parts.Add(Message);
        parts.Add(string.Create(CultureInfo.InvariantCulture, $"{Elapsed.TotalSeconds:F0} s elapsed"));
        if (Remaining is TimeSpan left) parts.Add(string.Create(CultureInfo.InvariantCulture, $"~{left.TotalSeconds:F0} s left"));
        return $"{Operation}: {string.Join(", ", parts)}";
    }
}

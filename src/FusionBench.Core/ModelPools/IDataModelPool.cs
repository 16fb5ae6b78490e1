using static TorchSharp.torch;

namespace FusionBench.Core.ModelPools;

/// <summary>
/// A model pool with the data and heads that data-driven methods need (Fisher merging, RegMean, AdaMerging,
/// WEMoE): per task, its training and test inputs and how to turn encoder outputs into that task's logits.
/// </summary>
public interface IDataModelPool : IArchitectureModelPool
{
    /// <summary>The tasks with data, in order (usually the fine-tuned models' names).</summary>
    IReadOnlyList<string> TaskNames { get; }

    /// <summary>A task's training inputs (owned by the pool).</summary>
    Tensor TrainInputs(string task);

    /// <summary>A task's test inputs (owned by the pool); test-time adaptation uses them without labels.</summary>
    Tensor TestInputs(string task);

    /// <summary>A task's logits for encoder outputs (its classification head).</summary>
    Tensor Logits(string task, Tensor features);
}

/// <summary>
/// Progress lines from long fusion runs (training steps, loss, time left). Listen around a call to
/// <see cref="IFusionAlgorithm.Fuse"/>; the listener flows with the calling context.
/// </summary>
public static class FusionProgress
{
    private static readonly AsyncLocal<IProgress<string>?> Current = new();

    /// <summary>Sends progress lines of fusions run in this context to <paramref name="progress"/> until disposed.</summary>
    public static IDisposable Listen(IProgress<string> progress)
    {
        var previous = Current.Value;
        Current.Value = progress ?? throw new ArgumentNullException(nameof(progress));
        return new Restore(previous);
    }

    internal static void Report(string line) => Current.Value?.Report(line);

    internal static bool IsListening => Current.Value is not null;

    private sealed class Restore(IProgress<string>? previous) : IDisposable
    {
        public void Dispose() => Current.Value = previous;
    }
}

/// <summary>Reports a training loop's step, entropy and time left every two seconds to <see cref="FusionProgress"/>.</summary>
internal sealed class TrainingProgress(string method, int maxSteps)
{
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    private double _lastReport = -10;

    public double ElapsedSeconds => _clock.Elapsed.TotalSeconds;

    public void Step(int step, double entropy)
    {
        double now = _clock.Elapsed.TotalSeconds;
        if (!FusionProgress.IsListening || (now - _lastReport < 2 && step != maxSteps)) return;
        _lastReport = now;
        FusionProgress.Report(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"  {method}: step {step}/{maxSteps}, entropy {entropy:F4}, {now:F0} s elapsed, ~{now / step * (maxSteps - step):F0} s left"));
    }
}

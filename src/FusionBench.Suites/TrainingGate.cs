using System.Globalization;
using FusionBench.Core;
using static TorchSharp.torch;

namespace FusionBench.Suites;

/// <summary>
/// One training at a time on a machine, with threads chosen from its load: a zoo build holds a machine-wide lock file
/// (a second build waits for the first), and trains with the cores the load average leaves free. On a 2-core machine a
/// second CPU-heavy process makes training several times slower, not twice, so neither is left to chance.
/// </summary>
internal sealed class TrainingGate : IDisposable
{
    private readonly FileStream _lock;
    private readonly int _previousThreads;

    private TrainingGate(FileStream lockFile, int previousThreads)
    {
        _lock = lockFile;
        _previousThreads = previousThreads;
    }

    /// <summary>The lock file every training of this library on the machine shares.</summary>
    public static string LockPath => Path.Combine(Path.GetTempPath(), "fusionbench-training.lock");

    /// <summary>Waits until no other training holds the lock, then sets the training threads from the load.</summary>
    public static TrainingGate Enter(string what, IProgress<FusionProgress>? progress, CancellationToken ct)
    {
        FileStream? file = null;
        bool told = false;
        while (file is null)
        {
            ct.ThrowIfCancellationRequested();
            try { file = new FileStream(LockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None); }
            catch (IOException)
            {
                if (!told) progress?.Report(new FusionProgress(what, 0, 0, TimeSpan.Zero, $"another training holds {LockPath}; waiting for it to finish"));
                told = true;
                Thread.Sleep(2000);
            }
        }
        int previous = get_num_threads();
        int threads = Threads(Environment.ProcessorCount, LoadAverage());
        set_num_threads(threads);
        progress?.Report(new FusionProgress(what, 0, 0, TimeSpan.Zero,
            string.Create(CultureInfo.InvariantCulture, $"training with {threads} of {Environment.ProcessorCount} threads (1-minute load {LoadAverage():F2})")));
        return new TrainingGate(file, previous);
    }

    /// <summary>The cores the load leaves free: the processor count less the load (rounded), at least 1.</summary>
    internal static int Threads(int processors, double load) => Math.Clamp(processors - (int)Math.Round(load, MidpointRounding.AwayFromZero), 1, processors);

    /// <summary>The 1-minute load average (Linux <c>/proc/loadavg</c>), or 0 where there is none.</summary>
    internal static double LoadAverage()
    {
        try
        {
            var text = File.ReadAllText("/proc/loadavg");
            return double.Parse(text.Split(' ')[0], CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { return 0; }
    }

    public void Dispose()
    {
        set_num_threads(_previousThreads);
        _lock.Dispose();
    }
}

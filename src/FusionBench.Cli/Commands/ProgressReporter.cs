using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using FusionBench.Core;

namespace FusionBench.Cli.Commands;

/// <summary>
/// Prints elapsed time, bytes read, the read rate and how many passes over the inputs that is (a streamed TIES reads every
/// model four times), and the tensors written with the time left at that pace, to stderr every two seconds while long work runs.
/// </summary>
internal sealed class ProgressReporter : IProgress<FusionProgress>, IDisposable
{
    private readonly TextWriter _writer;
    private readonly string _what;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Timer _timer;
    private long _bytes;
    private long _total;
    private int _stopped;
    private FusionProgress? _tensors;

    public ProgressReporter(TextWriter writer, string what)
    {
        _writer = writer;
        _what = what;
        _timer = new Timer(_ => Report(), null, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(2));
    }

    public void AddBytes(long bytes) => Interlocked.Add(ref _bytes, bytes);

    /// <summary>The bytes of one pass over every input (what a one-pass merge reads in all).</summary>
    public void SetTotal(long bytes) => Interlocked.Exchange(ref _total, bytes);

    /// <summary>Tensors written so far (with the total and the time so far): shown with the time left at that pace.</summary>
    public void Report(FusionProgress tensors) => Volatile.Write(ref _tensors, tensors);

    private void Report()
    {
        if (Volatile.Read(ref _stopped) != 0) return;
        long read = Interlocked.Read(ref _bytes), total = Interlocked.Read(ref _total);
        double seconds = _clock.Elapsed.TotalSeconds;
        string rate = seconds > 0 ? $" ({MergeCommand.Bytes((long)(read / seconds))}/s)" : "";
        string passes = total > 0 ? string.Create(CultureInfo.InvariantCulture, $", {(double)read / total:F2} passes over the {MergeCommand.Bytes(total)} of inputs") : "";
        var t = Volatile.Read(ref _tensors);
        string written = t is null ? "" : string.Create(CultureInfo.InvariantCulture, $", {t.Completed}/{t.Total} tensors written")
            + (t.Remaining is { } left ? string.Create(CultureInfo.InvariantCulture, $", about {left.TotalSeconds:F0} s left") : "");
        lock (_writer)
            _writer.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {_what}: {seconds:F0} s elapsed, {MergeCommand.Bytes(read)} of weights read{rate}{passes}{written}"));
    }

    public void Stop()
    {
        Interlocked.Exchange(ref _stopped, 1);
        _timer.Change(Timeout.Infinite, Timeout.Infinite);
    }

    public void Dispose()
    {
        Stop();
        _timer.Dispose();
    }
}

/// <summary>A model pool that counts the bytes its sources hand out, for progress.</summary>
internal sealed class CountingPool : IModelPool, IDisposable
{
    private readonly IModelPool _inner;
    private readonly Dictionary<string, IWeightSource> _models;

    private CountingPool(IModelPool inner, ProgressReporter progress)
    {
        _inner = inner;
        Pretrained = inner.Pretrained is null ? null : new CountingSource(inner.Pretrained, progress);
        _models = inner.ModelNames.ToDictionary(n => n, n => (IWeightSource)new CountingSource(inner.GetModel(n), progress));
    }

    public static CountingPool Wrap(IModelPool inner, ProgressReporter progress)
    {
        var pool = new CountingPool(inner, progress);
        static long Size(IWeightSource s) => s.TensorNames.Sum(n => s.GetInfo(n).ByteCount);
        progress.SetTotal((inner.Pretrained is { } p ? Size(p) : 0) + inner.ModelNames.Sum(n => Size(inner.GetModel(n))));
        return pool;
    }

    public IWeightSource? Pretrained { get; }

    public IReadOnlyList<string> ModelNames => _inner.ModelNames;

    public IWeightSource GetModel(string name) => _models.TryGetValue(name, out var m) ? m : _inner.GetModel(name);

    public void Dispose() { } // the wrapped pool owns the sources

    private sealed class CountingSource(IWeightSource inner, ProgressReporter progress) : IWeightSource
    {
        public string Name => inner.Name;
        public IReadOnlyList<string> TensorNames => inner.TensorNames;
        public bool Contains(string tensorName) => inner.Contains(tensorName);
        public TensorInfo GetInfo(string tensorName) => inner.GetInfo(tensorName);

        public torch.Tensor Read(string tensorName)
        {
            var t = inner.Read(tensorName);
            progress.AddBytes(t.NumberOfElements * t.ElementSize);
            return t;
        }

        public torch.Tensor ReadRows(string tensorName, long start, long count)
        {
            var t = inner.ReadRows(tensorName, start, count);
            progress.AddBytes(t.NumberOfElements * t.ElementSize);
            return t;
        }

        public void ReadRowsInto(string tensorName, long start, long count, torch.Tensor destination)
        {
            inner.ReadRowsInto(tensorName, start, count, destination);
            progress.AddBytes(destination.NumberOfElements * destination.ElementSize);
        }

        public void Dispose() { }
    }
}

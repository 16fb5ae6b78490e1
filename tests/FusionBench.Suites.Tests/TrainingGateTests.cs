using FusionBench.Core;
using Xunit;

namespace FusionBench.Suites.Tests;

/// <summary>One training at a time, with the threads the machine's load leaves free.</summary>
public class TrainingGateTests
{
    [Theory]
    [InlineData(2, 0.0, 2)]
    [InlineData(2, 0.4, 2)]
    [InlineData(2, 0.5, 1)]
    [InlineData(2, 1.2, 1)]
    [InlineData(2, 6.0, 1)]
    [InlineData(8, 2.5, 5)]
    public void Threads_AreTheCoresTheLoadLeavesFree_AtLeastOne(int processors, double load, int expected) =>
        Assert.Equal(expected, TrainingGate.Threads(processors, load));

    [Fact]
    public async Task ASecondTraining_WaitsForTheFirst_ThenRuns()
    {
        var reports = new List<FusionProgress>();
        var first = TrainingGate.Enter("first", null, default);
        var entered = new ManualResetEventSlim();
        var second = Task.Run(() =>
        {
            using var gate = TrainingGate.Enter("second", new Sync(reports), default);
            entered.Set();
        });
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.False(entered.IsSet, "the second training ran while the first held the gate");
        first.Dispose();
        Assert.Same(second, await Task.WhenAny(second, Task.Delay(TimeSpan.FromMinutes(10))));
        await second;
        lock (reports)
        {
            Assert.Contains(reports, r => r.Message!.Contains("waiting", StringComparison.Ordinal));
            Assert.Contains(reports, r => r.Message!.StartsWith("training with ", StringComparison.Ordinal));
        }
    }

    private sealed class Sync(List<FusionProgress> reports) : IProgress<FusionProgress>
    {
        public void Report(FusionProgress value) { lock (reports) reports.Add(value); }
    }
}

using FusionBench.Core;

namespace FusionBench.Cli;

internal static class Program
{
    private static int Main(string[] args)
    {
        // Streaming merges free a layer-sized tensor group per step; mmap'd allocations give that memory back at once.
        NativeAllocator.UseMmapForLargeTensors();
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true; // finish cleanly: the merge stops between tensors and no partial output is left
            cancel.Cancel();
        };
        return CliApp.Run(args, Console.Out, Console.Error, cancel.Token);
    }
}

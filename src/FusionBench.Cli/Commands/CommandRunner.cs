using FusionBench.Core;
using FusionBench.Core.Checkpoints;

namespace FusionBench.Cli.Commands;

/// <summary>Runs a command body and turns the errors a user can fix into one clear line on stderr and exit code 1.</summary>
internal static class CommandRunner
{
    public static int Run(CliContext context, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (OperationCanceledException)
        {
            context.Error.WriteLine("fusionbench: cancelled; no output was written.");
            return 130;
        }
        catch (Exception e) when (e is CliException or FusionException or CheckpointFormatException or FileNotFoundException
                                       or DirectoryNotFoundException or IOException or UnauthorizedAccessException or BadImageFormatException)
        {
            context.Error.WriteLine($"fusionbench: error: {e.Message}");
            return 1;
        }
    }
}

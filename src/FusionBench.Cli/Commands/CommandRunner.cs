using FusionBench.Core;
using FusionBench.Core.Checkpoints;

namespace FusionBench.Cli.Commands;

/// <summary>
/// Runs a command body and turns every error into one line on stderr, never a stack trace: a usage error (unknown suite)
/// exits 2, an error the user can fix (bad checkpoint, bad parameter) 1, a cancellation 130, anything else 70.
/// </summary>
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
        catch (CliUsageException e)
        {
            context.Error.WriteLine($"fusionbench: error: {e.Message}");
            return 2;
        }
        catch (Exception e) when (e is CliException or FusionException or CheckpointFormatException or FileNotFoundException
                                       or DirectoryNotFoundException or IOException or UnauthorizedAccessException or BadImageFormatException)
        {
            context.Error.WriteLine($"fusionbench: error: {e.Message}");
            return 1;
        }
        catch (Exception e)
        {
            // A bug, not a user error; still one line (the stack trace only when asked for, so a user never sees one).
            context.Error.WriteLine($"fusionbench: internal error: {e.GetType().Name}: {e.Message}");
            if (Environment.GetEnvironmentVariable("FUSIONBENCH_DEBUG") == "1") context.Error.WriteLine(e);
            return 70;
        }
    }
}

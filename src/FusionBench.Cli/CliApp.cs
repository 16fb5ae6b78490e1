using System.CommandLine;
using System.Reflection;
using FusionBench.Cli.Commands;
using Microsoft.Extensions.DependencyInjection;

namespace FusionBench.Cli;

/// <summary>The <c>fusionbench</c> command line, runnable in-process (the tests call <see cref="Run"/>).</summary>
public static class CliApp
{
    /// <summary>Parses and runs one command line; returns the process exit code (0 on success).</summary>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken = default)
    {
        var plugins = new Option<string[]>("--plugin")
        {
            Description = "A .NET assembly with IFusionBenchPlugin implementations that register more methods (repeatable).",
            Recursive = true,
        };
        var root = new RootCommand("fusionbench: deep model fusion (FusionBench's methods) for .NET.");
        root.Options.Add(plugins);
        var context = new CliContext(stdout, stderr, cancellationToken, parse => BuildServices(parse.GetValue(plugins)));
        root.Subcommands.Add(MergeCommand.Create(context));
        root.Subcommands.Add(ListCommand.Create(context));
        root.Subcommands.Add(DescribeCommand.Create(context));
        root.Subcommands.Add(ZooCommand.Create(context));
        root.Subcommands.Add(EvaluateCommand.Create(context));
        root.Subcommands.Add(RunCommand.Create(context));
        root.Subcommands.Add(BenchmarkCommand.Create(context));
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0 && parse.Action is not System.CommandLine.Help.HelpAction)
        {
            // Usage errors: one line each and exit code 2, like the other usage errors.
            foreach (var error in parse.Errors) stderr.WriteLine($"fusionbench: error: {error.Message}");
            return 2;
        }
        return parse.Invoke(new InvocationConfiguration { Output = stdout, Error = stderr });
    }

    /// <summary>
    /// The run options of every fusion the tool runs: it owns its process, so it opts in to the peak-memory probe and to
    /// returning freed native memory to the OS after each fusion.
    /// </summary>
    internal static FusionRunOptions RunOptions(IProgress<FusionProgress>? progress = null) =>
        new() { Progress = progress, MeasurePeakMemory = true, TrimNativeMemory = true };

    internal static ServiceProvider BuildServices(string[]? pluginPaths)
    {
        var services = new ServiceCollection();
        var builder = services.AddFusionBench();
        foreach (var path in pluginPaths ?? Array.Empty<string>())
        {
            if (!File.Exists(path)) throw new CliException($"Plug-in assembly not found: {path}");
            var assembly = Assembly.LoadFrom(Path.GetFullPath(path));
            var types = assembly.GetExportedTypes()
                .Where(t => typeof(IFusionBenchPlugin).IsAssignableFrom(t) && !t.IsAbstract && t.GetConstructor(Type.EmptyTypes) is not null)
                .ToList();
            if (types.Count == 0) throw new CliException($"{path} has no public IFusionBenchPlugin with a parameterless constructor.");
            foreach (var t in types) ((IFusionBenchPlugin)Activator.CreateInstance(t)!).Configure(builder);
        }
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }
}

/// <summary>An error in what the user asked for; printed without a stack trace.</summary>
internal sealed class CliException(string message) : Exception(message);

/// <summary>A command line that asks for something that does not exist (an unknown suite); exit code 2.</summary>
internal sealed class CliUsageException(string message) : Exception(message);

internal sealed record CliContext(TextWriter Out, TextWriter Error, CancellationToken CancellationToken, Func<ParseResult, ServiceProvider> Services);

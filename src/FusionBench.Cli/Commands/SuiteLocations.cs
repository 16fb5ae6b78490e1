using System.CommandLine;

namespace FusionBench.Cli.Commands;

/// <summary>Where the embedded data and the cached model zoo live, and the options that change them.</summary>
internal static class SuiteLocations
{
    public static Option<string> SuiteOption() => new("--suite")
    {
        Description = "The suite: image-tiny, image-small or text-minilm.",
        DefaultValueFactory = _ => "image-tiny",
    };

    /// <summary>The suites the tool knows.</summary>
    public static IReadOnlyList<string> KnownSuites { get; } = new[] { "image-tiny", "image-small", FusionBench.Suites.Text.TextModelZoo.SuiteName };

    /// <summary>Whether a (known) suite is the text suite.</summary>
    public static bool IsText(string suite) => suite == FusionBench.Suites.Text.TextModelZoo.SuiteName;

    /// <summary>The suite's name if the tool knows it; otherwise a usage error (exit code 2) naming the known suites.</summary>
    public static string CheckSuite(string? suite) =>
        suite is not null && KnownSuites.Contains(suite, StringComparer.Ordinal)
            ? suite
            : throw new CliUsageException($"unknown suite '{suite}'; known suites: {string.Join(", ", KnownSuites)}.");

    public static Option<string?> DataOption() => new("--data")
    {
        Description = "Folder with the suite's data files (default: the data embedded next to the tool).",
    };

    public static Option<string?> ZooOption() => new("--zoo-dir")
    {
        Description = "Folder of the model zoo (default: $FUSIONBENCH_HOME/zoo/SUITE, or ~/.cache/fusionbench/zoo/SUITE).",
    };

    /// <summary>
    /// Makes sure a zoo is at <paramref name="zooDir"/>: whatever zoo is there (a custom build included) is used as is;
    /// only when none is, the suite's zoo is built, with progress on <paramref name="progress"/>.
    /// </summary>
    public static void EnsureZoo(string dataDir, string zooDir, string suite, TextWriter progress, CancellationToken ct)
    {
        if (FusionBench.Suites.Image.ImageZooManifest.TryLoad(Path.Combine(zooDir, FusionBench.Suites.Image.ImageModelZoo.ManifestFile)) is null)
            FusionBench.Suites.Image.ImageModelZoo.EnsureBuilt(dataDir, zooDir, FusionBench.Suites.Image.ImageZooOptions.ForSuite(suite), false,
                new SynchronousProgress<FusionProgress>(p => progress.WriteLine(p.ToString())), ct);
    }

    /// <summary>
    /// Makes sure a text zoo is at <paramref name="zooDir"/>: whatever zoo is there (a custom build included) is used as
    /// is; only when none is, the suite's zoo is built.
    /// </summary>
    public static FusionBench.Suites.Text.TextZooManifest EnsureTextZoo(string dataDir, string zooDir, TextWriter progress, CancellationToken ct) =>
        FusionBench.Suites.Text.TextZooManifest.TryLoad(Path.Combine(zooDir, FusionBench.Suites.Text.TextModelZoo.ManifestFile))
        ?? FusionBench.Suites.Text.TextModelZoo.EnsureBuilt(dataDir, ModelsDirectory(), zooDir, new FusionBench.Suites.Text.TextZooOptions(),
            progress: new SynchronousProgress<FusionProgress>(p => progress.WriteLine(p.ToString())), cancellationToken: ct);

    /// <summary>Writes a report's JSON to <paramref name="path"/>, creating its folder, and says so.</summary>
    public static void WriteReport(string path, TaskPoolReport report, TextWriter output)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, report.ToJson());
        output.WriteLine($"Wrote {path}");
    }

    public static string DataDirectory(string? given, string suite = "image-tiny") =>
        given ?? Path.Combine(AppContext.BaseDirectory, "data", IsText(suite) ? "text" : "image");

    /// <summary>The tool's cache: $FUSIONBENCH_HOME, or ~/.cache/fusionbench.</summary>
    private static string Home() => Environment.GetEnvironmentVariable("FUSIONBENCH_HOME")
        ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "fusionbench");

    /// <summary>Where converted pretrained models are cached: HOME/models.</summary>
    public static string ModelsDirectory() => Path.Combine(Home(), "models");

    public static string ZooDirectory(string? given, string suite)
    {
        CheckSuite(suite);
        return given ?? Path.Combine(Home(), "zoo", suite);
    }
}

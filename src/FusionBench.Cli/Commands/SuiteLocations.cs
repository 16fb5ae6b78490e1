using System.CommandLine;

namespace FusionBench.Cli.Commands;

/// <summary>Where the embedded data and the cached model zoo live, and the options that change them.</summary>
internal static class SuiteLocations
{
    public static Option<string> SuiteOption() => new("--suite")
    {
        Description = "The suite: image-tiny or image-small.",
        DefaultValueFactory = _ => "image-tiny",
    };

    public static Option<string?> DataOption() => new("--data")
    {
        Description = "Folder with the suite's data files (default: the data embedded next to the tool).",
    };

    public static Option<string?> ZooOption() => new("--zoo-dir")
    {
        Description = "Folder of the model zoo (default: $FUSIONBENCH_HOME/zoo/SUITE, or ~/.cache/fusionbench/zoo/SUITE).",
    };

    public static string DataDirectory(string? given) => given ?? Path.Combine(AppContext.BaseDirectory, "data", "image");

    public static string ZooDirectory(string? given, string suite)
    {
        if (given is not null) return given;
        string home = Environment.GetEnvironmentVariable("FUSIONBENCH_HOME")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "fusionbench");
        return Path.Combine(home, "zoo", suite);
    }
}

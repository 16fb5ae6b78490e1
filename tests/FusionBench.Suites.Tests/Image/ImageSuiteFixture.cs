using FusionBench.Core.Models;
using FusionBench.Suites.Image;
using FusionBench.Core.Tests.TestSupport;
using Xunit;

namespace FusionBench.Suites.Tests.Image;

/// <summary>A zoo built once for the suite tests, in a configuration small enough to train in seconds.</summary>
public sealed class ImageSuiteFixture : IDisposable
{
    public static ImageZooOptions TinyOptions { get; } = new()
    {
        Suite = "image-test",
        Config = new ClipVisionConfig(HiddenSize: 32, IntermediateSize: 64, NumHiddenLayers: 1, NumAttentionHeads: 2),
        PretrainPerSource = 1000,
        PretrainEpochs = 4,
        HeadSteps = 30,
        TrainPerTask = 800,
        TestPerTask = 200,
        FineTuneEpochs = 5,
        BatchSize = 32,
        LoraRank = 2,
    };

    public static string DataDirectory => Path.Combine(AppContext.BaseDirectory, "data", "image");

    private readonly TempDir _dir = TestData.NewTempDir();

    public ImageSuiteFixture()
    {
        ZooDirectory = Path.Combine(_dir.Path, "zoo");
        var lines = new List<FusionProgress>();
        Manifest = ImageModelZoo.EnsureBuilt(DataDirectory, ZooDirectory, TinyOptions, progress: new Collect(lines));
        ProgressReports = lines;
    }

    public string ZooDirectory { get; }

    public ImageZooManifest Manifest { get; }

    public IReadOnlyList<FusionProgress> ProgressReports { get; }

    public string NewTempPath(string name) => Path.Combine(_dir.Path, name);

    public void Dispose() => _dir.Dispose();

    private sealed class Collect(List<FusionProgress> reports) : IProgress<FusionProgress>
    {
        public void Report(FusionProgress value) => reports.Add(value);
    }
}

[CollectionDefinition(Name)]
public sealed class ImageSuiteCollection : ICollectionFixture<ImageSuiteFixture>
{
    public const string Name = "image suite";
}

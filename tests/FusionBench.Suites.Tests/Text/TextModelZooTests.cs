using FusionBench.Core;
using FusionBench.Core.Checkpoints;
using FusionBench.Suites.Text;
using FusionBench.Core.Tests.TestSupport;
using Xunit;

namespace FusionBench.Suites.Tests.Text;

/// <summary>A tiny text zoo (2-layer slice of the real weights, two tasks, a few steps) built, cached and described.</summary>
public class TextModelZooTests(MiniLmFixture minilm) : IClassFixture<MiniLmFixture>
{
    [Fact]
    public void Zoo_BuildsHeadsAndFineTunes_WithAManifest_AndIsCached()
    {
        using var dir = TestData.NewTempDir();
        var options = new TextZooOptions
        {
            Tasks = new[] { "langid", "wn_verb" }, Layers = 2, TrainPerTask = 64, TestPerTask = 64,
            FineTune = new TextFineTuneOptions { Steps = 8, BatchSize = 16, LearningRate = 5e-4 },
        };
        string data = Path.Combine(AppContext.BaseDirectory, "data", "text");
        string zoo = dir.File("zoo");
        var reports = new List<FusionProgress>();
        var manifest = TextModelZoo.EnsureBuilt(data, Path.GetDirectoryName(minilm.Folder)!, zoo, options, progress: new Collect(reports));

        Assert.Equal(new[] { "wn_verb", "langid" }, manifest.Tasks.Select(t => t.Name));   // the suite's order
        Assert.All(manifest.Tasks, t => Assert.Equal((64, 64), (t.TrainSize, t.TestSize)));
        Assert.Contains(reports, r => r.Operation == "fine-tuning langid" && r.Completed == 8 && r.Total == 8);
        using (var head = SafeTensorsFile.Open(TextModelZoo.HeadPath(zoo, "langid")))
            Assert.Equal(new long[] { 7, 384 }, head.GetInfo("weight").Shape);
        using (var tuned = SafeTensorsFile.Open(TextModelZoo.ModelPath(zoo, "wn_verb")))
        {
            Assert.DoesNotContain("embeddings.word_embeddings.weight", tuned.TensorNames);     // frozen: the pretrained model's
            Assert.Contains("encoder.layer.1.output.dense.weight", tuned.TensorNames);
            Assert.DoesNotContain("encoder.layer.2.output.dense.weight", tuned.TensorNames);   // the 2-layer slice
        }
        Assert.False(Directory.Exists(zoo + ".building"));

        // Same options: the cached zoo, nothing rebuilt.
        var stamp = File.GetLastWriteTimeUtc(TextModelZoo.ModelPath(zoo, "langid"));
        reports.Clear();
        var cached = TextModelZoo.EnsureBuilt(data, Path.GetDirectoryName(minilm.Folder)!, zoo, options, progress: new Collect(reports));
        Assert.Equal(manifest.Tasks.Select(t => t.FullAccuracy), cached.Tasks.Select(t => t.FullAccuracy));
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(TextModelZoo.ModelPath(zoo, "langid")));
        Assert.Contains(reports, r => r.Message!.StartsWith("using the cached zoo", StringComparison.Ordinal));
    }

    private sealed class Collect(List<FusionProgress> reports) : IProgress<FusionProgress>
    {
        public void Report(FusionProgress value) => reports.Add(value);
    }
}

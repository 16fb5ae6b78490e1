using FusionBench.Suites;
using FusionBench.Cli.Commands;
using FusionBench.Core;
using FusionBench.Core.ModelPools;
using FusionBench.Suites.Data;
using FusionBench.Suites.Image;
using FusionBench.Suites.Text;

namespace FusionBench.Cli.Experiments;

/// <summary>One cell of a robustness study: a corruption at a severity.</summary>
internal sealed record RobustnessCell(string Corruption, int Severity)
{
    /// <summary>The cell's key in results.json: <c>corruption@severity</c>.</summary>
    public string Key => $"{Corruption}@{Severity}";
}

/// <summary>
/// What the benchmark needs of a suite: the pool that is fused (all tasks, or the seen ones of the generalization
/// study), the pool whose tasks are evaluated (always all), the robustness cells and how to evaluate on them.
/// </summary>
internal interface IBenchmarkSuite : IDisposable
{
    /// <summary>The pool every task is evaluated on (pretrained, individual models).</summary>
    IDataModelPool Full { get; }

    /// <summary>The pool the methods fuse.</summary>
    IDataModelPool Fused { get; }

    /// <summary>Tasks that are evaluated but not fused (the generalization study).</summary>
    IReadOnlyList<string> UnseenTasks { get; }

    /// <summary>The robustness study's cells (empty for the other studies).</summary>
    IReadOnlyList<RobustnessCell> Robustness { get; }

    /// <summary>A task pool over every task, clean (null) or corrupted.</summary>
    ITaskPoolWithBackbones TaskPool(RobustnessCell? cell);
}

/// <summary>A task pool that can also evaluate a backbone chosen per task (the suites' task pools).</summary>
internal interface ITaskPoolWithBackbones
{
    TaskPoolReport Evaluate(FusionResult fused, CancellationToken cancellationToken);

    TaskPoolReport Evaluate(Func<string, IReadOnlyDictionary<string, TorchSharp.torch.Tensor>> backboneFor, IReadOnlyDictionary<string, object?> modelInfo, CancellationToken cancellationToken);
}

internal static class BenchmarkSuites
{
    /// <summary>The text suite's generalization split: two tasks left out of the fusion (see README).</summary>
    public static IReadOnlyList<string> TextUnseenTasks { get; } = new[] { "fortune", "debsec" };

    /// <summary>The robustness cell of the uncorrupted reference (evaluated on the same texts as the corrupted cells).</summary>
    public const string CleanCell = "clean";

    /// <summary>Test texts per task of the text suite's robustness grid (the first ones; 8 × 100 texts per cell).</summary>
    public const int RobustnessTexts = 100;

    /// <summary>Opens the suite's zoo (building it if none is there) for a study.</summary>
    public static IBenchmarkSuite Open(string suite, string study, string dataDir, string zooDir, TextWriter progress, CancellationToken ct)
    {
        bool generalization = study == "generalization";
        if (SuiteLocations.IsText(suite))
        {
            SuiteLocations.EnsureTextZoo(dataDir, zooDir, progress, ct);
            var full = TextSuiteModelPool.Open(zooDir, dataDir);
            try
            {
                var fused = generalization ? TextSuiteModelPool.Open(zooDir, dataDir, full.ModelNames.Except(TextUnseenTasks).ToList()) : null;
                // Random casing is left out: the uncased tokenizer lower-cases it away, so it equals the clean test
                // set token for token (TextCorruptionTests proves it); evaluating it would only repeat the clean row.
                // The grid (4 corruptions × 5 severities) evaluates each task's first RobustnessTexts test texts, with
                // the clean accuracy on the same texts as its reference cell (clean@0).
                var cells = study == "robustness"
                    ? new[] { new RobustnessCell(CleanCell, 0) }.Concat(TextCorruptions.All.Where(c => c != TextCorruption.RandomCasing)
                        .SelectMany(c => Enumerable.Range(1, 5).Select(s => new RobustnessCell(TextCorruptions.Name(c), s)))).ToList()
                    : new List<RobustnessCell>();
                return new Suite(full, fused, generalization ? TextUnseenTasks : Array.Empty<string>(), cells,
                    cell => new TextTaskPool(full.CreateTaskPool(cell is null ? null : new TextEvaluationOptions
                    {
                        Corruption = cell.Corruption == CleanCell ? null : TextCorruptions.Parse(cell.Corruption), Severity = Math.Max(1, cell.Severity),
                        TestPerTask = RobustnessTexts,
                    })));
            }
            catch
            {
                full.Dispose();
                throw;
            }
        }
        SuiteLocations.EnsureZoo(dataDir, zooDir, suite, progress, ct);
        var image = ImageSuiteModelPool.Open(zooDir, dataDir);
        try
        {
            var fusedImage = generalization ? ImageSuiteModelPool.Open(zooDir, dataDir, FineTuning.Full, ImageSuiteData.SeenTasks) : null;
            var imageCells = study == "robustness" ? ImageCorruptions.All.Select(c => new RobustnessCell(ImageCorruptions.Name(c), 3)).ToList() : new List<RobustnessCell>();
            return new Suite(image, fusedImage, generalization ? ImageSuiteData.UnseenTasks : Array.Empty<string>(), imageCells,
                cell => new ImageTaskPool(image.CreateTaskPool(cell is null ? new ImageEvaluationOptions() : new ImageEvaluationOptions { Corruption = ImageCorruptions.Parse(cell.Corruption), Severity = cell.Severity })));
        }
        catch
        {
            image.Dispose();
            throw;
        }
    }

    private sealed class Suite(IDataModelPool full, IDataModelPool? fused, IReadOnlyList<string> unseen, IReadOnlyList<RobustnessCell> cells,
        Func<RobustnessCell?, ITaskPoolWithBackbones> taskPool) : IBenchmarkSuite
    {
        public IDataModelPool Full => full;
        public IDataModelPool Fused => fused ?? full;
        public IReadOnlyList<string> UnseenTasks => unseen;
        public IReadOnlyList<RobustnessCell> Robustness => cells;
        public ITaskPoolWithBackbones TaskPool(RobustnessCell? cell) => taskPool(cell);

        public void Dispose()
        {
            (fused as IDisposable)?.Dispose();
            (full as IDisposable)?.Dispose();
        }
    }

    /// <summary>The text task pool as the benchmark and evaluate use it.</summary>
    internal sealed class TextTaskPool(TextClassificationTaskPool pool) : ITaskPoolWithBackbones
    {
        public TaskPoolReport Evaluate(FusionResult fused, CancellationToken ct) => pool.Evaluate(fused, ct);
        public TaskPoolReport Evaluate(Func<string, IReadOnlyDictionary<string, TorchSharp.torch.Tensor>> backboneFor, IReadOnlyDictionary<string, object?> info, CancellationToken ct) =>
            pool.Evaluate(backboneFor, info, ct);
    }

    /// <summary>The image task pool as the benchmark and evaluate use it.</summary>
    internal sealed class ImageTaskPool(ImageClassificationTaskPool pool) : ITaskPoolWithBackbones
    {
        public TaskPoolReport Evaluate(FusionResult fused, CancellationToken ct) => pool.Evaluate(fused, ct);
        public TaskPoolReport Evaluate(Func<string, IReadOnlyDictionary<string, TorchSharp.torch.Tensor>> backboneFor, IReadOnlyDictionary<string, object?> info, CancellationToken ct) =>
            pool.Evaluate(backboneFor, info, ct);
    }
}

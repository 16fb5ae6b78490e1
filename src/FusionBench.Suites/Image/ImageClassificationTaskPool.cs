using FusionBench.Suites.Data;
using FusionBench.Core.Models;
using static TorchSharp.torch;

namespace FusionBench.Suites.Image;

/// <summary>How the image task pool evaluates: clean or corrupted test sets, and the batch size.</summary>
public sealed record ImageEvaluationOptions
{
    /// <summary>A corruption applied to every test image (the robustness study), or null for clean test sets.</summary>
    public ImageCorruption? Corruption { get; init; }

    /// <summary>The corruption's severity, 1–5.</summary>
    public int Severity { get; init; } = 3;

    /// <summary>Seed of the corruption's random draws.</summary>
    public long Seed { get; init; }

    /// <summary>Evaluation batch size.</summary>
    public int BatchSize { get; init; } = 256;
}

/// <summary>
/// Evaluates backbone weights on every task of the image suite: each task's (optionally corrupted) test set goes
/// through the backbone and that task's head; the report has accuracy and loss per task and their average.
/// </summary>
public sealed class ImageClassificationTaskPool : ITaskPool
{
    private readonly ClipVisionModel _model;
    private readonly IReadOnlyList<ImageTask> _tasks;
    private readonly IReadOnlyDictionary<string, StateDict> _heads;
    private readonly ImageEvaluationOptions _options;

    /// <summary>Creates the task pool (it borrows the tasks and heads; their owner disposes them).</summary>
    public ImageClassificationTaskPool(ClipVisionModel model, IReadOnlyList<ImageTask> tasks, IReadOnlyDictionary<string, StateDict> heads, ImageEvaluationOptions options)
    {
        _model = model ?? throw new ArgumentNullException(nameof(model));
        _tasks = tasks ?? throw new ArgumentNullException(nameof(tasks));
        _heads = heads ?? throw new ArgumentNullException(nameof(heads));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        if (options.Corruption is not null && (options.Severity < 1 || options.Severity > 5))
            throw new ArgumentOutOfRangeException(nameof(options), $"Severity must be 1–5, got {options.Severity}.");
        foreach (var t in tasks)
            if (!heads.ContainsKey(t.Name)) throw new ArgumentException($"No head for task '{t.Name}'.", nameof(heads));
    }

    /// <inheritdoc />
    public IReadOnlyList<string> TaskNames => _tasks.Select(t => t.Name).ToList();

    /// <inheritdoc />
    public TaskPoolReport Evaluate(FusionResult fused, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fused);
        var info = new Dictionary<string, object?>
        {
            ["method"] = fused.Method.Name,
            ["parameters"] = fused.Parameters.ToDictionary(p => p.Key, p => (object?)FusionParameterValue.Format(p.Value)),
        };
        // A shared model with per-task parts (EMR, TALL masks): each task is evaluated with its own weights.
        if (fused.TaskWeights is { } parts) return Evaluate(parts.Backbones(), info, cancellationToken);
        if (fused.HasWeights) return Evaluate(_ => fused.Weights, info, cancellationToken);
        var model = fused.Model!;
        return EvaluateEncoders(_ => model.Forward, info, cancellationToken);
    }

    /// <summary>
    /// Evaluates, choosing the backbone per task (<c>individual</c> evaluates each task with its own fine-tuned model).
    /// </summary>
    /// <param name="backboneFor">The backbone weights for a task name.</param>
    /// <param name="modelInfo">What the report's <c>model_info</c> says.</param>
    /// <param name="cancellationToken">Observed between tasks.</param>
    public TaskPoolReport Evaluate(Func<string, IReadOnlyDictionary<string, Tensor>> backboneFor, IReadOnlyDictionary<string, object?> modelInfo, CancellationToken cancellationToken = default) =>
        EvaluateEncoders(task =>
        {
            var backbone = backboneFor(task);
            return x => _model.Forward(backbone, x);
        }, modelInfo, cancellationToken);

    private TaskPoolReport EvaluateEncoders(Func<string, Func<Tensor, Tensor>> encoderFor, IReadOnlyDictionary<string, object?> modelInfo, CancellationToken cancellationToken)
    {
        var results = new Dictionary<string, TaskMetrics>();
        var info = new Dictionary<string, object?>(modelInfo);
        if (_options.Corruption is ImageCorruption c)
        {
            info["corruption"] = ImageCorruptions.Name(c);
            info["severity"] = _options.Severity;
        }
        foreach (var task in _tasks)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var images = _options.Corruption is ImageCorruption corruption
                ? ImageCorruptions.Apply(task.Test.Images, corruption, _options.Severity, _options.Seed)
                : task.Test.Images;
            var encoder = encoderFor(task.Name);
            var head = _heads[task.Name];
            results[task.Name] = ImageTraining.Evaluate(x => LinearHead.Logits(head, encoder(x)), images, task.Test.Labels, _options.BatchSize);
        }
        return new TaskPoolReport(results, info);
    }
}

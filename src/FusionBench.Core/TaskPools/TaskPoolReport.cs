using System.Text.Json;
using System.Text.Json.Nodes;

namespace FusionBench.Core.TaskPools;

/// <summary>Accuracy (in [0, 1]) and mean loss on one task.</summary>
/// <param name="Accuracy">The fraction of test examples classified correctly.</param>
/// <param name="Loss">The mean cross-entropy loss.</param>
public sealed record TaskMetrics(double Accuracy, double Loss);

/// <summary>
/// A task pool's evaluation of one model, in FusionBench's report shape:
/// <c>{"model_info": {...}, "&lt;task&gt;": {"accuracy": a, "loss": l}, ..., "average": {...}}</c>.
/// </summary>
public sealed class TaskPoolReport
{
    /// <summary>Creates a report; <see cref="Average"/> is the unweighted mean over the tasks.</summary>
    public TaskPoolReport(IReadOnlyDictionary<string, TaskMetrics> tasks, IReadOnlyDictionary<string, object?>? modelInfo = null)
    {
        ArgumentNullException.ThrowIfNull(tasks);
        if (tasks.Count == 0) throw new ArgumentException("A report needs at least one task.", nameof(tasks));
        if (tasks.ContainsKey("average") || tasks.ContainsKey("model_info"))
            throw new ArgumentException("'average' and 'model_info' are reserved report keys, not task names.", nameof(tasks));
        Tasks = tasks;
        ModelInfo = modelInfo ?? new Dictionary<string, object?>();
        Average = new TaskMetrics(tasks.Values.Average(m => m.Accuracy), tasks.Values.Average(m => m.Loss));
    }

    /// <summary>Facts about the evaluated model (method, parameter count, ...).</summary>
    public IReadOnlyDictionary<string, object?> ModelInfo { get; }

    /// <summary>Metrics per task, in task order.</summary>
    public IReadOnlyDictionary<string, TaskMetrics> Tasks { get; }

    /// <summary>The unweighted mean of the per-task metrics.</summary>
    public TaskMetrics Average { get; }

    /// <summary>Serialises the report in FusionBench's JSON shape.</summary>
    public string ToJson(bool indented = true)
    {
        var root = new JsonObject { ["model_info"] = JsonSerializer.SerializeToNode(ModelInfo) };
        foreach (var (task, m) in Tasks) root[task] = Metrics(m);
        root["average"] = Metrics(Average);
        return root.ToJsonString(new JsonSerializerOptions { WriteIndented = indented });

        static JsonObject Metrics(TaskMetrics m) => new() { ["accuracy"] = m.Accuracy, ["loss"] = m.Loss };
    }
}

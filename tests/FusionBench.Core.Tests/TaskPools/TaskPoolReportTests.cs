using System.Text.Json;
using Xunit;

namespace FusionBench.Core.Tests.TaskPools;

public class TaskPoolReportTests
{
    [Fact]
    public void Report_HasFusionBenchsJsonShape_WithTheUnweightedAverage()
    {
        var report = new TaskPoolReport(
            new Dictionary<string, TaskMetrics> { ["mnist"] = new(0.9, 0.3), ["svhn"] = new(0.5, 1.1) },
            new Dictionary<string, object?> { ["method"] = "task_arithmetic" });
        Assert.Equal(0.7, report.Average.Accuracy, 12);
        Assert.Equal(0.7, report.Average.Loss, 12);
        using var doc = JsonDocument.Parse(report.ToJson());
        var root = doc.RootElement;
        Assert.Equal(new[] { "model_info", "mnist", "svhn", "average" }, root.EnumerateObject().Select(p => p.Name));
        Assert.Equal("task_arithmetic", root.GetProperty("model_info").GetProperty("method").GetString());
        Assert.Equal(0.9, root.GetProperty("mnist").GetProperty("accuracy").GetDouble());
        Assert.Equal(1.1, root.GetProperty("svhn").GetProperty("loss").GetDouble());
        Assert.Equal(0.7, root.GetProperty("average").GetProperty("accuracy").GetDouble(), 12);
    }

    [Fact]
    public void Report_RejectsReservedTaskNames()
    {
        Assert.Throws<ArgumentException>(() => new TaskPoolReport(new Dictionary<string, TaskMetrics> { ["average"] = new(1, 0) }));
    }
}

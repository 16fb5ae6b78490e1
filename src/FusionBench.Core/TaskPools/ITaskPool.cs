namespace FusionBench.Core.TaskPools;

/// <summary>Evaluates a fused model on every task's test set.</summary>
public interface ITaskPool
{
    /// <summary>The task names, in report order.</summary>
    IReadOnlyList<string> TaskNames { get; }

    /// <summary>Runs the fused model on every task and reports accuracy and loss per task and on average.</summary>
    TaskPoolReport Evaluate(FusionResult fused, CancellationToken cancellationToken = default);
}

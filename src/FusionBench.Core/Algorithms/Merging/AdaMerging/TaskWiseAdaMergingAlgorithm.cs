using Microsoft.Extensions.Logging;
namespace FusionBench.Core.Algorithms.Merging.AdaMerging;

/// <summary><c>task_wise_adamerging</c>: one learned coefficient per fine-tuned model.</summary>
public sealed class TaskWiseAdaMergingAlgorithm(AdaMergingOptions options, ILogger<TaskWiseAdaMergingAlgorithm>? logger = null) : AdaMergingAlgorithm(options, logger)
{
    /// <inheritdoc />
    public override FusionAlgorithmInfo Info { get; } = new("task_wise_adamerging", "Task-wise AdaMerging", FusionCategory.Merging,
        "https://arxiv.org/abs/2310.02575", "Task arithmetic with one coefficient per model, learned by entropy minimisation on unlabeled test inputs.");

    /// <inheritdoc />
    protected override bool LayerWise => false;
}

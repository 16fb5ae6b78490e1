using Microsoft.Extensions.Logging;

namespace FusionBench.Core.Algorithms.Merging.Karcher;

/// <summary>
/// <c>karcher</c> (MergeKit): per tensor, the Karcher (Riemannian) mean of the models' directions on the unit sphere with
/// equal weights, at most <c>max_iter</c> iterations to <c>tol</c>, scaled by the mean of their norms. Streams tensor by tensor.
/// </summary>
public sealed class KarcherAlgorithm(KarcherOptions options, ILogger<KarcherAlgorithm>? logger = null) : TensorwiseMergeAlgorithm<KarcherOptions>(options, logger)
{
    /// <inheritdoc />
    public override FusionAlgorithmInfo Info { get; } = new("karcher", "Karcher Mean", FusionCategory.Merging,
        "https://en.wikipedia.org/wiki/Karcher_mean", "Riemannian mean of the models' directions, scaled by their mean norm.");

    /// <inheritdoc />
    protected override MergePlan CreatePlan(IModelPool modelPool) => MergePlan.Create(modelPool, Info.Name, requirePretrained: Options.IncludePretrained);

    /// <inheritdoc />
    protected override Func<string, TorchSharp.torch.Tensor> Step(MergePlan plan)
    {
        // MergeKit's planner appends a configured base model after the models.
        var sources = plan.Models.Concat(Options.IncludePretrained ? new[] { plan.Pretrained! } : Array.Empty<IWeightSource>()).ToList();
        var alphas = Enumerable.Repeat(1.0 / sources.Count, sources.Count).ToList();
        return name => KarcherKernel.Merge(sources.Select(s => plan.ReadCompute(s, name)).ToList(), alphas, Options.MaxIter, Options.Tol);
    }
}

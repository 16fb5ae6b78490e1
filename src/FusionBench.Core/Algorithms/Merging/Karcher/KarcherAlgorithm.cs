using Microsoft.Extensions.Logging;

namespace FusionBench.Core.Algorithms.Merging.Karcher;

/// <summary>
/// <c>karcher</c> (MergeKit): per tensor, the Karcher (Riemannian) mean of the models' directions on the unit sphere with
/// equal weights, at most <c>max_iter</c> iterations to <c>tol</c>, scaled by the mean of their norms. Streams tensor by tensor.
/// </summary>
public sealed class KarcherAlgorithm(KarcherOptions options, ILogger<KarcherAlgorithm>? logger = null) : FusionAlgorithm<KarcherOptions>(options, logger)
{
    /// <inheritdoc />
    public override FusionAlgorithmInfo Info { get; } = new("karcher", "Karcher Mean", FusionCategory.Merging,
        "https://en.wikipedia.org/wiki/Karcher_mean", "Riemannian mean of the models' directions, scaled by their mean norm.");

    /// <inheritdoc />
    protected override StateDict FuseCore(IModelPool modelPool, FusionContext context)
    {
        var (plan, step) = Prepare(modelPool);
        return plan.MergeEachTensor(step, context.CancellationToken);
    }

    /// <inheritdoc />
    protected override IWeightSource? StreamCore(IModelPool modelPool, FusionContext context)
    {
        var (plan, step) = Prepare(modelPool);
        return plan.Lazily(step);
    }

    private (MergePlan, Func<string, TorchSharp.torch.Tensor>) Prepare(IModelPool modelPool)
    {
        var plan = MergePlan.Create(modelPool, Info.Name, requirePretrained: Options.IncludePretrained);
        // MergeKit puts a configured base model first among the inputs.
        var sources = (Options.IncludePretrained ? new[] { plan.Pretrained! } : Array.Empty<IWeightSource>()).Concat(plan.Models).ToList();
        var alphas = Enumerable.Repeat(1.0 / sources.Count, sources.Count).ToList();
        return (plan, name => KarcherKernel.Merge(sources.Select(s => plan.ReadCompute(s, name)).ToList(), alphas, Options.MaxIter, Options.Tol));
    }
}

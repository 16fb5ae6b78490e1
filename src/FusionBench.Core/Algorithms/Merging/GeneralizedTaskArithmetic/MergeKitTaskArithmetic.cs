using TorchSharp;
using static TorchSharp.torch;

namespace FusionBench.Core.Algorithms.Merging.GeneralizedTaskArithmetic;

/// <summary>
/// One member of MergeKit's generalised task-arithmetic family: how each task vector is sparsified, whether a sign
/// consensus picks the entries that are mixed, and the defaults of <c>normalize</c> and <c>rescale</c>. MergeKit's
/// <c>task_arithmetic</c>, <c>ties</c>, <c>dare_linear</c>, <c>dare_ties</c>, <c>breadcrumbs</c>, <c>breadcrumbs_ties</c>,
/// <c>della</c> and <c>della_linear</c> are the presets.
/// </summary>
/// <param name="Name">MergeKit's method name.</param>
/// <param name="Sparsification">The sparsifier, or none.</param>
/// <param name="SignConsensus">Whether entries must agree with the sign of Σᵢ wᵢδᵢ (TIES's election, MergeKit's <c>sum</c>).</param>
/// <param name="DefaultNormalize">Default of <c>normalize</c> (divide by the summed weights of the mixed entries).</param>
/// <param name="DefaultRescale">Default of <c>rescale</c> (keep each sparsified tensor's L1 norm).</param>
public sealed record MergeKitVariant(string Name, SparsificationMethod? Sparsification, bool SignConsensus, bool DefaultNormalize, bool DefaultRescale)
{
    /// <summary>MergeKit's presets by name.</summary>
    public static IReadOnlyDictionary<string, MergeKitVariant> Presets { get; } = new[]
    {
        new MergeKitVariant("task_arithmetic", null, false, false, false),
        new MergeKitVariant("ties", SparsificationMethod.Magnitude, true, true, false),
        new MergeKitVariant("dare_ties", SparsificationMethod.Random, true, false, true),
        new MergeKitVariant("dare_linear", SparsificationMethod.Random, false, false, true),
        new MergeKitVariant("breadcrumbs", SparsificationMethod.MagnitudeOutliers, false, false, false),
        new MergeKitVariant("breadcrumbs_ties", SparsificationMethod.MagnitudeOutliers, true, false, false),
        new MergeKitVariant("della", SparsificationMethod.DellaMagprune, true, true, true),
        new MergeKitVariant("della_linear", SparsificationMethod.DellaMagprune, false, false, true),
    }.ToDictionary(v => v.Name, StringComparer.Ordinal);

    /// <summary>The per-model parameters this variant reads (MergeKit's <c>tensor_parameters</c>).</summary>
    public IReadOnlyList<string> PerModelParameters => Sparsification switch
    {
        SparsificationMethod.MagnitudeOutliers => new[] { "weight", "density", "gamma" },
        SparsificationMethod.DellaMagprune => new[] { "weight", "density", "epsilon" },
        _ => new[] { "weight", "density" },
    };

    /// <summary>
    /// MergeKit's default of a per-model parameter (<c>density</c> 1, <c>gamma</c> 0.01, <c>epsilon</c> 0.15), or null for
    /// <c>weight</c>, which MergeKit requires (a pool merge without one uses 1).
    /// </summary>
    public static double? PerModelDefault(string parameter) => parameter switch
    {
        "density" => 1.0,
        "gamma" => 0.01,
        "epsilon" => 0.15,
        "weight" => null,
        _ => throw new ArgumentOutOfRangeException(nameof(parameter), $"'{parameter}' is not a per-model parameter of MergeKit's task-vector methods."),
    };

    /// <summary>The global parameters this variant reads.</summary>
    public static IReadOnlyList<string> GlobalParameters { get; } = new[] { "normalize", "rescale", "lambda", "int8_mask" };
}

/// <summary>
/// MergeKit's <c>GTATask.execute</c> for one tensor (<c>generalized_task_arithmetic.py</c>): δᵢ = θᵢ − θ₀, each sparsified
/// with its own density (γ, ε), weighted wᵢδᵢ; with sign consensus s = +1 where Σᵢ wᵢδᵢ ≥ 0 else −1, only entries with
/// sign(wᵢδᵢ) = s are summed and the divisor is Σ of their weights (0 → 1); without, all are summed and the divisor is
/// Σᵢ wᵢ (|·| &lt; 1e-8 → 1); divided by it if <c>normalize</c>, times <c>lambda</c>, added to θ₀.
/// </summary>
internal static class MergeKitTaskArithmetic
{
    public static Tensor MergeTensor(MergeKitVariant variant, string name, Tensor pre, IReadOnlyList<Tensor> models,
        IMergeParameterSchedule schedule, long seed)
    {
        using var scope = NewDisposeScope();
        bool normalize = schedule.Global("normalize", name, variant.DefaultNormalize ? 1 : 0) != 0;
        bool rescale = schedule.Global("rescale", name, variant.DefaultRescale ? 1 : 0) != 0;
        double lambda = schedule.Global("lambda", name, 1.0);
        if (models.Count == 0) return pre.clone().MoveToOuterDisposeScope();
        var weighted = empty(new long[] { models.Count }.Concat(pre.shape).ToArray(), pre.dtype);
        var weights = new double[models.Count];
        for (int i = 0; i < models.Count; i++)
        {
            var delta = models[i].sub(pre);
            if (variant.Sparsification is SparsificationMethod method)
            {
                double density = schedule.PerModel("density", i, name, MergeKitVariant.PerModelDefault("density")!.Value);
                double gamma = schedule.PerModel("gamma", i, name, MergeKitVariant.PerModelDefault("gamma")!.Value);
                double epsilon = schedule.PerModel("epsilon", i, name, MergeKitVariant.PerModelDefault("epsilon")!.Value);
                using var g = method is SparsificationMethod.Random or SparsificationMethod.DellaMagprune
                    ? new Generator((ulong)GeneralizedTaskArithmeticMerger.DareSeed(seed, i, name)) : null;
                delta = MergeKitSparsifiers.Sparsify(delta, method, density, gamma, epsilon, rescale, g);
            }
            weights[i] = schedule.PerModel("weight", i, name, 1.0);
            weighted[i].copy_(delta.mul_(weights[i]));
        }
        var w = tensor(weights, dtype: pre.dtype).view(new long[] { models.Count }.Concat(Enumerable.Repeat(1L, (int)pre.dim())).ToArray());
        Tensor mixed, divisor;
        if (variant.SignConsensus)
        {
            var majority = weighted.sum(dim: 0).ge(0).to(pre.dtype).mul_(2).sub_(1);
            var mask = weighted.sign().eq(majority.unsqueeze(0)).to(pre.dtype);
            mixed = weighted.mul(mask).sum(dim: 0);
            divisor = w.mul(mask).sum(dim: 0);
            divisor.masked_fill_(divisor.eq(0), 1);
        }
        else
        {
            mixed = weighted.sum(dim: 0);
            // MergeKit sums the weights in the compute dtype; so does this.
            divisor = w.sum(dim: 0);
            divisor.masked_fill_(divisor.abs().lt(1e-8), 1);
        }
        if (normalize) mixed.div_(divisor);
        if (lambda != 1) mixed.mul_(lambda);
        return pre.add(mixed).MoveToOuterDisposeScope();
    }
}

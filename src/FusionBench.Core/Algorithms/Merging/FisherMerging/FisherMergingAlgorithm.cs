using Microsoft.Extensions.Logging;
using System.Text.RegularExpressions;
using TorchSharp;
using static TorchSharp.torch;

namespace FusionBench.Core.Algorithms.Merging.FisherMerging;

/// <summary>
/// <c>fisher_merging</c> (Matena &amp; Raffel): a per-parameter weighted average, each model weighted by its diagonal
/// Fisher information, estimated as FusionBench does from the model's own predictive distribution on training
/// inputs: Fᵢ = (1/n) Σ_batches (∇θ Σₓ Σ_c √p_c(x)·log p_c(x))². θ* = Σᵢ cᵢ(Fᵢ+ε)θᵢ / Σᵢ cᵢ(Fᵢ+ε), with
/// cᵢ ∝ 1/‖Fᵢ‖₂ when <c>normalize_fisher_weight</c>.
/// </summary>
public sealed class FisherMergingAlgorithm(FisherMergingOptions options, ILogger<FisherMergingAlgorithm>? logger = null) : FusionAlgorithm<FisherMergingOptions>(options, logger)
{
    /// <inheritdoc />
    public override FusionAlgorithmInfo Info { get; } = new("fisher_merging", "Fisher Merging", FusionCategory.Merging,
        "https://arxiv.org/abs/2111.09832", "A weighted average of the models, each parameter weighted by its diagonal Fisher information.");

    /// <inheritdoc />
    protected override StateDict FuseCore(IModelPool modelPool, FusionContext context)
    {
        var data = DataDrivenMerging.RequireData(modelPool, Info.Name);
        var plan = MergePlan.Create(modelPool, Info.Name, requirePretrained: false);
        var excluded = (Options.ExcludeParamNamesRegex ?? Array.Empty<string>()).Select(r => new Regex(r, RegexOptions.CultureInvariant)).ToList();
        var fishers = new List<Dictionary<string, Tensor>>();
        try
        {
            for (int i = 0; i < plan.Count; i++)
            {
                context.CancellationToken.ThrowIfCancellationRequested();
                fishers.Add(Fisher(data, plan.ModelNames[i], plan.Models[i], context.CancellationToken));
            }
            double[] scale = fishers.Select(_ => 1.0).ToArray();
            if (Options.NormalizeFisherWeight)
            {
                var norms = fishers.Select(f => Math.Sqrt(f.Values.Sum(t => t.pow(2).sum().ToDouble()))).ToArray();
                scale = norms.Select(n => 1.0 / (n + Options.MinimalFisherWeight)).ToArray();
                double total = scale.Sum();
                scale = scale.Select(s => s / total).ToArray();
            }
            return plan.MergeEachTensor(name =>
            {
                var thetas = plan.Models.Select(m => plan.ReadCompute(m, name)).ToList();
                return excluded.Any(r => r.IsMatch(name))
                    ? stack(thetas).mean(new long[] { 0 })
                    : FisherKernel.Merge(thetas, fishers.Select(f => f[name]).ToList(), scale, Options.MinimalFisherWeight);
            }, context.CancellationToken);
        }
        finally
        {
            foreach (var f in fishers)
                foreach (var t in f.Values) t.Dispose();
        }
    }

    private Dictionary<string, Tensor> Fisher(IDataModelPool data, string task, IWeightSource model, CancellationToken ct)
    {
        var weights = DataDrivenMerging.Leaves(model, out var leaves);
        try
        {
            var sums = weights.Where(kv => is_floating_point(kv.Value.dtype)).ToDictionary(kv => kv.Key, kv => zeros_like(kv.Value).requires_grad_(false));
            using var inputs = DataDrivenMerging.SampleTrainInputs(data, task, Options.NumFisherExamples, Options.Seed);
            long n = inputs.shape[0];
            for (long off = 0; off < n; off += Options.BatchSize)
            {
                ct.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var logits = data.Logits(task, data.Architecture.Forward(weights, inputs.narrow(0, off, Math.Min(Options.BatchSize, n - off))));
                var logp = logits.log_softmax(-1);
                var objective = (logp.exp().sqrt() * logp).sum();
                var grads = autograd.grad(new[] { objective }, leaves, allow_unused: true);
                var names = sums.Keys.ToList();
                for (int k = 0; k < leaves.Count; k++)
                    if (grads[k] is Tensor gk && !gk.IsInvalid) sums[names[k]].add_(gk.detach().pow(2));
            }
            foreach (var s in sums.Values) s.div_(n);
            return sums;
        }
        finally
        {
            foreach (var t in weights.Values) t.Dispose();
        }
    }
}

/// <summary>The Fisher-weighted average of one tensor.</summary>
internal static class FisherKernel
{
    /// <summary>Σᵢ cᵢ(Fᵢ+ε)θᵢ / Σᵢ cᵢ(Fᵢ+ε).</summary>
    public static Tensor Merge(IReadOnlyList<Tensor> thetas, IReadOnlyList<Tensor> fishers, IReadOnlyList<double> scale, double epsilon)
    {
        using var scope = NewDisposeScope();
        Tensor? numerator = null, denominator = null;
        for (int i = 0; i < thetas.Count; i++)
        {
            var w = (fishers[i].to(thetas[i].dtype) + epsilon) * scale[i];
            numerator = numerator is null ? w * thetas[i] : numerator.add_(w * thetas[i]);
            denominator = denominator is null ? w : denominator.add_(w);
        }
        return numerator!.div_(denominator!).MoveToOuterDisposeScope();
    }
}

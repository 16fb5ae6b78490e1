using Microsoft.Extensions.Logging;
using System.Text.RegularExpressions;
using TorchSharp;
using static TorchSharp.torch;

namespace FusionBench.Core.Algorithms.Merging.FisherMerging;

/// <summary>
/// <c>fisher_merging</c> (Matena &amp; Raffel), as FusionBench computes it: a per-parameter weighted average, each
/// model weighted by its diagonal Fisher information estimated from the model's own predictive distribution on its
/// training inputs. Per batch B of training inputs (in dataset order, whole batches until <c>num_fisher_examples</c>
/// are used), S_B = Σₓ Σ_c sg(√p_c(x))·log p_c(x), where sg stops the gradient (only log p is differentiated);
/// Fᵢ = (1/n) Σ_B (∇θ S_B)², n the inputs used. θ* = Σᵢ cᵢ(Fᵢ+ε)θᵢ / Σᵢ cᵢ(Fᵢ+ε), with cᵢ ∝ 1/(‖Fᵢ‖₂+ε) when
/// <c>normalize_fisher_weight</c>, the norm over the merged parameters only. Parameters matched by
/// <c>exclude_param_names_regex</c> (Python's <c>re.match</c>: anchored at the start) keep the pretrained model's values.
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
        var excluded = DataDrivenMerging.Exclusions(plan, Options.ExcludeParamNamesRegex, Info.Name);
        var fishers = new List<Dictionary<string, Tensor>>();
        try
        {
            for (int i = 0; i < plan.Count; i++)
            {
                context.ThrowIfCancellationRequested();
                var clock = System.Diagnostics.Stopwatch.StartNew();
                fishers.Add(Fisher(data, plan.ModelNames[i], plan.Models[i], excluded, context.CancellationToken));
                context.Logger.LogInformation("{Method}: Fisher information of '{Model}' in {Seconds:F2} s", Info.Name, plan.ModelNames[i], clock.Elapsed.TotalSeconds);
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
                if (excluded(name)) return plan.ReadCompute(plan.Pretrained!, name);
                var thetas = plan.Models.Select(m => plan.ReadCompute(m, name)).ToList();
                return FisherKernel.Merge(thetas, fishers.Select(f => f[name]).ToList(), scale, Options.MinimalFisherWeight);
            }, context.CancellationToken);
        }
        finally
        {
            foreach (var f in fishers)
                foreach (var t in f.Values) t.Dispose();
        }
    }

    /// <summary>One model's diagonal Fisher information over its merged (not excluded) float parameters.</summary>
    internal Dictionary<string, Tensor> Fisher(IDataModelPool data, string task, IWeightSource model, Func<string, bool> excluded, CancellationToken ct)
    {
        var weights = DataDrivenMerging.Leaves(model);
        // Gradients only for the merged parameters: excluded ones keep the pretrained values and need no Fisher.
        var names = weights.Where(kv => is_floating_point(kv.Value.dtype) && !excluded(kv.Key)).Select(kv => kv.Key).ToList();
        var inputs = names.Select(n => weights[n]).ToList();
        var sums = names.ToDictionary(n => n, n => zeros_like(weights[n]).requires_grad_(false));
        try
        {
            long used = 0;
            foreach (var batch in DataDrivenMerging.TrainBatches(data, task, Options.NumFisherExamples, Options.BatchSize))
            {
                ct.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var logp = data.Logits(task, data.Architecture.Forward(weights, batch)).log_softmax(-1);
                // FusionBench: sqrt(softmax(logits).detach()) * log_softmax(logits); only log p carries gradient.
                var objective = (logp.detach().exp().sqrt() * logp).sum();
                var grads = autograd.grad(new[] { objective }, inputs, allow_unused: true);
                for (int k = 0; k < inputs.Count; k++)
                    if (grads[k] is Tensor gk && !gk.IsInvalid) sums[names[k]].add_(gk.detach().pow(2));
                used += batch.shape[0];
            }
            if (used == 0) throw new FusionException($"Method 'fisher_merging': task '{task}' has no training inputs.");
            foreach (var s in sums.Values) s.div_(used);
            return sums;
        }
        catch
        {
            foreach (var t in sums.Values) t.Dispose();
            throw;
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

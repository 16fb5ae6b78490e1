using Microsoft.Extensions.Logging;
using FusionBench.Core.Models;
using TorchSharp;
using static TorchSharp.torch;

namespace FusionBench.Core.Algorithms.Merging.RegMean;

/// <summary>
/// <c>regmean</c> (Jin et al.): each linear layer merged in closed form, W* = [(Σᵢ G̃ᵢ)⁻¹ Σᵢ G̃ᵢ Wᵢᵀ]ᵀ, where Gᵢ is the Gram
/// matrix of the layer's inputs in model i over training inputs (a mean over all tokens) with its off-diagonal scaled
/// by <c>reduce_non_diagonal_ratio</c>; solved as a linear system in float64 (FusionBench inverts in float32; the two
/// agree to float32 precision). Every other parameter is averaged; parameters matched by
/// <c>exclude_param_names_regex</c> (anchored at the start, as Python's <c>re.match</c>) keep the pretrained values.
/// The Gram matrices come from the training inputs in dataset order, whole batches until
/// <c>num_regmean_examples</c> inputs were used.
/// </summary>
public sealed class RegMeanAlgorithm(RegMeanOptions options, ILogger<RegMeanAlgorithm>? logger = null) : FusionAlgorithm<RegMeanOptions>(options, logger)
{
    /// <inheritdoc />
    public override FusionAlgorithmInfo Info { get; } = new("regmean", "RegMean", FusionCategory.Merging,
        "https://arxiv.org/abs/2212.09849", "Merges each linear layer in closed form from the Gram matrices of its inputs; other parameters are averaged.");

    /// <inheritdoc />
    protected override StateDict FuseCore(IModelPool modelPool, FusionContext context)
    {
        var data = DataDrivenMerging.RequireData(modelPool, Info.Name);
        var architecture = data.Architecture as ILinearInputModel
            ?? throw new FusionException($"Method 'regmean' needs an architecture that reports its linear layers' inputs (ILinearInputModel).");
        var plan = MergePlan.Create(modelPool, Info.Name, requirePretrained: false);
        var excluded = DataDrivenMerging.Exclusions(plan, Options.ExcludeParamNamesRegex, Info.Name);
        var grams = new List<Dictionary<string, Tensor>>();
        try
        {
            for (int i = 0; i < plan.Count; i++)
                grams.Add(Grams(data, architecture, plan.ModelNames[i], plan.Models[i], context.CancellationToken));
            return plan.MergeEachTensor(name =>
            {
                if (excluded(name)) return plan.ReadCompute(plan.Pretrained!, name);
                var ws = plan.Models.Select(m => plan.ReadCompute(m, name)).ToList();
                return grams[0].ContainsKey(name)
                    ? RegMeanKernel.Merge(ws, grams.Select(g => g[name]).ToList(), Options.ReduceNonDiagonalRatio, Options.WeightTranspose)
                    : stack(ws).mean(new long[] { 0 });
            }, context.CancellationToken);
        }
        finally
        {
            foreach (var g in grams)
                foreach (var t in g.Values) t.Dispose();
        }
    }

    internal Dictionary<string, Tensor> Grams(IDataModelPool data, ILinearInputModel architecture, string task, IWeightSource model, CancellationToken ct)
    {
        using var weights = StateDict.CopyFrom(model);
        var sums = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        using var noGrad = no_grad();
        foreach (var batch in DataDrivenMerging.TrainBatches(data, task, Options.NumRegmeanExamples, Options.BatchSize))
        {
            ct.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            architecture.Forward(weights, batch, (name, x) =>
            {
                var flat = x.reshape(-1, x.shape[^1]).to(ScalarType.Float64);
                var gram = flat.t().matmul(flat);
                if (sums.TryGetValue(name, out var s)) s.add_(gram);
                else sums[name] = gram.DetachFromDisposeScope();
                counts[name] = counts.GetValueOrDefault(name) + flat.shape[0];
            });
        }
        foreach (var (name, s) in sums) s.div_(counts[name]); // a mean over every token, as FusionBench accumulates it
        return sums;
    }
}

/// <summary>RegMean's closed form for one linear layer.</summary>
internal static class RegMeanKernel
{
    /// <summary>
    /// W* = [(Σᵢ G̃ᵢ)⁻¹ Σᵢ G̃ᵢ Wᵢᵀ]ᵀ with G̃ = r·G + (1 − r)·Diag(G), for weights in PyTorch layout (out × in) and Gram
    /// matrices (in × in); solved with <c>linalg.solve</c> in float64. With <paramref name="transpose"/> false the weights
    /// are in × out (GPT-2's Conv1D) and W* = (Σᵢ G̃ᵢ)⁻¹ Σᵢ G̃ᵢ Wᵢ.
    /// </summary>
    public static Tensor Merge(IReadOnlyList<Tensor> weights, IReadOnlyList<Tensor> grams, double ratio, bool transpose = true)
    {
        using var scope = NewDisposeScope();
        Tensor? gramSum = null, rhs = null;
        for (int i = 0; i < weights.Count; i++)
        {
            var g = grams[i].to(ScalarType.Float64);
            var shrunk = g * ratio + diag(diag(g)) * (1 - ratio);
            var w = weights[i].to(ScalarType.Float64);
            var term = shrunk.matmul(transpose ? w.t() : w);
            gramSum = gramSum is null ? shrunk : gramSum + shrunk;
            rhs = rhs is null ? term : rhs + term;
        }
        var solution = linalg.solve(gramSum!, rhs!);
        if (transpose) solution = solution.t();
        return solution.to(weights[0].dtype).contiguous().MoveToOuterDisposeScope();
    }
}

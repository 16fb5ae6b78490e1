using Microsoft.Extensions.Logging;
namespace FusionBench.Core.Algorithms.Mixing.ModelRecombination;

/// <summary>
/// <c>model_recombination</c> (FedMR, Hu et al.): for every layer (and every tensor outside the layers) a seeded random
/// permutation π over the N fine-tuned models gives recombined model j that unit from model π(j). Returns recombined
/// model <c>model_index</c>; with the pool's other indices it yields the whole recombined pool.
/// </summary>
public sealed class ModelRecombinationAlgorithm(ModelRecombinationOptions options, ILogger<ModelRecombinationAlgorithm>? logger = null) : FusionAlgorithm<ModelRecombinationOptions>(options, logger)
{
    /// <inheritdoc />
    public override FusionAlgorithmInfo Info { get; } = new("model_recombination", "Model Recombination", FusionCategory.Mixing,
        "https://arxiv.org/abs/2208.07353", "Recombines layers across the fine-tuned models by random permutations.");

    /// <summary>The source model of each unit (a layer index, or a tensor name outside the layers) for recombined model <paramref name="j"/>.</summary>
    internal static Dictionary<string, int> Sources(IReadOnlyList<string> names, int models, long seed, int j)
    {
        var rng = new Random(unchecked((int)(seed ^ (seed >> 32))));
        var units = names.Select(n => LayerNames.Parse(n) is { } p ? $"layer {p.Index}" : n).Distinct().ToList();
        var result = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var unit in units)
        {
            var perm = Enumerable.Range(0, models).ToArray();
            rng.Shuffle(perm);
            result[unit] = perm[j];
        }
        return result;
    }

    /// <inheritdoc />
    protected override StateDict FuseCore(IModelPool modelPool, FusionContext context)
    {
        var plan = MergePlan.Create(modelPool, Info.Name, requirePretrained: false);
        if (Options.ModelIndex < 0 || Options.ModelIndex >= plan.Count)
            throw new FusionParameterException(Info.Name, "model_index", $"Parameter 'model_index' of 'model_recombination' must be 0–{plan.Count - 1}.");
        var sources = Sources(plan.TensorNames, plan.Count, Options.Seed, Options.ModelIndex);
        var output = new StateDict("recombined");
        foreach (var name in plan.TensorNames)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            string unit = LayerNames.Parse(name) is { } p ? $"layer {p.Index}" : name;
            using var t = plan.Models[sources[unit]].Read(name);
            output.Add(name, t.clone());
        }
        context.Details["sources"] = sources.ToDictionary(kv => kv.Key, kv => plan.ModelNames[kv.Value]);
        return output;
    }
}

using Microsoft.Extensions.Logging;
namespace FusionBench.Core.Algorithms.Mixing.ModelRecombination;

/// <summary>
/// <c>model_recombination</c> (FedMR, Hu et al.) as FusionBench runs it: for every unit in order — each state-dict
/// tensor (<c>unit: tensor</c>, FusionBench's path for whole models) or each layer and each tensor outside the layers
/// (<c>unit: layer</c>, its ModuleList path) — Python's <c>random.shuffle</c> permutes the N models, and recombined
/// model j takes that unit from model π(j). Returns recombined model <c>model_index</c>. FusionBench's own state-dict
/// path copies in place from tensors it is overwriting, so its models 1…N−1 can repeat a source; this implementation
/// returns the permutation FusionBench intends (its model 0 is identical).
/// </summary>
public sealed class ModelRecombinationAlgorithm(ModelRecombinationOptions options, ILogger<ModelRecombinationAlgorithm>? logger = null) : FusionAlgorithm<ModelRecombinationOptions>(options, logger)
{
    /// <inheritdoc />
    public override FusionAlgorithmInfo Info { get; } = new("model_recombination", "Model Recombination", FusionCategory.Mixing,
        "https://arxiv.org/abs/2208.07353", "Recombines tensors or layers across the fine-tuned models by random permutations.");

    /// <summary>The unit a tensor belongs to.</summary>
    internal static string UnitOf(string name, RecombinationUnit unit) =>
        unit == RecombinationUnit.Layer && LayerNames.Parse(name) is { } p ? $"layer {p.Index}" : name;

    /// <summary>
    /// Each unit's permutation, in the order of first appearance in <paramref name="names"/>: recombined model j takes the
    /// unit from model <c>perm[j]</c>.
    /// </summary>
    internal static Dictionary<string, int[]> Permutations(IReadOnlyList<string> names, int models, long seed, RecombinationUnit unit)
    {
        var rng = new PythonRandom(seed);
        var result = new Dictionary<string, int[]>(StringComparer.Ordinal);
        foreach (var u in names.Select(n => UnitOf(n, unit)).Distinct())
        {
            var perm = Enumerable.Range(0, models).ToArray();
            rng.Shuffle(perm);
            result[u] = perm;
        }
        return result;
    }

    /// <inheritdoc />
    protected override StateDict FuseCore(IModelPool modelPool, FusionContext context)
    {
        var plan = MergePlan.Create(modelPool, Info.Name, requirePretrained: false);
        if (Options.ModelIndex < 0 || Options.ModelIndex >= plan.Count)
            throw new FusionParameterException(Info.Name, "model_index", $"Parameter 'model_index' of 'model_recombination' must be 0–{plan.Count - 1}.");
        // FusionBench walks the first model's state dict; the pretrained model plays no part.
        var names = plan.Models[0].TensorNames;
        var perms = Permutations(names, plan.Count, Options.Seed, Options.Unit);
        var output = new StateDict("recombined");
        foreach (var name in names)
        {
            context.ThrowIfCancellationRequested();
            using var t = plan.Models[perms[UnitOf(name, Options.Unit)][Options.ModelIndex]].Read(name);
            output.Add(name, t.clone());
        }
        context.Details["sources"] = perms.ToDictionary(kv => kv.Key, kv => plan.ModelNames[kv.Value[Options.ModelIndex]]);
        return output;
    }
}

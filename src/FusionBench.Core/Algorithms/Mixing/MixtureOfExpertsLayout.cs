using static TorchSharp.torch;

namespace FusionBench.Core.Algorithms.Mixing;

/// <summary>
/// Turns each layer's MLP into a mixture of experts: expert e's tensors under <c>mlp.experts.e.</c>, a router
/// <c>mlp.gate.weight</c> [experts, width] and the routing width <c>mlp.num_experts_per_tok</c>; everything else comes
/// from a base model. The MLP is what the architecture names (<see cref="ILayerMlpModel.MlpTensorNames"/>: CLIP's
/// <c>mlp.fc1</c>/<c>mlp.fc2</c>, BERT's <c>intermediate.dense</c>/<c>output.dense</c>); without an architecture,
/// every tensor under <c>….layers.N.mlp.</c>. A leading <c>mlp.</c> is dropped from expert names, so CLIP's
/// <c>mlp.fc1.weight</c> becomes <c>mlp.experts.0.fc1.weight</c> and BERT's <c>intermediate.dense.weight</c> becomes
/// <c>mlp.experts.0.intermediate.dense.weight</c>.
/// </summary>
internal static class MixtureOfExpertsLayout
{
    /// <param name="baseModel">Where attention, norms, embeddings and other non-MLP tensors come from.</param>
    /// <param name="experts">Expert e's MLP tensors come from experts[e].</param>
    /// <param name="expertsPerToken">Routing width (top-k).</param>
    /// <param name="seed">Seed of the router's initialisation, N(0, 0.02²) — initialised, unlike FusionBench's code, which leaves it empty.</param>
    /// <param name="method">For messages.</param>
    /// <param name="ct">Cancellation.</param>
    /// <param name="modelPool">The pool; its architecture, if it has one, says which tensors form a layer's MLP.</param>
    public static StateDict Build(IWeightSource baseModel, IReadOnlyList<IWeightSource> experts, int expertsPerToken, long seed, string method,
        IModelPool modelPool, CancellationToken ct)
    {
        var mlpTails = ((modelPool as IArchitectureModelPool)?.Architecture as ILayerMlpModel)?.MlpTensorNames;
        bool IsMlp(string tail) => mlpTails?.Contains(tail, StringComparer.Ordinal) ?? tail.StartsWith("mlp.", StringComparison.Ordinal);
        var (prefix, count) = LayerNames.Layers(baseModel.TensorNames, method);
        var output = new StateDict("moe");
        using var g = new Generator((ulong)seed);
        var doneLayers = new HashSet<int>();
        foreach (var name in baseModel.TensorNames)
        {
            ct.ThrowIfCancellationRequested();
            var parsed = LayerNames.Parse(name);
            if (parsed is not { } p || !IsMlp(p.Tail))
            {
                using var t = baseModel.Read(name);
                output.Add(name, t.clone());
                continue;
            }
            if (!doneLayers.Add(p.Index)) continue;
            string layer = $"{prefix}{p.Index}.";
            // The architecture's order (input projection first), else the file's.
            var mlpNames = (mlpTails?.Select(t => layer + t) ?? baseModel.TensorNames.Where(n => n.StartsWith(layer + "mlp.", StringComparison.Ordinal))).ToList();
            for (int e = 0; e < experts.Count; e++)
                foreach (var mlpName in mlpNames)
                {
                    if (!experts[e].Contains(mlpName) || !baseModel.Contains(mlpName))
                        throw new FusionException($"Tensor '{mlpName}' is missing from expert model {experts[e].Name}.");
                    using var t = experts[e].Read(mlpName);
                    string tail = mlpName[layer.Length..];
                    output.Add($"{layer}mlp.experts.{e}.{(tail.StartsWith("mlp.", StringComparison.Ordinal) ? tail[4..] : tail)}", t.clone());
                }
            long width = mlpNames.Select(baseModel.GetInfo).First(i => i.Shape.Length == 2).Shape[1];
            output.Add(layer + "mlp.gate.weight", randn(new[] { experts.Count, width }, generator: g).mul_(0.02));
            output.Add(layer + "mlp.num_experts_per_tok", tensor((long)Math.Min(expertsPerToken, experts.Count)));
        }
        if (doneLayers.Count == 0) throw new FusionException($"Method '{method}' found no MLP tensors ('….layers.N.mlp.…' or the architecture's MLP names) to turn into experts.");
        return output;
    }
}

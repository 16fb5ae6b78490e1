using static TorchSharp.torch;

namespace FusionBench.Core.Algorithms.Mixing;

/// <summary>
/// Turns each layer's MLP (every tensor under <c>….layers.N.mlp.</c>) into a mixture of experts: expert e's tensors
/// under <c>mlp.experts.e.</c>, a router <c>mlp.gate.weight</c> [experts, width] and the routing width
/// <c>mlp.num_experts_per_tok</c>; everything else comes from a base model.
/// </summary>
internal static class MixtureOfExpertsLayout
{
    /// <param name="baseModel">Where attention, norms, embeddings and other non-MLP tensors come from.</param>
    /// <param name="experts">Expert e's MLP tensors come from experts[e].</param>
    /// <param name="expertsPerToken">Routing width (top-k).</param>
    /// <param name="seed">Seed of the router's initialisation, N(0, 0.02²) — initialised, unlike FusionBench's code, which leaves it empty.</param>
    /// <param name="method">For messages.</param>
    /// <param name="ct">Cancellation.</param>
    public static StateDict Build(IWeightSource baseModel, IReadOnlyList<IWeightSource> experts, int expertsPerToken, long seed, string method, CancellationToken ct)
    {
        var (prefix, count) = LayerNames.Layers(baseModel.TensorNames, method);
        var output = new StateDict("moe");
        using var g = new Generator((ulong)seed);
        var doneLayers = new HashSet<int>();
        foreach (var name in baseModel.TensorNames)
        {
            ct.ThrowIfCancellationRequested();
            var parsed = LayerNames.Parse(name);
            if (parsed is not { } p || !p.Tail.StartsWith("mlp.", StringComparison.Ordinal))
            {
                using var t = baseModel.Read(name);
                output.Add(name, t.clone());
                continue;
            }
            if (!doneLayers.Add(p.Index)) continue;
            string layer = $"{prefix}{p.Index}.";
            var mlpNames = baseModel.TensorNames.Where(n => n.StartsWith(layer + "mlp.", StringComparison.Ordinal)).ToList();
            for (int e = 0; e < experts.Count; e++)
                foreach (var mlpName in mlpNames)
                {
                    if (!experts[e].Contains(mlpName))
                        throw new FusionException($"Tensor '{mlpName}' is missing from expert model {experts[e].Name}.");
                    using var t = experts[e].Read(mlpName);
                    output.Add($"{layer}mlp.experts.{e}.{mlpName[(layer.Length + 4)..]}", t.clone());
                }
            long width = mlpNames.Select(baseModel.GetInfo).First(i => i.Shape.Length == 2).Shape[1];
            output.Add(layer + "mlp.gate.weight", randn(new[] { experts.Count, width }, generator: g).mul_(0.02));
            output.Add(layer + "mlp.num_experts_per_tok", tensor((long)Math.Min(expertsPerToken, experts.Count)));
        }
        if (doneLayers.Count == 0) throw new FusionException($"Method '{method}' found no MLP tensors ('….layers.N.mlp.…') to turn into experts.");
        return output;
    }
}

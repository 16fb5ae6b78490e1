using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FusionBench.Core.Models;

/// <summary>The sparse mixture-of-experts routing the architectures share (the layout <c>moe_upscaling</c> and <c>moe_merging</c> write).</summary>
internal static class MixtureRouting
{
    /// <summary>
    /// Mixtral's routing of router logits [..., E]: the softmax over the experts, its top <paramref name="k"/> kept and
    /// renormalised to sum to 1 (the softmax of the k largest logits), zero for the other experts.
    /// </summary>
    public static Tensor TopK(Tensor logits, long k)
    {
        var (top, idx) = logits.topk((int)k, dim: -1);
        return zeros_like(logits).scatter(-1, idx, F.softmax(top, -1));
    }

    /// <summary>
    /// A sparse MoE block on <paramref name="x"/>: router logits from <c>{prefix}gate.weight</c>, the top
    /// <c>{prefix}num_experts_per_tok</c> experts per token (2 when absent), and the routing-weighted sum of
    /// <paramref name="expert"/>(e) over the experts. Every expert is computed densely, which is cheapest at these sizes.
    /// </summary>
    public static Tensor Mix(IReadOnlyDictionary<string, Tensor> w, string prefix, Tensor x, Func<long, Tensor> expert)
    {
        var gate = w[prefix + "gate.weight"];
        long experts = gate.shape[0];
        long k = w.TryGetValue(prefix + "num_experts_per_tok", out var kt) ? kt.ToInt64() : 2;
        var routing = TopK(F.linear(x, gate), Math.Clamp(k, 1, experts));       // [N, T, E]
        Tensor? y = null;
        for (long e = 0; e < experts; e++)
        {
            var out_e = expert(e) * routing.narrow(-1, e, 1);
            y = y is null ? out_e : y + out_e;
        }
        return y!;
    }
}

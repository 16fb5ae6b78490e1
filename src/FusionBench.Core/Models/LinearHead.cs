using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FusionBench.Core.Models;

/// <summary>A task's classification head on pooled features: logits = features · Wᵀ + b, stored as <c>weight</c> and <c>bias</c>.</summary>
public static class LinearHead
{
    /// <summary>The logits of a head for features [N, D].</summary>
    public static Tensor Logits(IReadOnlyDictionary<string, Tensor> head, Tensor features) =>
        F.linear(features, head["weight"], head.TryGetValue("bias", out var b) ? b : null);
}

using FusionBench.Core.Models;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FusionBench.Suites.Text;

/// <summary>
/// The text suite's task heads, fixed and zero-shot like CLIP's text heads: class c's row is
/// <see cref="Scale"/> · normalise(encoder(label sentence c)), computed once with the pretrained encoder and never
/// trained; a task's logits are normalise(features) · headᵀ, a scaled cosine similarity.
/// </summary>
public static class TextPromptHeads
{
    /// <summary>The logit scale (the feasibility study's 20, in the role of CLIP's learned temperature).</summary>
    public const double Scale = 20;

    /// <summary>The head [C, D] for a task's label sentences.</summary>
    public static Tensor Build(BertModel model, IReadOnlyDictionary<string, Tensor> weights, BertTextEncoder encoder, IReadOnlyList<string> prompts)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        using var ids = encoder.EncodeBatch(prompts);
        var head = F.normalize(model.Forward(weights, ids), p: 2, dim: -1) * Scale;
        return head.MoveToOuterDisposeScope();
    }

    /// <summary>A task's logits [B, C] for sentence features [B, D].</summary>
    public static Tensor Logits(Tensor head, Tensor features) => F.normalize(features, p: 2, dim: -1).matmul(head.t());
}

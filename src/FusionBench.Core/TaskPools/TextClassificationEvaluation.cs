using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FusionBench.Core.TaskPools;

/// <summary>Accuracy and mean cross-entropy of a text classifier on tokenised texts (the text suite's and the user's data).</summary>
public static class TextClassificationEvaluation
{
    /// <summary>
    /// Runs <paramref name="logits"/> over <paramref name="ids"/> [N, T] without gradients, in batches of texts of similar
    /// length, each cut to its longest text (padding is masked anyway, so this only saves work).
    /// </summary>
    /// <param name="logits">The classifier: ids [B, T] → logits [B, C].</param>
    /// <param name="ids">Token ids [N, T], padded with <paramref name="padTokenId"/>.</param>
    /// <param name="labels">Class ids [N].</param>
    /// <param name="padTokenId">The padding token.</param>
    /// <param name="batchSize">Texts per forward.</param>
    public static TaskMetrics Evaluate(Func<Tensor, Tensor> logits, Tensor ids, Tensor labels, int padTokenId, int batchSize = 64)
    {
        using var noGrad = no_grad();
        using var lengthsTensor = ids.ne(padTokenId).sum(dim: 1);
        var lengths = lengthsTensor.data<long>().ToArray();
        var order = Enumerable.Range(0, lengths.Length).OrderBy(i => lengths[i]).ToArray();
        long correct = 0;
        double lossSum = 0;
        for (int start = 0; start < order.Length; start += batchSize)
        {
            using var scope = NewDisposeScope();
            var rows = order.Skip(start).Take(batchSize).ToArray();
            using var index = tensor(rows.Select(r => (long)r).ToArray());
            long longest = rows.Max(r => lengths[r]);
            var batch = ids.index_select(0, index).narrow(1, 0, longest);
            var y = labels.index_select(0, index);
            var z = logits(batch);
            correct += z.argmax(1).eq(y).sum().ToInt64();
            lossSum += F.cross_entropy(z, y, reduction: nn.Reduction.Sum).ToDouble();
        }
        return order.Length == 0 ? new TaskMetrics(0, 0) : new TaskMetrics((double)correct / order.Length, lossSum / order.Length);
    }
}

using static TorchSharp.torch;

namespace FusionBench.Core.Algorithms;

/// <summary>
/// Batches of indices into <c>n</c> examples the way a shuffled PyTorch <c>DataLoader</c> that is restarted when
/// exhausted yields them (FusionBench's test-time adaptation loaders): each epoch is a fresh permutation, cut into
/// batches of <c>batchSize</c>, the last one shorter when <c>n</c> is not a multiple.
/// </summary>
/// <param name="n">The number of examples.</param>
/// <param name="batchSize">Examples per batch.</param>
/// <param name="generator">The seeded generator the permutations are drawn from.</param>
public sealed class ShuffledBatches(long n, int batchSize, Generator generator)
{
    private long[] _order = Array.Empty<long>();
    private long _position;

    /// <summary>The next batch's indices (a new int64 tensor).</summary>
    public Tensor Next()
    {
        if (n <= 0) throw new InvalidOperationException("No examples to draw batches from.");
        if (_position >= _order.Length)
        {
            using var perm = randperm(n, generator: generator);
            _order = perm.data<long>().ToArray();
            _position = 0;
        }
        long take = Math.Min(batchSize, _order.Length - _position);
        var batch = tensor(_order.AsSpan((int)_position, (int)take).ToArray());
        _position += take;
        return batch;
    }
}

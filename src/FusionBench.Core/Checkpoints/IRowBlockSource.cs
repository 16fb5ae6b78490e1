using TorchSharp;

namespace FusionBench.Core.Checkpoints;

/// <summary>
/// A weight source that can hand a tensor to a writer as consecutive row blocks rather than whole — a streamed merge,
/// whose largest tensor (a 150k-token embedding) is then never assembled in memory.
/// </summary>
internal interface IRowBlockSource
{
    /// <summary>
    /// Calls <paramref name="write"/> with flat, contiguous CPU blocks of the tensor in its dtype, in order, which
    /// together are the whole tensor. A block is valid only during the call (its memory is reused).
    /// </summary>
    void ReadInBlocks(string tensorName, Action<torch.Tensor> write);
}

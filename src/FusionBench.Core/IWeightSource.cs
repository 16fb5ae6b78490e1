using TorchSharp;

namespace FusionBench.Core;

/// <summary>
/// Read access to a model's weights, one tensor at a time: a checkpoint on disk or a <see cref="StateDict"/> in memory.
/// </summary>
/// <remarks>
/// Sources are read lazily: opening one reads only its header, and <see cref="Read"/> loads a single tensor, so a
/// merge holds one tensor group of every model instead of every model whole.
/// </remarks>
public interface IWeightSource : IDisposable
{
    /// <summary>A human-readable name for messages: the file path or the model's name.</summary>
    string Name { get; }

    /// <summary>The tensor names in the source's order.</summary>
    IReadOnlyList<string> TensorNames { get; }

    /// <summary>Whether the source holds a tensor of that name.</summary>
    bool Contains(string tensorName);

    /// <summary>The dtype and shape of a tensor, without reading its data.</summary>
    /// <exception cref="KeyNotFoundException">No tensor has that name.</exception>
    TensorInfo GetInfo(string tensorName);

    /// <summary>
    /// Reads one tensor. The caller owns (and must dispose) the returned tensor. For in-memory sources it may share
    /// storage with the source, so treat it as read-only.
    /// </summary>
    /// <exception cref="KeyNotFoundException">No tensor has that name.</exception>
    torch.Tensor Read(string tensorName);

    /// <summary>
    /// Reads rows <paramref name="start"/> … <paramref name="start"/> + <paramref name="count"/> − 1 of a tensor (along its
    /// first dimension); the caller owns the result. The default reads the whole tensor and copies the rows; a file
    /// source reads only their bytes, so a merge can work on row blocks of a large tensor (an embedding of 150k rows)
    /// without holding it whole.
    /// </summary>
    torch.Tensor ReadRows(string tensorName, long start, long count)
    {
        using var whole = Read(tensorName);
        return whole.narrow(0, start, count).clone();
    }

    /// <summary>
    /// Reads rows <paramref name="start"/> … <paramref name="start"/> + <paramref name="count"/> − 1 of a tensor into
    /// <paramref name="destination"/>: a contiguous 1-D tensor of the stored dtype with exactly those rows' elements. A
    /// merge reuses one such buffer per model across blocks and tensors, so large tensors cost no fresh memory (and page
    /// faults) per block. The default reads with <see cref="ReadRows"/> and copies; a file source reads straight into it.
    /// </summary>
    void ReadRowsInto(string tensorName, long start, long count, torch.Tensor destination)
    {
        using var rows = ReadRows(tensorName, start, count);
        destination.copy_(rows.reshape(-1));
    }
}

/// <summary>The dtype and shape of a stored tensor.</summary>
/// <param name="DType">The element type.</param>
/// <param name="Shape">The dimensions; empty for a scalar.</param>
public sealed record TensorInfo(torch.ScalarType DType, long[] Shape)
{
    /// <summary>The number of elements.</summary>
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);

    /// <summary>The tensor's size in bytes (elements × the dtype's width).</summary>
    /// <exception cref="NotSupportedException">A dtype checkpoints cannot hold.</exception>
    public long ByteCount => ElementCount * Checkpoints.SafeTensorsDType.SizeOf(DType);

    /// <summary>Whether the dtype is a floating-point type that merging operates on.</summary>
    public bool IsFloatingPoint => torch.is_floating_point(DType);

    /// <summary>Shape as <c>[a, b, c]</c>.</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";

    /// <inheritdoc />
    public bool Equals(TensorInfo? other) => other is not null && DType == other.DType && Shape.AsSpan().SequenceEqual(other.Shape);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(DType, Shape.Length);
}

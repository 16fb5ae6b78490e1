using System.Runtime.InteropServices;
using TorchSharp;

namespace FusionBench.Core.Internal;

/// <summary>Raw access to a contiguous CPU tensor's bytes, so checkpoints stream straight into and out of tensor memory.</summary>
internal static class NativeTensorMemory
{
    // Why a private P/Invoke: TorchSharp's public API has no raw data pointer. Tensor.bytes exposes the same memory but as
    // a Span<byte>, which cannot exceed 2^31 - 1 bytes, and checkpoints hold larger tensors (a 256k x 8192 bf16 embedding
    // is 4 GB) that must stream between the file and tensor memory without a managed copy; data<T>() is an element
    // accessor, far too slow for that. This export of TorchSharp's own native shim is what Tensor.bytes calls inside.
    [DllImport("LibTorchSharp")]
    private static extern IntPtr THSTensor_data(IntPtr handle);

    /// <summary>The address of the first byte of a contiguous CPU tensor.</summary>
    public static IntPtr DataPointer(torch.Tensor tensor)
    {
        if (tensor.device_type != DeviceType.CPU) throw new ArgumentException("Tensor must be on the CPU.", nameof(tensor));
        if (!tensor.is_contiguous()) throw new ArgumentException("Tensor must be contiguous.", nameof(tensor));
        return THSTensor_data(tensor.Handle);
    }

    /// <summary>Fills a contiguous CPU tensor with bytes read from <paramref name="file"/> at <paramref name="fileOffset"/>.</summary>
    /// <returns>The number of bytes read; less than asked only at end of file.</returns>
    public static unsafe long ReadInto(Microsoft.Win32.SafeHandles.SafeFileHandle file, long fileOffset, torch.Tensor tensor, long byteCount)
    {
        if (byteCount == 0) return 0;
        byte* p = (byte*)DataPointer(tensor);
        long done = 0;
        while (done < byteCount)
        {
            int chunk = (int)Math.Min(byteCount - done, 1 << 30);
            int n = RandomAccess.Read(file, new Span<byte>(p + done, chunk), fileOffset + done);
            if (n == 0) break;
            done += n;
        }
        return done;
    }

    /// <summary>Writes a contiguous CPU tensor's bytes to <paramref name="file"/> at <paramref name="fileOffset"/>.</summary>
    public static unsafe void WriteFrom(Microsoft.Win32.SafeHandles.SafeFileHandle file, long fileOffset, torch.Tensor tensor, long byteCount)
    {
        byte* p = (byte*)DataPointer(tensor);
        long done = 0;
        while (done < byteCount)
        {
            int chunk = (int)Math.Min(byteCount - done, 1 << 30);
            RandomAccess.Write(file, new ReadOnlySpan<byte>(p + done, chunk), fileOffset + done);
            done += chunk;
        }
    }
}

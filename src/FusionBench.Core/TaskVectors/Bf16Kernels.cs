using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using FusionBench.Core.Internal;
using static TorchSharp.torch;

namespace FusionBench.Core.TaskVectors;

/// <summary>
/// Task arithmetic straight on bfloat16 storage: each element widened to float32 (bf16 is float32's top half), the same
/// float32 operations in the same order as <see cref="TaskVectorKernels.TaskArithmetic"/> (τ₁ + τ₂ + … with τᵢ = θᵢ − θ₀,
/// times λ, plus θ₀; no fused multiply-add), and rounded back to nearest-even bf16 as PyTorch's conversion does. So the
/// result is bit for bit the float32 merge cast to bf16, without the float32 copies of N + 1 models: one pass over the
/// inputs, split across the cores.
/// </summary>
internal static class Bf16Kernels
{
    private const int Chunk = 1 << 16;

    /// <summary>output = bf16(θ₀ + λ·Σᵢ(θᵢ − θ₀)) for 1-D-contiguous bf16 tensors of equal length.</summary>
    public static unsafe void TaskArithmetic(Tensor output, Tensor pre, IReadOnlyList<Tensor> models, double scalingFactor)
    {
        long n = output.numel();
        var o = (ushort*)NativeTensorMemory.DataPointer(output);
        var p = (ushort*)NativeTensorMemory.DataPointer(pre);
        var m = models.Select(t => (IntPtr)NativeTensorMemory.DataPointer(t)).ToArray();
        float lambda = (float)scalingFactor;
        long chunks = (n + Chunk - 1) / Chunk;
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, c =>
        {
            long start = c * Chunk, len = Math.Min(Chunk, n - start);
            Span(o + start, p + start, m, start, len, lambda);
        });
    }

    private static unsafe void Span(ushort* o, ushort* p, IntPtr[] models, long offset, long len, float lambda)
    {
        long i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var lam = Vector256.Create(lambda);
            for (; i + 16 <= len; i += 16)
            {
                var (p0, p1) = Widen(Vector256.Load(p + i));
                Vector256<float> a0 = default, a1 = default;
                for (int k = 0; k < models.Length; k++)
                {
                    var (m0, m1) = Widen(Vector256.Load((ushort*)models[k] + offset + i));
                    if (k == 0)
                    {
                        a0 = m0 - p0;
                        a1 = m1 - p1;
                    }
                    else
                    {
                        a0 += m0 - p0;
                        a1 += m1 - p1;
                    }
                }
                if (models.Length == 0)
                {
                    a0 = Vector256<float>.Zero;
                    a1 = Vector256<float>.Zero;
                }
                a0 = a0 * lam + p0;
                a1 = a1 * lam + p1;
                Vector256.Narrow(Round(a0), Round(a1)).Store(o + i);
            }
        }
        for (; i < len; i++)
        {
            float pv = ToFloat(p[i]);
            float acc = 0;
            for (int k = 0; k < models.Length; k++)
            {
                float d = ToFloat(((ushort*)models[k])[offset + i]) - pv;
                acc = k == 0 ? d : acc + d;
            }
            o[i] = ToBf16(acc * lambda + pv);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<float>, Vector256<float>) Widen(Vector256<ushort> v)
    {
        var (lo, hi) = Vector256.Widen(v);
        return (Vector256.ShiftLeft(lo, 16).AsSingle(), Vector256.ShiftLeft(hi, 16).AsSingle());
    }

    /// <summary>Round to nearest even into the low 16 bits; NaN becomes 0x7FC0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Round(Vector256<float> v)
    {
        var bits = v.AsUInt32();
        var bias = ((bits >> 16) & Vector256.Create(1u)) + Vector256.Create(0x7FFFu);
        var rounded = (bits + bias) >> 16;
        var isNumber = Vector256.Equals(v, v).AsUInt32();
        return Vector256.ConditionalSelect(isNumber, rounded, Vector256.Create(0x7FC0u));
    }

    private static float ToFloat(ushort b) => BitConverter.UInt32BitsToSingle((uint)b << 16);

    private static ushort ToBf16(float f)
    {
        if (float.IsNaN(f)) return 0x7FC0;
        uint u = BitConverter.SingleToUInt32Bits(f);
        return (ushort)((u + ((u >> 16) & 1) + 0x7FFF) >> 16);
    }
}

using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using FusionBench.Core.Internal;
using static TorchSharp.torch;

namespace FusionBench.Core.TaskVectors;

/// <summary>
/// TIES-Merging's passes fused into single loops over the stored bits (bfloat16, float16 or float32) of one row block
/// of the pretrained model and of each fine-tuned model. Every element is widened to float32 and goes through the same
/// float32 operations, in the same order, as the tensor kernels of <see cref="TaskVectorKernels"/> (τᵢ = θᵢ − θ₀; trim
/// <c>|τᵢ| &lt; thrᵢ → 0</c>; sign of Στᵢ; keep the agreeing entries; sum, mean or max; × λ + θ₀), then is rounded
/// back to the stored dtype as PyTorch's conversion does — so the result is bit for bit the float32 merge, with no
/// [N, n] task-vector matrix, no mask tensors and no temporaries per block. The loops are split across the cores.
/// </summary>
internal static unsafe class TiesKernels
{
    private const int Chunk = 1 << 15;

    /// <summary>Whether the kernels read and write this dtype.</summary>
    public static bool Supports(ScalarType dtype) => dtype is ScalarType.BFloat16 or ScalarType.Float16 or ScalarType.Float32;

    /// <summary>
    /// Adds the high 16 bits of each model's magnitudes |θᵢ − θ₀| (as float32) to <paramref name="high"/>[i], a histogram
    /// of <see cref="HistogramLength"/> counts (<see cref="Fold"/> gives the 2¹⁶ buckets).
    /// </summary>
    public static void AddHighHistograms(Tensor pre, IReadOnlyList<Tensor> models, long[][] high) =>
        PerModel(pre, models, (p, m, n, i) => Histogram(pre.dtype, p, m, n, high[i], bucket: -1));

    /// <summary>Adds the low 16 bits of each model's magnitudes whose high bits are <paramref name="buckets"/>[i] to <paramref name="low"/>[i].</summary>
    public static void AddLowHistograms(Tensor pre, IReadOnlyList<Tensor> models, int[] buckets, long[][] low) =>
        PerModel(pre, models, (p, m, n, i) => Histogram(pre.dtype, p, m, n, low[i], buckets[i]));

    /// <summary>
    /// The sum of the elected signs (−1, 0, 1) of the trimmed task vectors over the block; <paramref name="thresholds"/>
    /// holds per model the smallest magnitude kept (−∞ keeps everything).
    /// </summary>
    public static long ElectedSignSum(Tensor pre, IReadOnlyList<Tensor> models, float[] thresholds)
    {
        long total = 0;
        var op = new Op(pre, models, thresholds, 0, MergeFunction.Sum, 0);
        Chunks(pre.numel(), (start, len) => Interlocked.Add(ref total, op.SignSum(start, len)));
        return total;
    }

    /// <summary>
    /// output = θ₀ + λ · disjoint-merge(trimmed τ, elected sign), an elected sign of 0 taking <paramref name="majority"/>
    /// (the sign of the model-wide sum of elected signs, FusionBench's fill).
    /// </summary>
    public static void Merge(Tensor output, Tensor pre, IReadOnlyList<Tensor> models, float[] thresholds, int majority, MergeFunction mergeFunction, double scalingFactor)
    {
        if (output.dtype != pre.dtype) throw new ArgumentException("The output must have the inputs' dtype.", nameof(output));
        var op = new Op(pre, models, thresholds, majority, mergeFunction, (float)scalingFactor) { Output = (byte*)NativeTensorMemory.DataPointer(output) };
        Chunks(pre.numel(), op.Merge);
    }

    /// <summary>Runs <paramref name="body"/>(start, length) over chunks of [0, n) on every core.</summary>
    internal static void Chunks(long n, Action<long, long> body)
    {
        long chunks = (n + Chunk - 1) / Chunk;
        if (chunks <= 1)
        {
            body(0, n);
            return;
        }
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount },
            c => body(c * Chunk, Math.Min(Chunk, n - c * Chunk)));
    }

    private delegate void ModelLoop(IntPtr pre, IntPtr model, long n, int index);

    /// <summary>One loop per model, the models on the cores in parallel (each model has its own histogram).</summary>
    private static void PerModel(Tensor pre, IReadOnlyList<Tensor> models, ModelLoop body)
    {
        var p = NativeTensorMemory.DataPointer(pre);
        var m = models.Select(NativeTensorMemory.DataPointer).ToArray();
        long n = pre.numel();
        if (m.Length == 1) body(p, m[0], n, 0);
        else Parallel.For(0, m.Length, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, i => body(p, m[i], n, i));
    }

    private static void Histogram(ScalarType dtype, IntPtr pre, IntPtr model, long n, long[] counts, int bucket)
    {
        switch (dtype)
        {
            case ScalarType.BFloat16: Histogram<Bf16>((byte*)pre, (byte*)model, n, counts, bucket); break;
            case ScalarType.Float16: Histogram<F16>((byte*)pre, (byte*)model, n, counts, bucket); break;
            case ScalarType.Float32: Histogram<F32>((byte*)pre, (byte*)model, n, counts, bucket); break;
            default: throw new NotSupportedException($"TIES kernels do not read {dtype}.");
        }
    }

    /// <summary>
    /// bucket −1: count the high 16 bits; else count the low 16 bits of the magnitudes in that high bucket. Eight
    /// magnitudes are formed at once; consecutive ones count into the four interleaved copies of the histogram, because
    /// task-vector magnitudes crowd into a few buckets and one copy would make every increment wait for the last.
    /// </summary>
    private static void Histogram<T>(byte* pre, byte* model, long n, long[] counts, int bucket) where T : struct, IStoredFloat
    {
        if (counts.Length != HistogramLength) throw new ArgumentException($"A histogram has {HistogramLength} counts (four copies; see Fold).", nameof(counts));
        const int Copy = 1 << 16;
        uint* mags = stackalloc uint[8];
        fixed (long* c = counts)
        {
            long j = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var mask = Vector256.Create(0x7FFF_FFFFu);
                var target = Vector256.Create((uint)bucket);
                for (; j + 8 <= n; j += 8)
                {
                    var mag = (T.Load8(model, j) - T.Load8(pre, j)).AsUInt32() & mask;
                    if (bucket < 0)
                    {
                        (mag >> 16).Store(mags);
                        c[mags[0]]++;
                        c[Copy + mags[1]]++;
                        c[2 * Copy + mags[2]]++;
                        c[3 * Copy + mags[3]]++;
                        c[mags[4]]++;
                        c[Copy + mags[5]]++;
                        c[2 * Copy + mags[6]]++;
                        c[3 * Copy + mags[7]]++;
                        continue;
                    }
                    if (Vector256.EqualsAny(mag >> 16, target))
                    {
                        mag.Store(mags);
                        for (int k = 0; k < 8; k++)
                            if ((mags[k] >> 16) == (uint)bucket) c[(k & 3) * Copy + (mags[k] & 0xFFFF)]++;
                    }
                }
            }
            for (; j < n; j++)
            {
                uint bits = Magnitude<T>(pre, model, j);
                if (bucket < 0) c[bits >> 16]++;
                else if ((bits >> 16) == (uint)bucket) c[bits & 0xFFFF]++;
            }
        }
    }

    /// <summary>The length of the histograms the kernels count into: four interleaved copies of 2¹⁶ counts.</summary>
    public const int HistogramLength = 4 << 16;

    /// <summary>The 2¹⁶ counts of a histogram of <see cref="HistogramLength"/>: its four copies added.</summary>
    public static long[] Fold(long[] counts)
    {
        var folded = new long[1 << 16];
        for (int b = 0; b < folded.Length; b++) folded[b] = counts[b] + counts[(1 << 16) + b] + counts[(2 << 16) + b] + counts[(3 << 16) + b];
        return folded;
    }

    /// <summary>The bits of |θᵢ − θ₀| in float32 (abs clears the sign bit, as torch's abs does, NaN included).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Magnitude<T>(byte* pre, byte* model, long j) where T : struct, IStoredFloat =>
        BitConverter.SingleToUInt32Bits(T.Load(model, j) - T.Load(pre, j)) & 0x7FFF_FFFFu;

    /// <summary>The per-element work of the sign and merge passes over one block, dispatched once on the dtype.</summary>
    private sealed class Op(Tensor pre, IReadOnlyList<Tensor> models, float[] thresholds, int majority, MergeFunction mergeFunction, float lambda)
    {
        private readonly ScalarType _dtype = pre.dtype;
        private readonly byte* _pre = (byte*)NativeTensorMemory.DataPointer(pre);
        private readonly IntPtr[] _models = models.Select(NativeTensorMemory.DataPointer).ToArray();

        public byte* Output { get; init; }

        public long SignSum(long start, long len) => _dtype switch
        {
            ScalarType.BFloat16 => Run<Bf16>(start, len, merge: false),
            ScalarType.Float16 => Run<F16>(start, len, merge: false),
            ScalarType.Float32 => Run<F32>(start, len, merge: false),
            _ => throw new NotSupportedException($"TIES kernels do not read {_dtype}."),
        };

        public void Merge(long start, long len) => _ = _dtype switch
        {
            ScalarType.BFloat16 => Run<Bf16>(start, len, merge: true),
            ScalarType.Float16 => Run<F16>(start, len, merge: true),
            ScalarType.Float32 => Run<F32>(start, len, merge: true),
            _ => throw new NotSupportedException($"TIES kernels do not read {_dtype}."),
        };

        private long Run<T>(long start, long len, bool merge) where T : struct, IStoredFloat
        {
            int n = _models.Length;
            byte** m = stackalloc byte*[n];
            for (int i = 0; i < n; i++) m[i] = (byte*)_models[i];
            long end = start + len, j = start, signs = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var tv = stackalloc Vector256<float>[n];
                var thr = stackalloc Vector256<float>[n];
                for (int i = 0; i < n; i++) thr[i] = Vector256.Create(thresholds[i]);
                var zero = Vector256<float>.Zero;
                var one = Vector256.Create(1f);
                var fill = Vector256.Create((float)majority);
                var lam = Vector256.Create(lambda);
                for (; j + 8 <= end; j += 8)
                {
                    var pv = T.Load8(_pre, j);
                    var sum = zero;
                    for (int i = 0; i < n; i++)
                    {
                        var t = T.Load8(m[i], j) - pv;
                        t = Vector256.ConditionalSelect(Vector256.LessThan(Vector256.Abs(t), thr[i]), zero, t);
                        tv[i] = t;
                        sum += t;
                    }
                    var pos = Vector256.GreaterThan(sum, zero);
                    var neg = Vector256.LessThan(sum, zero);
                    if (!merge)
                    {
                        signs += BitOperations.PopCount(pos.ExtractMostSignificantBits()) - BitOperations.PopCount(neg.ExtractMostSignificantBits());
                        continue;
                    }
                    var sign = Vector256.ConditionalSelect(pos, one, Vector256.ConditionalSelect(neg, -one, fill));
                    var up = Vector256.GreaterThan(sign, zero);
                    Vector256<float> acc = zero, count = zero, max = zero;
                    for (int i = 0; i < n; i++)
                    {
                        var t = tv[i];
                        var keep = Vector256.ConditionalSelect(up, Vector256.GreaterThan(t, zero), Vector256.LessThan(t, zero));
                        var sel = t * (keep & one);
                        acc += sel;
                        count += ~Vector256.Equals(sel, zero) & one;
                        var a = Vector256.Abs(sel);
                        max = Vector256.ConditionalSelect(Vector256.GreaterThan(a, max) | ~Vector256.Equals(a, a), a, max); // NaN propagates, as amax
                    }
                    var merged = mergeFunction switch
                    {
                        MergeFunction.Sum => acc,
                        MergeFunction.Mean => acc / Vector256.Max(count, one),
                        _ => max * sign,
                    };
                    T.Store8(Output, j, merged * lam + pv);
                }
            }
            float* tvs = stackalloc float[n];
            for (; j < end; j++)
            {
                float pv = T.Load(_pre, j);
                float sum = 0f;
                for (int i = 0; i < n; i++)
                {
                    float t = T.Load(m[i], j) - pv;
                    if (MathF.Abs(t) < thresholds[i]) t = 0f; // masked_fill_(|τ| < thr, 0)
                    tvs[i] = t;
                    sum += t;
                }
                // torch's sign: (0 < x) − (x < 0), so NaN and ±0 give 0.
                float sign = sum > 0f ? 1f : sum < 0f ? -1f : 0f;
                if (!merge)
                {
                    signs += (long)sign;
                    continue;
                }
                if (sign == 0f) sign = majority;
                float acc = 0f, max = 0f;
                int count = 0;
                for (int i = 0; i < n; i++)
                {
                    // where(sign > 0, τ > 0, τ < 0) as a 0/1 factor: a dropped entry is τ·0 (a signed zero), as in torch.
                    float t = tvs[i];
                    float sel = t * ((sign > 0f ? t > 0f : t < 0f) ? 1f : 0f);
                    acc += sel;
                    if (sel != 0f) count++;
                    max = MathF.Max(max, MathF.Abs(sel));
                }
                float merged = mergeFunction switch
                {
                    MergeFunction.Sum => acc,
                    MergeFunction.Mean => acc / Math.Max(count, 1),
                    _ => max * sign,
                };
                T.Store(Output, j, merged * lambda + pv);
            }
            return signs;
        }
    }

    /// <summary>A floating-point storage type read as float32 and written back with round-to-nearest-even.</summary>
    internal interface IStoredFloat
    {
        static abstract float Load(byte* data, long index);
        static abstract void Store(byte* data, long index, float value);
        static abstract Vector256<float> Load8(byte* data, long index);
        static abstract void Store8(byte* data, long index, Vector256<float> value);
    }

    internal readonly struct Bf16 : IStoredFloat
    {
        public static float Load(byte* data, long index) => BitConverter.UInt32BitsToSingle((uint)((ushort*)data)[index] << 16);

        public static void Store(byte* data, long index, float value)
        {
            uint u = BitConverter.SingleToUInt32Bits(value);
            ((ushort*)data)[index] = float.IsNaN(value) ? (ushort)0x7FC0 : (ushort)((u + ((u >> 16) & 1) + 0x7FFF) >> 16);
        }

        public static Vector256<float> Load8(byte* data, long index)
        {
            var (lo, hi) = Vector128.Widen(Vector128.Load((ushort*)data + index));
            return Vector256.ShiftLeft(Vector256.Create(lo, hi), 16).AsSingle();
        }

        public static void Store8(byte* data, long index, Vector256<float> value)
        {
            var bits = value.AsUInt32();
            var rounded = (bits + ((bits >> 16) & Vector256.Create(1u)) + Vector256.Create(0x7FFFu)) >> 16;
            var result = Vector256.ConditionalSelect(Vector256.Equals(value, value).AsUInt32(), rounded, Vector256.Create(0x7FC0u));
            Vector128.Narrow(result.GetLower(), result.GetUpper()).Store((ushort*)data + index);
        }
    }

    internal readonly struct F16 : IStoredFloat
    {
        public static float Load(byte* data, long index) => (float)((Half*)data)[index];
        public static void Store(byte* data, long index, float value) => ((Half*)data)[index] = (Half)value;

        public static Vector256<float> Load8(byte* data, long index)
        {
            var h = (Half*)data + index;
            return Vector256.Create((float)h[0], (float)h[1], (float)h[2], (float)h[3], (float)h[4], (float)h[5], (float)h[6], (float)h[7]);
        }

        public static void Store8(byte* data, long index, Vector256<float> value)
        {
            for (int k = 0; k < 8; k++) Store(data, index + k, value.GetElement(k));
        }
    }

    internal readonly struct F32 : IStoredFloat
    {
        public static float Load(byte* data, long index) => ((float*)data)[index];
        public static void Store(byte* data, long index, float value) => ((float*)data)[index] = value;
        public static Vector256<float> Load8(byte* data, long index) => Vector256.Load((float*)data + index);
        public static void Store8(byte* data, long index, Vector256<float> value) => value.Store((float*)data + index);
    }
}

using System.Numerics;
using System.Runtime.Intrinsics;
using FusionBench.Core.Internal;
using static TorchSharp.torch;

namespace FusionBench.Core.TaskVectors;

/// <summary>
/// The second pass of a streamed TIES with the sign pass folded into it. Once the first pass has found each model's
/// high-bit bucket of rank k, an entry's trimmed value is known for every model except those whose magnitude lies in
/// that bucket ("ambiguous": kept or dropped depending on where in the bucket the threshold falls). So while the pass
/// counts those magnitudes' low bits, it also sums the elected signs that do not depend on the threshold and keeps what
/// resolves the rest once it is known: for entries with one ambiguous model, the change of sign that keeping it makes,
/// counted at its low bits (kept ⇔ low bits ≥ the threshold's); entries with two or more are split by Möbius inversion
/// into such single-model changes plus the interactions that remain, recorded with their models' low bits. The
/// model-wide majority sign then needs no pass of its own, and is exactly what the separate sign pass gives.
/// </summary>
internal sealed unsafe class TiesSignTally
{
    /// <summary>Numbers kept for the interactions of entries with several ambiguous models (32 MB) before the tally gives up (the caller then runs the sign pass).</summary>
    public const int MaxRecords = 1 << 23;

    private readonly uint[] _buckets;
    private readonly long[][] _low;
    private readonly long[][] _delta;
    // Per interaction: μ·256 + |S|, then model·2¹⁶ + low bits per model of S; in chunks of 2¹⁶ numbers, so the store
    // grows by what it holds (a doubling list would hold up to twice that).
    private readonly List<int[]> _chunks = new();
    private long _recorded;
    private long _base;

    /// <summary>A tally for the models whose buckets of rank k are <paramref name="buckets"/> (high 16 bits of |τ|).</summary>
    public TiesSignTally(IReadOnlyList<int> buckets)
    {
        if (buckets.Any(b => b < 0 || b >= 0x7F80)) throw new ArgumentException("A bucket must hold finite magnitudes.", nameof(buckets));
        _buckets = buckets.Select(b => (uint)b).ToArray();
        _low = buckets.Select(_ => new long[1 << 16]).ToArray();
        _delta = buckets.Select(_ => new long[1 << 16]).ToArray();
    }

    /// <summary>Whether more entries had several ambiguous models than <see cref="MaxRecords"/>: the sign total is then unknown.</summary>
    public bool Overflowed { get; private set; }

    /// <summary>Numbers recorded for interactions of several ambiguous models, for tests.</summary>
    internal long Records => _recorded;

    private const int ChunkBits = 16;

    private int Recorded(long index) => _chunks[(int)(index >> ChunkBits)][index & ((1 << ChunkBits) - 1)];

    private void Record(int value)
    {
        if ((_recorded & ((1 << ChunkBits) - 1)) == 0) _chunks.Add(new int[1 << ChunkBits]);
        _chunks[^1][_recorded & ((1 << ChunkBits) - 1)] = value;
        _recorded++;
    }

    /// <summary>Entries with one ambiguous model whose sign depends on the threshold, for tests.</summary>
    internal long SingleAmbiguousFlips => _delta.Sum(d => d.Sum(Math.Abs));

    /// <summary>Model <paramref name="model"/>'s histogram of the low 16 bits of its magnitudes in its bucket (as AddLowHistograms).</summary>
    public long[] LowHistogram(int model) => _low[model];

    /// <summary>
    /// The sum of the elected signs over every entry counted, for the thresholds (per model the smallest magnitude kept,
    /// each inside that model's bucket) found from the low histograms. Null when the tally overflowed.
    /// </summary>
    public long? SignTotal(IReadOnlyList<float> thresholds)
    {
        if (Overflowed) return null;
        int n = _buckets.Length;
        long total = _base;
        var from = new int[n]; // per model, the low bits from which its bucket's magnitudes are kept
        for (int i = 0; i < n; i++)
        {
            uint bits = BitConverter.SingleToUInt32Bits(thresholds[i]);
            if (bits >> 16 != _buckets[i]) throw new ArgumentException($"Model {i}'s threshold is not in its bucket.", nameof(thresholds));
            from[i] = (int)(bits & 0xFFFF);
            for (int low = from[i]; low < 1 << 16; low++) total += _delta[i][low];
        }
        for (long r = 0; r < _recorded;)
        {
            int head = Recorded(r), size = head & 0xFF;
            bool all = true;
            for (int q = 1; q <= size; q++) all &= (Recorded(r + q) & 0xFFFF) >= from[Recorded(r + q) >> 16];
            if (all) total += head >> 8; // arithmetic shift: μ keeps its sign
            r += 1 + size;
        }
        return total;
    }

    private static int Sign(float x) => x > 0f ? 1 : x < 0f ? -1 : 0;

    /// <summary>Counts one row block (flat views of the pretrained and model blocks, stored dtype), split across the cores.</summary>
    public void Add(Tensor pre, IReadOnlyList<Tensor> models)
    {
        if (models.Count != _buckets.Length) throw new ArgumentException($"The tally is for {_buckets.Length} models.", nameof(models));
        var p = (byte*)NativeTensorMemory.DataPointer(pre);
        var m = models.Select(NativeTensorMemory.DataPointer).ToArray();
        var dtype = pre.dtype;
        TiesKernels.Chunks(pre.numel(), (start, len) =>
        {
            long sum = dtype switch
            {
                ScalarType.BFloat16 => Count<TiesKernels.Bf16>(p, m, start, len),
                ScalarType.Float16 => Count<TiesKernels.F16>(p, m, start, len),
                ScalarType.Float32 => Count<TiesKernels.F32>(p, m, start, len),
                _ => throw new NotSupportedException($"TIES kernels do not read {dtype}."),
            };
            Interlocked.Add(ref _base, sum);
        });
    }

    private long Count<T>(byte* pre, IntPtr[] modelPointers, long start, long len) where T : struct, TiesKernels.IStoredFloat
    {
        int n = modelPointers.Length;
        byte** m = stackalloc byte*[n];
        for (int i = 0; i < n; i++) m[i] = (byte*)modelPointers[i];
        float* t = stackalloc float[8 * n]; // lane-major per model: t[i * 8 + lane]
        uint* amb = stackalloc uint[8 * n];
        float* sEx = stackalloc float[8];
        float* sIn = stackalloc float[8];
        long end = start + len, j = start, signs = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var mask = Vector256.Create(0x7FFF_FFFFu);
            var zero = Vector256<float>.Zero;
            for (; j + 8 <= end; j += 8)
            {
                var pv = T.Load8(pre, j);
                Vector256<float> ex = zero, inc = zero;
                var any = Vector256<uint>.Zero;
                for (int i = 0; i < n; i++)
                {
                    var tv = T.Load8(m[i], j) - pv;
                    var hi = (tv.AsUInt32() & mask) >> 16;
                    var b = Vector256.Create(_buckets[i]);
                    var kept = Vector256.GreaterThan(hi, b);
                    var a = Vector256.Equals(hi, b);
                    // The same float32 sums, in model order, as the sign pass: dropped entries add +0.
                    ex += tv & kept.AsSingle();
                    inc += tv & (kept | a).AsSingle();
                    any |= a;
                    tv.Store(t + i * 8);
                    a.Store(amb + i * 8);
                }
                if (any == Vector256<uint>.Zero)
                {
                    signs += BitOperations.PopCount(Vector256.GreaterThan(ex, zero).ExtractMostSignificantBits())
                        - BitOperations.PopCount(Vector256.LessThan(ex, zero).ExtractMostSignificantBits());
                    continue;
                }
                ex.Store(sEx);
                inc.Store(sIn);
                for (int lane = 0; lane < 8; lane++) signs += Lane(t + lane, amb + lane, 8, n, sEx[lane], sIn[lane]);
            }
        }
        for (; j < end; j++)
        {
            float pv = T.Load(pre, j), ex = 0f, inc = 0f;
            for (int i = 0; i < n; i++)
            {
                float tv = T.Load(m[i], j) - pv;
                uint hi = High(tv);
                bool kept = hi > _buckets[i], a = hi == _buckets[i];
                ex += kept ? tv : 0f;
                inc += kept || a ? tv : 0f;
                t[i] = tv;
                amb[i] = a ? uint.MaxValue : 0u;
            }
            signs += Lane(t, amb, 1, n, ex, inc);
        }
        return signs;
    }

    /// <summary>
    /// One entry with at least one ambiguous model (or none, in a block of eight where another had one): its models' raw
    /// task-vector values and ambiguity flags at <paramref name="t"/>[i·stride] / <paramref name="amb"/>[i·stride], and the
    /// in-order sums with every ambiguous value dropped and kept. Returns the threshold-independent part of its sign.
    /// </summary>
    private long Lane(float* t, uint* amb, int stride, int n, float sumDropped, float sumKept)
    {
        int ambiguous = 0, only = -1;
        for (int i = 0; i < n; i++)
        {
            if (amb[i * stride] == 0) continue;
            ambiguous++;
            only = i;
            Interlocked.Increment(ref _low[i][Low(t[i * stride])]);
        }
        int dropped = Sign(sumDropped);
        if (ambiguous == 0) return dropped;
        if (ambiguous == 1)
        {
            int change = Sign(sumKept) - dropped;
            if (change != 0) Interlocked.Add(ref _delta[only][Low(t[only * stride])], change);
            return dropped;
        }
        return Several(t, amb, stride, n, ambiguous);
    }

    /// <summary>The low 16 bits of |v| (those of v: the sign is bit 31).</summary>
    private static uint Low(float v) => BitConverter.SingleToUInt32Bits(v) & 0xFFFF;

    /// <summary>The high 16 bits of |v|: its bucket.</summary>
    private static uint High(float v) => (BitConverter.SingleToUInt32Bits(v) & 0x7FFF_FFFFu) >> 16;

    /// <summary>
    /// An entry with c ≥ 2 ambiguous models. Its sign for each subset K of them kept, s_K (in-order sums), is written as
    /// Σ_{S ⊆ K} μ_S (Möbius inversion over subsets): μ_∅ is returned, each μ_{i} goes to model i's change histogram at
    /// its low bits, and each nonzero μ_S with |S| ≥ 2 is recorded with the low bits of S's models.
    /// </summary>
    private long Several(float* t, uint* amb, int stride, int n, int c)
    {
        if (c > 16 || n > 1 << 15) { lock (_chunks) Overflowed = true; return 0; }
        Span<int> which = stackalloc int[c];
        for (int i = 0, q = 0; i < n; i++) if (amb[i * stride] != 0) which[q++] = i;
        int subsets = 1 << c;
        Span<int> mu = c <= 8 ? stackalloc int[subsets] : new int[subsets];
        for (int kept = 0; kept < subsets; kept++)
        {
            float sum = 0f;
            for (int i = 0, q = 0; i < n; i++)
            {
                float v = t[i * stride];
                if (amb[i * stride] != 0) sum += ((kept >> q++) & 1) != 0 ? v : 0f;
                else sum += High(v) > _buckets[i] ? v : 0f;
            }
            mu[kept] = Sign(sum);
        }
        for (int b = 0; b < c; b++)
            for (int set = 0; set < subsets; set++)
                if (((set >> b) & 1) != 0) mu[set] -= mu[set ^ (1 << b)];
        for (int b = 0; b < c; b++)
            if (mu[1 << b] != 0) Interlocked.Add(ref _delta[which[b]][Low(t[which[b] * stride])], mu[1 << b]);
        for (int set = 3; set < subsets; set++)
        {
            if (mu[set] == 0 || BitOperations.PopCount((uint)set) < 2) continue;
            lock (_chunks)
            {
                if (_recorded >= MaxRecords) { Overflowed = true; continue; }
                // One record: μ_S · 256 + |S|, then model · 2¹⁶ + low bits for each model of S.
                Record(mu[set] * 256 + BitOperations.PopCount((uint)set));
                for (int b = 0; b < c; b++)
                    if (((set >> b) & 1) != 0) Record((which[b] << 16) | (int)Low(t[which[b] * stride]));
            }
        }
        return mu[0];
    }
}

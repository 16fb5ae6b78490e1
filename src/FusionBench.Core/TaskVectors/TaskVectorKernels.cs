using TorchSharp;
using static TorchSharp.torch;

namespace FusionBench.Core.TaskVectors;

/// <summary>
/// The tensor kernels of task-vector merging. Each takes and returns tensors and does no I/O, so each is tested with
/// exact numbers on tiny inputs. Kernels that allocate return tensors the caller owns.
/// </summary>
internal static class TaskVectorKernels
{
    /// <summary>Elements per chunk for the cache-blocked accumulation (4 MiB of float32: the three live chunks fit in L3).</summary>
    public const long ChunkElements = 1 << 20;

    /// <summary>
    /// Task arithmetic of 1-D tensors of equal length: <c>output = pre + λ · Σᵢ (modelsᵢ − pre)</c>, computed chunk by
    /// chunk so that each chunk's accumulator and difference buffer stay in cache. Memory traffic is the minimum: one
    /// read of every input and one write of <paramref name="output"/> (which may be uninitialised). Each task vector is
    /// formed exactly, as FusionBench does, rather than as Σ θᵢ − N θ₀, which would cancel digits of the small τᵢ.
    /// </summary>
    public static void TaskArithmetic(Tensor output, Tensor pre, IReadOnlyList<Tensor> models, double scalingFactor, Tensor scratch)
    {
        long n = output.shape[0];
        for (long off = 0; off < n; off += ChunkElements)
        {
            long len = Math.Min(ChunkElements, n - off);
            using var a = output.narrow(0, off, len);
            using var p = pre.narrow(0, off, len);
            using var s = scratch.narrow(0, 0, len);
            for (int i = 0; i < models.Count; i++)
            {
                using var mc = models[i].narrow(0, off, len);
                if (i == 0)
                {
                    a.copy_(mc).sub_(p);
                    continue;
                }
                s.copy_(mc).sub_(p);
                a.add_(s);
            }
            if (models.Count == 0) a.zero_();
            a.mul_(scalingFactor).add_(p);
        }
    }

    /// <summary>Σᵢ τᵢ added in order from zero (Python's <c>sum()</c> of the task vectors, as FusionBench writes it).</summary>
    public static Tensor Sum(IReadOnlyList<Tensor> taskVectors)
    {
        var sum = zeros_like(taskVectors[0]);
        foreach (var tv in taskVectors) sum.add_(tv);
        return sum;
    }

    /// <summary>FusionBench's running mean of the task vectors, m ← m + (τₜ − m)/t, in order.</summary>
    public static Tensor RunningMean(IReadOnlyList<Tensor> taskVectors)
    {
        var mean = taskVectors[0].clone();
        for (int t = 1; t < taskVectors.Count; t++) mean.add_(taskVectors[t].sub(mean).div_(t + 1));
        return mean;
    }

    /// <summary>
    /// FusionBench's TIES trim threshold: the magnitude an entry needs to stay, so that the top <paramref name="threshold"/>
    /// percent of <paramref name="absValues"/> are kept (ties with the threshold all stay). <paramref name="threshold"/>
    /// above 1 is a percentage, at most 1 a fraction, as in FusionBench. Returns null when everything stays.
    /// </summary>
    /// <param name="absValues">Magnitudes, 1-D. Its order is not changed.</param>
    /// <param name="threshold">Percent (or fraction) of entries to keep.</param>
    public static double? KeepThreshold(Tensor absValues, double threshold)
    {
        double fraction = threshold > 1 ? threshold / 100.0 : threshold;
        long d = absValues.shape[0];
        long k = d - (long)Math.Floor(d * fraction); // the k-th smallest magnitude is the smallest one kept
        if (k <= 0 || d == 0) return null;
        return KthSmallest(absValues, k);
    }

    /// <summary>Inputs at least this long are selected by a radix histogram rather than one full <c>kthvalue</c>.</summary>
    internal const long RadixSelectMinimum = 1 << 22;

    /// <summary>
    /// The exact <paramref name="k"/>-th smallest value (1-based) of a 1-D tensor. A full <c>kthvalue</c> over 10⁸
    /// entries takes seconds. For large non-negative float32 input (magnitudes, as TIES has) the value is found from
    /// its bits instead: non-negative IEEE floats order like their bit patterns, so a histogram of the high 16 bits
    /// finds the bucket that holds rank k, and a histogram of the low 16 bits inside that bucket finds the value.
    /// </summary>
    internal static double KthSmallest(Tensor values, long k)
    {
        if (values.shape[0] >= RadixSelectMinimum && values.dtype == ScalarType.Float32 && values.device_type == DeviceType.CPU && values.is_contiguous())
        {
            float? radix = RadixKthSmallest(values, k);
            if (radix is float r) return r;
        }
        var (v, i) = values.kthvalue(k, 0, false);
        using (v)
        using (i)
            return v.ToDouble();
    }

    /// <summary>Two histogram passes over the float bits; null if a value has its sign bit set (not a magnitude).</summary>
    private static float? RadixKthSmallest(Tensor values, long k)
    {
        var high = new long[1 << 16];
        AddHighHistogram(values, high);
        if (RadixBucket(high, k) is not (int bucket, long below)) return null;
        var low = new long[1 << 16];
        AddLowHistogram(values, bucket, low);
        return RadixValue(bucket, low, k - below);
    }

    /// <summary>Counts the high 16 bits of each float32 of a contiguous CPU tensor into <paramref name="high"/>.</summary>
    internal static unsafe void AddHighHistogram(Tensor values, long[] high)
    {
        long d = values.NumberOfElements;
        uint* bits = (uint*)Internal.NativeTensorMemory.DataPointer(values);
        for (long i = 0; i < d; i++) high[bits[i] >> 16]++;
    }

    /// <summary>Counts the low 16 bits of the float32 values whose high bits are <paramref name="bucket"/>.</summary>
    internal static unsafe void AddLowHistogram(Tensor values, int bucket, long[] low)
    {
        long d = values.NumberOfElements;
        uint* bits = (uint*)Internal.NativeTensorMemory.DataPointer(values);
        for (long i = 0; i < d; i++)
        {
            uint x = bits[i];
            if ((x >> 16) == (uint)bucket) low[x & 0xFFFF]++;
        }
    }

    /// <summary>The high-bits bucket holding rank <paramref name="k"/> and how many values lie below it; null if a value is negative.</summary>
    internal static (int Bucket, long Below)? RadixBucket(long[] high, long k)
    {
        for (int b = 1 << 15; b < high.Length; b++)
            if (high[b] != 0) return null; // a negative value (or -0.0): the bit order is not the value order
        long below = 0;
        int bucket = 0;
        while (below + high[bucket] < k) below += high[bucket++];
        return (bucket, below);
    }

    /// <summary>The value of rank <paramref name="kInBucket"/> inside <paramref name="bucket"/> from its low-bits histogram.</summary>
    internal static float RadixValue(int bucket, long[] low, long kInBucket)
    {
        long below = 0;
        int lowBits = 0;
        while (below + low[lowBits] < kInBucket) below += low[lowBits++];
        return BitConverter.Int32BitsToSingle((bucket << 16) | lowBits);
    }

    /// <summary>Zeroes, in place, the entries of each row of <paramref name="taskVectors"/> whose magnitude is below that row's threshold.</summary>
    /// <param name="taskVectors">[N, n] task vectors; modified in place.</param>
    /// <param name="thresholds">One threshold per row; null keeps the row whole.</param>
    public static void Trim(Tensor taskVectors, IReadOnlyList<double?> thresholds)
    {
        using var scope = NewDisposeScope();
        for (int i = 0; i < thresholds.Count; i++)
        {
            if (thresholds[i] is not double thr) continue;
            var row = taskVectors[i];
            row.masked_fill_(row.abs().lt(thr), 0);
        }
    }

    /// <summary>TIES sign election: the sign of the summed (trimmed) task vectors per entry, 0 where they sum to 0.</summary>
    public static Tensor ElectSign(Tensor taskVectors) => taskVectors.sum(dim: 0).sign_();

    /// <summary>
    /// TIES disjoint merge: keeps the entries whose sign agrees with <paramref name="sign"/> (where the sign is 0, the
    /// negative entries, as FusionBench's <c>torch.where(sign &gt; 0, T &gt; 0, T &lt; 0)</c> does) and aggregates them.
    /// </summary>
    /// <param name="taskVectors">[N, n] trimmed task vectors; not modified.</param>
    /// <param name="sign">[n] elected signs in {−1, 0, 1}.</param>
    /// <param name="mergeFunction">sum, mean over the kept non-zero entries, or max magnitude × sign.</param>
    public static Tensor DisjointMerge(Tensor taskVectors, Tensor sign, MergeFunction mergeFunction)
    {
        using var scope = NewDisposeScope();
        var keep = where(sign.gt(0).unsqueeze(0), taskVectors.gt(0), taskVectors.lt(0));
        var selected = taskVectors.mul(keep);
        Tensor merged = mergeFunction switch
        {
            MergeFunction.Sum => selected.sum(dim: 0),
            MergeFunction.Mean => selected.sum(dim: 0).div_(selected.ne(0).sum(dim: 0).clamp_min(1).to(selected.dtype)),
            MergeFunction.Max => selected.abs().amax(0).mul_(sign),
            _ => throw new ArgumentOutOfRangeException(nameof(mergeFunction)),
        };
        return merged.MoveToOuterDisposeScope();
    }

    /// <summary>
    /// DARE's random drop: zeroes each entry with probability <paramref name="sparsityRatio"/> (drawn from
    /// <paramref name="generator"/> as <c>rand &gt; p</c>, FusionBench's rule) and, if <paramref name="rescale"/>,
    /// divides the survivors by 1 − p. Modifies <paramref name="taskVector"/> in place.
    /// </summary>
    public static void RandomDrop(Tensor taskVector, double sparsityRatio, bool rescale, Generator generator)
    {
        using var scope = NewDisposeScope();
        // Drawn in the task vector's own dtype, as FusionBench's rand_like: a float64 draw is another stream than a float32 one.
        var keep = rand(taskVector.shape, dtype: taskVector.dtype, generator: generator).gt(sparsityRatio);
        taskVector.mul_(keep);
        if (rescale) taskVector.div_(1.0 - sparsityRatio);
    }

    /// <summary>
    /// MergeKit's SLERP of two tensors, each taken as one flat vector: spherical interpolation between
    /// <paramref name="v0"/> (t = 0) and <paramref name="v1"/> (t = 1) by the angle between their directions, applied
    /// to the unnormalised tensors; plain linear interpolation when |cos| &gt; <paramref name="dotThreshold"/>.
    /// </summary>
    public static Tensor Slerp(double t, Tensor v0, Tensor v1, double dotThreshold = 0.9995, double eps = 1e-8)
    {
        using var scope = NewDisposeScope();
        double n0 = v0.norm().ToDouble();
        double n1 = v1.norm().ToDouble();
        // MergeKit normalises only vectors whose norm exceeds eps; a zero vector keeps dot = 0.
        double dot = v0.mul(v1).sum().ToDouble() / ((n0 > eps ? n0 : 1.0) * (n1 > eps ? n1 : 1.0));
        Tensor result;
        if (Math.Abs(dot) > dotThreshold)
        {
            result = v0.mul(1 - t).add_(v1, alpha: t);
        }
        else
        {
            double theta0 = Math.Acos(dot);
            double sinTheta0 = Math.Sin(theta0);
            double s0 = Math.Sin(theta0 - theta0 * t) / sinTheta0;
            double s1 = Math.Sin(theta0 * t) / sinTheta0;
            result = v0.mul(s0).add_(v1, alpha: s1);
        }
        return result.MoveToOuterDisposeScope();
    }
}

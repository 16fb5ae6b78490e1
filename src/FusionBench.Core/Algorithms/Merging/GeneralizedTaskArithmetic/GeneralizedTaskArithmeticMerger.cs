using System.Text;
using FusionBench.Core.TaskVectors;
using TorchSharp;
using static TorchSharp.torch;

namespace FusionBench.Core.Algorithms.Merging.GeneralizedTaskArithmetic;

/// <summary>DARE's random drop of task-vector entries (only of linear-layer weights when <paramref name="OnlyOnLinearWeights"/>).</summary>
internal sealed record DareStep(double SparsityRatio, bool Rescale, long Seed, bool OnlyOnLinearWeights = false)
{
    /// <summary>
    /// Drops entries of model <paramref name="modelIndex"/>'s task vector of tensor <paramref name="name"/> in place, from a
    /// generator seeded per model and tensor, unless the tensor is exempt (<see cref="OnlyOnLinearWeights"/>).
    /// </summary>
    public void Apply(Tensor taskVector, int modelIndex, string name, TensorInfo info)
    {
        if (OnlyOnLinearWeights && !IsLinearWeight(name, info)) return;
        using var g = new Generator((ulong)GeneralizedTaskArithmeticMerger.DareSeed(Seed, modelIndex, name));
        TaskVectorKernels.RandomDrop(taskVector, SparsityRatio, Rescale, g);
    }

    /// <summary>
    /// FusionBench drops only the <c>weight</c> of <c>nn.Linear</c> modules. A checkpoint has no module types, so the rule
    /// on names and shapes is: a 2-D tensor named <c>*.weight</c> that is not an embedding (no <c>embed</c> in its name);
    /// biases, norms, embeddings and convolutions are kept whole.
    /// </summary>
    internal static bool IsLinearWeight(string name, TensorInfo info) =>
        info.Shape.Length == 2 && name.EndsWith(".weight", StringComparison.Ordinal)
        && !name.Contains("embed", StringComparison.OrdinalIgnoreCase);
}

/// <summary>TIES's trim, sign election and disjoint merge.</summary>
internal sealed record TiesStep(double Threshold, MergeFunction MergeFunction);

/// <summary>
/// One pipeline for the task-vector family, as MergeKit composes it: task vectors τᵢ = θᵢ − θ₀, optionally DARE-dropped,
/// optionally TIES-trimmed/elected/disjoint-merged (else summed), then θ* = θ₀ + λ·merged. Task arithmetic, TIES,
/// DARE task arithmetic and DARE TIES are presets of it.
/// </summary>
internal static class GeneralizedTaskArithmeticMerger
{
    /// <summary>
    /// The merge in memory. <paramref name="tensorOps"/> forces TIES onto the tensor-op path (a model-sized magnitude
    /// buffer for the thresholds, [N, n] task-vector matrices), the independent reference that the fused kernels'
    /// streamed path is tested against; otherwise TIES without DARE takes that faster streamed path.
    /// </summary>
    public static StateDict Merge(MergePlan plan, double scalingFactor, DareStep? dare, TiesStep? ties,
        IReadOnlyCollection<string> removeKeys, CancellationToken ct, bool tensorOps = false)
    {
        if (ties is null) return plan.MergeEachTensor(Step(plan, scalingFactor, dare, removeKeys), ct);
        // The streamed TIES gives the same bits (tested) from histogram thresholds and fused kernels, with no model-sized
        // magnitude buffer and no [N, n] task-vector matrices: use it whenever it applies (float32 compute).
        if (dare is null && !tensorOps)
        {
            using var streamed = StreamTies(plan, scalingFactor, dare, ties, removeKeys, ct);
            if (streamed is not null) return plan.MergeEachTensor(streamed.Read, ct);
        }
        var pre = plan.Pretrained ?? throw new InvalidOperationException("The plan has no pretrained model.");
        var excluded = new HashSet<string>(removeKeys, StringComparer.Ordinal);
        var mergedNames = plan.TensorNames.Where(n => plan.IsFloat(n) && !excluded.Contains(n)).ToList();

        // TIES's trim threshold is chosen over each whole task vector (FusionBench flattens the model), so it needs a
        // first pass over every tensor of each model before any tensor can be merged.
        IReadOnlyList<double?> thresholds = ModelThresholds(plan, mergedNames, dare, ties.Threshold, ct);
        var zeroSignFixes = new List<ZeroSignFix>();
        double electedSignTotal = 0;

        var output = new StateDict("merged");
        try
        {
            var mergedSet = new HashSet<string>(mergedNames, StringComparer.Ordinal);
            foreach (var name in plan.TensorNames)
            {
                ct.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                if (!mergedSet.Contains(name))
                {
                    output.Add(name, plan.CopyUnmerged(name)); // non-float buffers and remove_keys keep θ₀
                    continue;
                }
                var shape = plan.Infos[name].Shape;
                var p = plan.ReadCompute(pre, name).flatten();
                var tv = TaskVectorMatrix(plan, name, p, dare);
                TaskVectorKernels.Trim(tv, thresholds);
                var sign = TaskVectorKernels.ElectSign(tv);
                electedSignTotal += sign.sum().ToDouble();
                var acc = TaskVectorKernels.DisjointMerge(tv, sign, ties.MergeFunction);
                // Where the elected sign is 0 the entries still to be kept depend on the model-wide majority
                // sign, known only after the last tensor. Such entries are rare (exact cancellation); keep them.
                var pending = sign.eq(0).logical_and_(tv.ne(0).any(0));
                if (pending.any().ToBoolean())
                {
                    var idx = pending.nonzero().flatten();
                    zeroSignFixes.Add(new ZeroSignFix(name, Keep(idx), Keep(tv.index_select(1, idx)), Keep(p.index_select(0, idx))));
                }
                var merged = acc.mul_(scalingFactor).add_(p);
                output.Add(name, plan.ToOutput(name, merged.view(shape)).contiguous());
            }
            ApplyZeroSignFixes(output, plan, zeroSignFixes, Math.Sign(electedSignTotal), ties.MergeFunction, scalingFactor);
            return output;
        }
        catch
        {
            output.Dispose();
            throw;
        }
        finally
        {
            foreach (var f in zeroSignFixes) f.Dispose();
        }
    }

    /// <summary>
    /// Task arithmetic and DARE task arithmetic computed tensor by tensor as they are read (<see cref="MergePlan.Lazily"/>):
    /// every tensor's merge depends on that tensor alone. (TIES, whose threshold and zero-sign fill look at the whole
    /// model, streams through <see cref="StreamTies"/>.)
    /// </summary>
    public static IWeightSource Stream(MergePlan plan, double scalingFactor, DareStep? dare, IReadOnlyCollection<string> removeKeys) =>
        plan.LazilyInRowBlocks(Step(plan, scalingFactor, dare, removeKeys));

    /// <summary>
    /// TIES (and DARE TIES) streamed, exact to the in-memory merge: each model's trim threshold — the k-th magnitude over
    /// the whole task vector, FusionBench's rule — comes from two histogram passes over the float32 bits (high 16 bits,
    /// then the low 16 inside the bucket that holds rank k) instead of a model-sized buffer, a third pass sums the elected
    /// signs for the model-wide majority that settles entries whose elected sign is 0 (folded into the second pass for
    /// tensors the fused kernels take), then each tensor is merged when read. Three or four reads of every model instead
    /// of two, one tensor of every model in memory. Null when a tensor computes in float64 (the bit histogram is float32's).
    /// </summary>
    public static IWeightSource? StreamTies(MergePlan plan, double scalingFactor, DareStep? dare, TiesStep ties, IReadOnlyCollection<string> removeKeys, CancellationToken ct)
    {
        var pre = plan.Pretrained ?? throw new InvalidOperationException("The plan has no pretrained model.");
        var excluded = new HashSet<string>(removeKeys, StringComparer.Ordinal);
        var mergedNames = plan.TensorNames.Where(n => plan.IsFloat(n) && !excluded.Contains(n)).ToList();
        if (mergedNames.Any(n => plan.ComputeType(n) != ScalarType.Float32)) return null;
        var thresholds = StreamedThresholds(plan, mergedNames, dare, ties.Threshold, ct, out long? tallied);
        if (thresholds is null) return null;
        // The kept magnitudes' lower bounds for the fused kernels: no threshold keeps everything.
        var keepFrom = thresholds.Select(t => t is double v ? (float)v : float.NegativeInfinity).ToArray();
        double electedSignTotal = tallied ?? 0;
        if (tallied is null) // the sign pass, unless the second histogram pass tallied the signs
            foreach (var name in mergedNames)
            {
                ct.ThrowIfCancellationRequested();
                if (Fused(plan, name, dare))
                {
                    plan.ForEachStoredBlock(name, (_, p, models) => electedSignTotal += TiesKernels.ElectedSignSum(p, models, keepFrom));
                    continue;
                }
                ForTaskVectors(plan, name, dare, (_, _, _, tv) =>
                {
                    TaskVectorKernels.Trim(tv, thresholds);
                    electedSignTotal += TaskVectorKernels.ElectSign(tv).sum().ToDouble();
                });
            }
        int majority = Math.Sign(electedSignTotal);
        var mergedSet = new HashSet<string>(mergedNames, StringComparer.Ordinal);
        Tensor MergeBlock(Tensor p, Tensor tv)
        {
            TaskVectorKernels.Trim(tv, thresholds);
            // An entry whose elected sign is 0 takes the model-wide majority sign (the in-memory merge's zero-sign fix).
            var sign = TaskVectorKernels.ElectSign(tv);
            sign.masked_fill_(sign.eq(0), majority);
            return TaskVectorKernels.DisjointMerge(tv, sign, ties.MergeFunction).mul_(scalingFactor).add_(p);
        }
        return plan.LazilyInRowBlocks(name =>
        {
            if (!mergedSet.Contains(name)) return plan.ReadCompute(pre, name);
            if (Fused(plan, name, dare))
                return plan.MergeRowsStored(name, (p, models, output) =>
                    TiesKernels.Merge(output, p, models, keepFrom, majority, ties.MergeFunction, scalingFactor));
            if (dare is not null)
            {
                var p = plan.ReadCompute(pre, name).flatten();
                return MergeBlock(p, TaskVectorMatrix(plan, name, p, dare)).view(plan.Infos[name].Shape);
            }
            return plan.MergeRows(name, (p, models) =>
            {
                var pf = p!.flatten();
                return MergeBlock(pf, TaskVectorRows(pf, models));
            });
        });
    }

    /// <summary>
    /// Whether a tensor goes through the fused TIES kernels (<see cref="TiesKernels"/>): every input and the output stored
    /// in one of their dtypes, and no DARE (whose mask is drawn per whole tensor by torch's generator).
    /// </summary>
    private static bool Fused(MergePlan plan, string name, DareStep? dare) =>
        dare is null && TiesKernels.Supports(plan.Infos[name].DType) && plan.AllStoredAs(name, plan.Infos[name].DType);

    /// <summary>
    /// Calls <paramref name="use"/> with [N, n] task vectors of one tensor: row block by row block, or (DARE: one mask
    /// per whole tensor) the whole tensor at once.
    /// </summary>
    private static void ForTaskVectors(MergePlan plan, string name, DareStep? dare, Action<long, long, Tensor, Tensor> use)
    {
        if (dare is not null)
        {
            using var scope = NewDisposeScope();
            var p = plan.ReadCompute(plan.Pretrained!, name).flatten();
            use(0, plan.Infos[name].Shape.Length == 0 ? 1 : plan.Infos[name].Shape[0], p, TaskVectorMatrix(plan, name, p, dare));
            return;
        }
        plan.ForEachRowBlock(name, (start, count, p, models) =>
        {
            var pf = p!.flatten();
            use(start, count, pf, TaskVectorRows(pf, models));
        });
    }

    /// <summary>[N, n] task vectors of a block: each model's block minus the pretrained block.</summary>
    private static Tensor TaskVectorRows(Tensor pre, IReadOnlyList<Tensor> models)
    {
        var tv = empty(models.Count, pre.shape[0], dtype: pre.dtype);
        for (int i = 0; i < models.Count; i++) tv[i].copy_(models[i].flatten()).sub_(pre);
        return tv;
    }

    /// <summary>Each model's trim threshold by two streamed histogram passes; null when a magnitude's bits are not ordered (negative).</summary>
    /// <remarks>
    /// When every tensor goes through the fused kernels, the second pass also tallies the elected signs
    /// (<see cref="TiesSignTally"/>) and <paramref name="signTotal"/> is the model-wide sum the sign pass would give, so
    /// that pass is skipped; otherwise it is null.
    /// </remarks>
    private static IReadOnlyList<double?>? StreamedThresholds(MergePlan plan, IReadOnlyList<string> names, DareStep? dare, double threshold, CancellationToken ct, out long? signTotal)
    {
        signTotal = null;
        var pre = plan.Pretrained!;
        long d = names.Sum(n => plan.Infos[n].ElementCount);
        double fraction = threshold > 1 ? threshold / 100.0 : threshold;
        long k = d - (long)Math.Floor(d * fraction);
        if (k <= 0 || d == 0) return Enumerable.Repeat<double?>(null, plan.Count).ToList();
        // The fused kernels count into four interleaved copies (TiesKernels.Fold adds them); the tensor path into the first.
        var high = Enumerable.Range(0, plan.Count).Select(_ => new long[TiesKernels.HistogramLength]).ToArray();
        void Pass(Action<int, Tensor> count, Action<Tensor, IReadOnlyList<Tensor>> fused)
        {
            foreach (var name in names)
            {
                ct.ThrowIfCancellationRequested();
                if (Fused(plan, name, dare))
                {
                    plan.ForEachStoredBlock(name, (_, p, models) => fused(p, models));
                    continue;
                }
                ForTaskVectors(plan, name, dare, (_, _, _, tv) =>
                {
                    tv.abs_();
                    // One histogram per model: the models' counting loops run on both cores (views made here, on this thread).
                    var rows = Enumerable.Range(0, plan.Count).Select(i => tv[i]).ToArray();
                    Parallel.For(0, rows.Length, i => count(i, rows[i]));
                });
            }
        }
        Pass((i, magnitudes) => TaskVectorKernels.AddHighHistogram(magnitudes, high[i]), (p, models) => TiesKernels.AddHighHistograms(p, models, high));
        var buckets = high.Select(h => TaskVectorKernels.RadixBucket(TiesKernels.Fold(h), k)).ToArray();
        if (buckets.Any(b => b is null)) return null;
        var bucketOf = buckets.Select(b => b!.Value.Bucket).ToArray();
        // The second pass counts the low bits inside each model's bucket; when every tensor goes through the fused
        // kernels it also tallies the elected signs (the low histograms come out of the tally then).
        TiesSignTally? tally = null;
        Func<int, long[]> lowOf;
        if (names.All(n => Fused(plan, n, dare)) && bucketOf.All(b => b < 0x7F80))
        {
            var t = tally = new TiesSignTally(bucketOf);
            Pass((_, _) => throw new InvalidOperationException("Every tensor is fused."), (p, models) => t.Add(p, models));
            lowOf = t.LowHistogram;
        }
        else
        {
            var low = Enumerable.Range(0, plan.Count).Select(_ => new long[TiesKernels.HistogramLength]).ToArray();
            Pass((i, magnitudes) => TaskVectorKernels.AddLowHistogram(magnitudes, bucketOf[i], low[i]), (p, models) => TiesKernels.AddLowHistograms(p, models, bucketOf, low));
            lowOf = i => TiesKernels.Fold(low[i]);
        }
        var found = Enumerable.Range(0, plan.Count).Select(i => TaskVectorKernels.RadixValue(bucketOf[i], lowOf(i), k - buckets[i]!.Value.Below)).ToList();
        signTotal = tally?.SignTotal(found);
        return found.Select(v => (double?)v).ToList();
    }

    /// <summary>θ₀ + λ·Σᵢ τᵢ for one tensor (τᵢ DARE-dropped when asked); remove_keys keep θ₀.</summary>
    private static Func<string, Tensor> Step(MergePlan plan, double scalingFactor, DareStep? dare, IReadOnlyCollection<string> removeKeys)
    {
        var pre = plan.Pretrained ?? throw new InvalidOperationException("The plan has no pretrained model.");
        var excluded = new HashSet<string>(removeKeys, StringComparer.Ordinal);
        return name =>
        {
            if (excluded.Contains(name)) return plan.ReadCompute(pre, name);
            if (dare is not null)
            {
                // DARE draws one mask per whole tensor (seeded per tensor), so it merges the tensor whole.
                var p = plan.ReadCompute(pre, name).flatten();
                return TaskVectorMatrix(plan, name, p, dare).sum(dim: 0).mul_(scalingFactor).add_(p).view(plan.Infos[name].Shape);
            }
            // All bfloat16 (LLM checkpoints): the same float32 arithmetic on the stored bits, no float32 copies, both cores.
            if (plan.Infos[name].Shape.Length > 0 && plan.AllStoredAs(name, ScalarType.BFloat16))
                return plan.MergeRowsStored(name, (p, models, output) => Bf16Kernels.TaskArithmetic(output, p, models, scalingFactor));
            // Plain task arithmetic, row block by row block: one cache-blocked pass, no task-vector buffer per model.
            return plan.MergeRows(name, (p, models) =>
            {
                var pf = p!.flatten();
                var merged = empty_like(pf);
                using var scratch = empty(Math.Min(TaskVectorKernels.ChunkElements, Math.Max(1, pf.shape[0])), pf.dtype);
                TaskVectorKernels.TaskArithmetic(merged, pf, models.Select(m => m.flatten()).ToList(), scalingFactor, scratch);
                return merged;
            });
        };
    }

    private static Tensor Keep(Tensor t)
    {
        t.DetachFromDisposeScope();
        return t;
    }

    /// <summary>[N, n] task vectors of one tensor, DARE-dropped when asked.</summary>
    private static Tensor TaskVectorMatrix(MergePlan plan, string name, Tensor pre, DareStep? dare)
    {
        var tv = empty(plan.Count, pre.shape[0], dtype: pre.dtype);
        for (int i = 0; i < plan.Count; i++)
        {
            var row = tv[i];
            row.copy_(plan.ReadCompute(plan.Models[i], name).flatten()).sub_(pre);
            dare?.Apply(row, i, name, plan.Infos[name]);
        }
        return tv;
    }

    /// <summary>
    /// The seed of DARE's mask for model <paramref name="modelIndex"/> and one tensor: FNV-1a (64-bit) of
    /// "seed/modelIndex/tensorName", top bit cleared. Per-tensor seeds make the result independent of read order.
    /// </summary>
    internal static long DareSeed(long seed, int modelIndex, string tensorName)
    {
        ulong h = 14695981039346656037UL;
        foreach (byte b in Encoding.UTF8.GetBytes($"{seed}/{modelIndex}/{tensorName}"))
        {
            h ^= b;
            h *= 1099511628211UL;
        }
        return (long)(h & 0x7FFF_FFFF_FFFF_FFFFUL);
    }

    /// <summary>Pass 1 of TIES: per model, the magnitude threshold over its whole (DARE-dropped) task vector.</summary>
    private static IReadOnlyList<double?> ModelThresholds(MergePlan plan, IReadOnlyList<string> names, DareStep? dare, double threshold, CancellationToken ct)
    {
        var pre = plan.Pretrained!;
        long total = names.Sum(n => plan.Infos[n].ElementCount);
        var type = names.Any(n => plan.ComputeType(n) == ScalarType.Float64) ? ScalarType.Float64 : ScalarType.Float32;
        var result = new double?[plan.Count];
        using var magnitudes = empty(total, dtype: type);
        for (int i = 0; i < plan.Count; i++)
        {
            long offset = 0;
            foreach (var name in names)
            {
                ct.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var p = plan.ReadCompute(pre, name).flatten();
                var slot = magnitudes.narrow(0, offset, p.shape[0]);
                var tv = plan.ReadCompute(plan.Models[i], name).flatten().sub(p);
                dare?.Apply(tv, i, name, plan.Infos[name]);
                slot.copy_(tv).abs_();
                offset += p.shape[0];
            }
            result[i] = TaskVectorKernels.KeepThreshold(magnitudes, threshold);
        }
        return result;
    }

    private sealed record ZeroSignFix(string Name, Tensor Index, Tensor TaskVectors, Tensor Pretrained) : IDisposable
    {
        public void Dispose()
        {
            Index.Dispose();
            TaskVectors.Dispose();
            Pretrained.Dispose();
        }
    }

    /// <summary>
    /// FusionBench fills a zero elected sign with the sign of the sum of all elected signs over the model (0 stays 0);
    /// recompute the few entries where that choice changes the result.
    /// </summary>
    private static void ApplyZeroSignFixes(StateDict output, MergePlan plan, List<ZeroSignFix> fixes, int majority, MergeFunction mergeFunction, double scalingFactor)
    {
        foreach (var fix in fixes)
        {
            using var scope = NewDisposeScope();
            var sign = full(fix.Index.shape[0], (double)majority, dtype: fix.TaskVectors.dtype);
            var values = TaskVectorKernels.DisjointMerge(fix.TaskVectors, sign, mergeFunction).mul_(scalingFactor).add_(fix.Pretrained);
            var target = output[fix.Name].view(-1);
            target.index_copy_(0, fix.Index, values.to(target.dtype));
        }
    }
}

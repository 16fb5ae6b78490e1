using TorchSharp;
using FusionBench.Core.Checkpoints;

namespace FusionBench.Core.Algorithms;

/// <summary>
/// The checked layout of a merge and its per-tensor loop — the helper a custom merge builds on. <see cref="Create"/>
/// checks that every model has every tensor of the reference model (the pretrained model, else the first) with the same
/// shape and kind, before any tensor is computed, so a mismatch fails with a message naming the tensor and model and no
/// output is started. <see cref="MergeEachTensor"/> then streams: it calls your function once per float tensor, in
/// order, inside a dispose scope of its own, casts the result back to the tensor's dtype and copies integer buffers.
/// </summary>
/// <example>
/// <code>
/// protected override StateDict FuseCore(IModelPool pool, FusionContext context)
/// {
///     var plan = MergePlan.Create(pool, Info.Name, requirePretrained: true);
///     return plan.MergeEachTensor(name =>
///     {
///         var pre = plan.ReadCompute(plan.Pretrained!, name);
///         var taskVectors = torch.stack(plan.Models.Select(m => plan.ReadCompute(m, name) - pre));
///         return pre + taskVectors.sum(dim: 0) * 0.3;
///     }, context.CancellationToken);
/// }
/// </code>
/// </example>
public sealed class MergePlan
{
    private MergePlan(IWeightSource reference, IWeightSource? pretrained, IReadOnlyList<string> modelNames,
        IReadOnlyList<IWeightSource> models, Dictionary<string, TensorInfo> infos)
    {
        Reference = reference;
        Pretrained = pretrained;
        ModelNames = modelNames;
        Models = models;
        Infos = infos;
    }

    /// <summary>The model whose tensor order and dtypes the output takes: the pretrained model, else the first model.</summary>
    public IWeightSource Reference { get; }

    /// <summary>The pretrained model, or null when the pool has none.</summary>
    public IWeightSource? Pretrained { get; }

    /// <summary>The fine-tuned models' names, in the order of <see cref="Models"/>.</summary>
    public IReadOnlyList<string> ModelNames { get; }

    /// <summary>The fine-tuned models (owned by the pool).</summary>
    public IReadOnlyList<IWeightSource> Models { get; }

    /// <summary>The output's tensor names, in the reference model's order.</summary>
    public IReadOnlyList<string> TensorNames => Reference.TensorNames;

    /// <summary>Each output tensor's dtype and shape (the reference model's).</summary>
    public IReadOnlyDictionary<string, TensorInfo> Infos { get; }

    /// <summary>The number of fine-tuned models.</summary>
    public int Count => Models.Count;

    /// <summary>Whether a tensor is floating point (merged) rather than an integer buffer (copied).</summary>
    public bool IsFloat(string name) => Infos[name].IsFloatingPoint;

    /// <summary>float64 tensors are merged in float64; every other floating type in float32.</summary>
    public torch.ScalarType ComputeType(string name) => Infos[name].DType == torch.ScalarType.Float64 ? torch.ScalarType.Float64 : torch.ScalarType.Float32;

    /// <summary>Checks the pool and builds the plan.</summary>
    /// <param name="pool">The pool.</param>
    /// <param name="method">The method's name, for messages.</param>
    /// <param name="requirePretrained">Whether the method needs the pretrained model.</param>
    /// <param name="modelNames">Which fine-tuned models to use; all of the pool's when null.</param>
    public static MergePlan Create(IModelPool pool, string method, bool requirePretrained, IReadOnlyList<string>? modelNames = null)
    {
        var names = modelNames ?? pool.ModelNames;
        if (names.Count == 0) throw new FusionException($"Method '{method}' needs at least one fine-tuned model; the pool has none.");
        if (requirePretrained && pool.Pretrained is null)
            throw new FusionException($"Method '{method}' needs the pretrained model; the pool has none.");
        var models = names.Select(pool.GetModel).ToList();
        var reference = pool.Pretrained ?? models[0];
        string referenceLabel = pool.Pretrained is not null ? $"the pretrained model ({reference.Name})" : $"model '{names[0]}' ({reference.Name})";

        var infos = new Dictionary<string, TensorInfo>(StringComparer.Ordinal);
        foreach (var t in reference.TensorNames) infos[t] = reference.GetInfo(t);
        for (int i = 0; i < models.Count; i++)
        {
            var m = models[i];
            if (ReferenceEquals(m, reference)) continue;
            string label = $"model '{names[i]}' ({m.Name})";
            foreach (var t in reference.TensorNames)
            {
                if (!m.Contains(t))
                    throw new FusionException($"Tensor '{t}' is in {referenceLabel} but missing from {label}.");
                var info = m.GetInfo(t);
                var want = infos[t];
                if (!info.Shape.AsSpan().SequenceEqual(want.Shape))
                    throw new FusionException($"Tensor '{t}' has shape {want.ShapeText} in {referenceLabel} but {info.ShapeText} in {label}.");
                if (info.IsFloatingPoint != want.IsFloatingPoint)
                    throw new FusionException($"Tensor '{t}' is {want.DType} in {referenceLabel} but {info.DType} in {label}.");
            }
            if (m.TensorNames.Count != reference.TensorNames.Count)
            {
                string extra = m.TensorNames.First(n => !infos.ContainsKey(n));
                throw new FusionException($"Tensor '{extra}' is in {label} but missing from {referenceLabel}.");
            }
        }
        return new MergePlan(reference, pool.Pretrained, names, models, infos);
    }

    /// <summary>Reads a tensor of one source in the compute dtype. May alias the source: do not modify it in place.</summary>
    public torch.Tensor ReadCompute(IWeightSource source, string name) => ToCompute(name, source.Read(name));

    /// <summary>Each fine-tuned model's tensor <paramref name="name"/> minus <paramref name="pre"/> (θᵢ − θ₀), in the compute dtype.</summary>
    public IReadOnlyList<torch.Tensor> TaskVectors(string name, torch.Tensor pre) => Models.Select(m => ReadCompute(m, name).sub(pre)).ToList();

    /// <summary>A tensor just read, in the compute dtype of <paramref name="name"/> (the read one disposed if converted).</summary>
    private torch.Tensor ToCompute(string name, torch.Tensor t)
    {
        var type = ComputeType(name);
        if (t.dtype == type) return t;
        var converted = t.to(type);
        t.Dispose();
        return converted;
    }

    /// <summary>
    /// Elements per row block of <see cref="MergeRows"/> (256K: 1 MB in float32; one reused buffer per model holds a block).
    /// Small enough that a block read from the page cache is still in cache when the kernel reads it: 256K blocks merged
    /// the 0.5B benchmark 12–20 % faster than 1M blocks in alternating runs.
    /// </summary>
    public const long BlockElements = 1 << 18;

    /// <summary>
    /// Merges one tensor block by block along its first dimension with an element-wise function of the pretrained
    /// block (null without a pretrained model) and the models' blocks, each read with
    /// <see cref="IWeightSource.ReadRows"/> in the compute dtype, and returns it in the output dtype. Tensors of at most
    /// <see cref="BlockElements"/> are one block. Since the function is element-wise the result equals merging the whole
    /// tensor, while memory holds one block of every model plus the output (an embedding of 150k × 1536 never needs
    /// N + 1 float32 copies).
    /// </summary>
    public torch.Tensor MergeRows(string name, Func<torch.Tensor?, IReadOnlyList<torch.Tensor>, torch.Tensor> mergeBlock)
    {
        var info = Infos[name];
        if (info.Shape.Length == 0 || info.ElementCount <= BlockElements)
            return ToOutput(name, mergeBlock(Pretrained is null ? null : ReadCompute(Pretrained, name), Models.Select(m => ReadCompute(m, name)).ToList()).view(info.Shape));
        if (TakeRowSink(name) is { } sink)
        {
            var buffer = OutputBuffer(info.DType);
            ForEachRowBlock(name, (start, count, p, models) =>
            {
                using var merged = mergeBlock(p, models);
                using var target = buffer.narrow(0, 0, merged.numel());
                target.copy_(merged.view(-1));
                sink(target);
            });
            return RowsWritten(name);
        }
        var output = torch.empty(info.Shape, info.DType);
        ForEachRowBlock(name, (start, count, p, models) =>
        {
            using var target = output.narrow(0, start, count);
            target.copy_(mergeBlock(p, models).view(target.shape));
        });
        return output;
    }

    // A streamed merge being written (LazyMerge.ReadInBlocks) lends the writer's block sink for one tensor: the first
    // MergeRows/MergeRowsStored of that tensor hands its output blocks to the writer, from one reused buffer, instead
    // of assembling the tensor, so not even the merged embedding is ever whole in memory.
    private Action<torch.Tensor>? _rowSink;
    private string? _rowSinkTensor;
    private torch.Tensor? _rowsWritten;
    private torch.Tensor? _output;

    /// <summary>The lent sink if <paramref name="name"/> is the tensor being written and has more than one row block.</summary>
    private Action<torch.Tensor>? TakeRowSink(string name)
    {
        if (_rowSink is null || _rowSinkTensor != name || RowBlocks(Infos[name]).BlockRows >= RowBlocks(Infos[name]).Rows) return null;
        var sink = _rowSink;
        _rowSink = null;
        return sink;
    }

    /// <summary>The empty placeholder a merge returns for a tensor whose blocks went to the writer.</summary>
    private torch.Tensor RowsWritten(string name) => _rowsWritten = torch.empty(0, Infos[name].DType);

    /// <summary>One reused output block of <see cref="BlockElements"/> (rounded up to whole rows) in <paramref name="dtype"/>.</summary>
    private torch.Tensor OutputBuffer(torch.ScalarType dtype)
    {
        long elements = Infos.Values.Where(i => i.Shape.Length > 0).Select(i => RowBlocks(i)).Max(b => Math.Min(b.Rows, b.BlockRows) * b.PerRow);
        if (_output is { } o && o.dtype == dtype && o.shape[0] >= elements) return o;
        _output?.Dispose();
        _output = torch.empty(elements, dtype);
        _output.DetachFromDisposeScope();
        return _output;
    }

    /// <summary>
    /// Calls <paramref name="block"/> for each row block of a tensor (or once for a small one) with the pretrained block
    /// (null without a pretrained model) and the models' blocks in the compute dtype, each inside a dispose scope.
    /// </summary>
    public void ForEachRowBlock(string name, Action<long, long, torch.Tensor?, IReadOnlyList<torch.Tensor>> block)
    {
        var info = Infos[name];
        var (rows, perRow, blockRows) = RowBlocks(info);
        var sources = (Pretrained is null ? Models : new[] { Pretrained }.Concat(Models)).ToList();
        // Large tensors: each block is read into one reused buffer per source and converted into one reused compute
        // buffer, so blocks cost no fresh memory. The blocks handed out are views of those buffers, valid in the call.
        bool reuse = info.Shape.Length > 0 && blockRows < rows && sources.All(s => s.GetInfo(name).DType == info.DType);
        var stored = reuse ? Buffers(ref _stored, info.DType, sources.Count, blockRows * perRow) : null;
        var compute = reuse && ComputeType(name) != info.DType ? Buffers(ref _compute, ComputeType(name), sources.Count, blockRows * perRow) : null;
        for (long r = 0; r < rows; r += blockRows)
        {
            long n = Math.Min(blockRows, rows - r);
            using var scope = torch.NewDisposeScope();
            bool whole = n == rows;
            List<torch.Tensor> blocks;
            if (stored is null)
                blocks = sources.Select(s => whole ? ReadCompute(s, name) : ToCompute(name, s.ReadRows(name, r, n))).ToList();
            else
            {
                var rowsShape = (long[])info.Shape.Clone();
                rowsShape[0] = n;
                blocks = ReadBlocks(name, sources, stored, r, n, perRow)
                    .Select((raw, i) => (compute is null ? raw : compute[i].narrow(0, 0, n * perRow).copy_(raw)).view(rowsShape)).ToList();
            }
            block(r, n, Pretrained is null ? null : blocks[0], Pretrained is null ? blocks : blocks.Skip(1).ToList());
        }
    }

    /// <summary>A tensor's rows, elements per row, and rows per block (all rows when it fits in one block).</summary>
    private static (long Rows, long PerRow, long BlockRows) RowBlocks(TensorInfo info)
    {
        var shape = info.Shape;
        long rows = shape.Length == 0 ? 1 : shape[0];
        long perRow = shape.Length == 0 ? 1 : info.ElementCount / Math.Max(1, rows);
        long blockRows = shape.Length == 0 || info.ElementCount <= BlockElements ? rows : Math.Max(1, BlockElements / Math.Max(1, perRow));
        return (rows, perRow, blockRows);
    }

    /// <summary>Rows r … r + n − 1 of every source, read in their stored dtype into the front of that source's buffer.</summary>
    private List<torch.Tensor> ReadBlocks(string name, IReadOnlyList<IWeightSource> sources, torch.Tensor[] buffers, long r, long n, long perRow)
    {
        var blocks = new List<torch.Tensor>(sources.Count);
        bool scalar = Infos[name].Shape.Length == 0;
        for (int i = 0; i < sources.Count; i++)
        {
            var block = buffers[i].narrow(0, 0, n * perRow);
            if (scalar)
            {
                using var t = sources[i].Read(name); // a scalar has no rows to range over
                block.copy_(t.reshape(-1));
            }
            else
                sources[i].ReadRowsInto(name, r, n, block);
            blocks.Add(block);
        }
        return blocks;
    }

    /// <summary>Whether every input's tensor <paramref name="name"/> and the output are stored as <paramref name="dtype"/>.</summary>
    internal bool AllStoredAs(string name, torch.ScalarType dtype) =>
        Infos[name].DType == dtype && (Pretrained is null || Pretrained.GetInfo(name).DType == dtype) && Models.All(m => m.GetInfo(name).DType == dtype);

    /// <summary>
    /// Calls <paramref name="block"/> for each row block of a tensor (once for a small one) with the block's first element
    /// and the pretrained and model blocks in their stored dtype: flat views of reused buffers, valid during the call.
    /// For kernels that work on the stored bits (<see cref="AllStoredAs"/> must hold); needs the pretrained model.
    /// </summary>
    internal void ForEachStoredBlock(string name, Action<long, torch.Tensor, IReadOnlyList<torch.Tensor>> block)
    {
        var info = Infos[name];
        var (rows, perRow, blockRows) = RowBlocks(info);
        var sources = new[] { Pretrained! }.Concat(Models).ToList();
        var buffers = Buffers(ref _stored, info.DType, sources.Count, blockRows * perRow);
        for (long r = 0; r < rows; r += blockRows)
        {
            long n = Math.Min(blockRows, rows - r);
            using var scope = torch.NewDisposeScope();
            var blocks = ReadBlocks(name, sources, buffers, r, n, perRow);
            block(r * perRow, blocks[0], blocks.Skip(1).ToList());
        }
    }

    /// <summary>
    /// Like <see cref="MergeRows"/>, but the blocks come in their stored dtype and <paramref name="kernel"/> writes the
    /// output block itself (pretrained block, model blocks, output block): for kernels that work on the stored bits.
    /// </summary>
    internal torch.Tensor MergeRowsStored(string name, Action<torch.Tensor, IReadOnlyList<torch.Tensor>, torch.Tensor> kernel)
    {
        var info = Infos[name];
        if (TakeRowSink(name) is { } sink)
        {
            var buffer = OutputBuffer(info.DType);
            ForEachStoredBlock(name, (_, pre, models) =>
            {
                using var target = buffer.narrow(0, 0, pre.numel());
                kernel(pre, models, target);
                sink(target);
            });
            return RowsWritten(name);
        }
        var output = torch.empty(info.Shape, info.DType);
        using var flat = output.view(-1);
        ForEachStoredBlock(name, (start, pre, models) =>
        {
            using var target = flat.narrow(0, start, pre.numel());
            kernel(pre, models, target);
        });
        return output;
    }

    private torch.Tensor[]? _stored;
    private torch.Tensor[]? _compute;

    /// <summary>
    /// One reusable buffer per source (pretrained first) of at least <paramref name="elements"/> elements, kept in
    /// <paramref name="slot"/> (the stored-dtype reads or the compute-dtype copies) and replaced when it does not fit;
    /// a new one holds a whole block, or the largest tensor if smaller, so it is rarely replaced.
    /// </summary>
    private torch.Tensor[] Buffers(ref torch.Tensor[]? slot, torch.ScalarType dtype, int count, long elements)
    {
        if (slot is { } b && b.Length == count && b[0].dtype == dtype && b[0].shape[0] >= elements) return b;
        Release(ref slot);
        long capacity = Math.Max(elements, Math.Min(BlockElements, Infos.Values.Max(i => i.ElementCount)));
        var created = new torch.Tensor[count];
        for (int i = 0; i < count; i++)
        {
            created[i] = torch.empty(capacity, dtype);
            created[i].DetachFromDisposeScope();
        }
        return slot = created;
    }

    private static void Release(ref torch.Tensor[]? slot)
    {
        foreach (var t in slot ?? Array.Empty<torch.Tensor>()) t.Dispose();
        slot = null;
    }

    /// <summary>Frees the reusable read buffers (a merge calls it when it ends).</summary>
    internal void ReleaseBuffers()
    {
        Release(ref _stored);
        Release(ref _compute);
        _output?.Dispose();
        _output = null;
    }

    /// <summary>Converts a computed tensor to the output dtype of <paramref name="name"/>.</summary>
    public torch.Tensor ToOutput(string name, torch.Tensor computed) =>
        computed.dtype == Infos[name].DType ? computed : computed.to(Infos[name].DType);

    /// <summary>
    /// The usual merge loop: for each tensor in order, <paramref name="mergeFloat"/> computes a float tensor (in the
    /// compute dtype, inside a dispose scope of its own) and it is written back in the tensor's dtype; non-float tensors
    /// are copied. An error or a cancellation disposes what was built.
    /// </summary>
    public StateDict MergeEachTensor(Func<string, torch.Tensor> mergeFloat, CancellationToken ct)
    {
        var output = new StateDict("merged");
        try
        {
            foreach (var name in TensorNames)
            {
                ct.ThrowIfCancellationRequested();
                using var scope = torch.NewDisposeScope();
                output.Add(name, MergeOne(name, mergeFloat));
            }
            return output;
        }
        catch
        {
            output.Dispose();
            throw;
        }
        finally
        {
            ReleaseBuffers();
        }
    }

    /// <summary>
    /// The same merge as <see cref="MergeEachTensor"/>, computed when each tensor is read: a source whose
    /// <c>Read(name)</c> merges that tensor (reading one tensor of every model) and holds nothing else, so writing it
    /// with <see cref="Checkpoints.Checkpoint.Save"/> streams the merge to disk tensor by tensor. Valid while the pool is open.
    /// </summary>
    public IWeightSource Lazily(Func<string, torch.Tensor> mergeFloat, string name = "merged") => new LazyMerge(this, mergeFloat, name, rowBlocks: false);

    /// <summary>
    /// Like <see cref="Lazily"/>, for steps that return <see cref="MergeRows"/>' (or <see cref="MergeRowsStored"/>')
    /// result unchanged: a writer then gets a large tensor's merged row blocks one by one (<see cref="IRowBlockSource"/>)
    /// instead of the whole tensor.
    /// </summary>
    internal IWeightSource LazilyInRowBlocks(Func<string, torch.Tensor> mergeFloat, string name = "merged") => new LazyMerge(this, mergeFloat, name, rowBlocks: true);

    private torch.Tensor MergeOne(string name, Func<string, torch.Tensor> mergeFloat) =>
        IsFloat(name) ? ToOutput(name, mergeFloat(name)) : CopyUnmerged(name);

    private sealed class LazyMerge(MergePlan plan, Func<string, torch.Tensor> mergeFloat, string name, bool rowBlocks) : IWeightSource, IRowBlockSource
    {
        public void ReadInBlocks(string tensorName, Action<torch.Tensor> write)
        {
            if (!Contains(tensorName)) throw new KeyNotFoundException($"The merge has no tensor '{tensorName}'.");
            using var scope = torch.NewDisposeScope();
            plan._rowSink = rowBlocks ? write : null;
            plan._rowSinkTensor = tensorName;
            plan._rowsWritten = null;
            try
            {
                var t = plan.MergeOne(tensorName, mergeFloat);
                if (plan._rowsWritten is { } placeholder)
                {
                    // The blocks went to the writer; the step must have returned the placeholder itself.
                    if (!ReferenceEquals(t, placeholder) && t.numel() != 0)
                        throw new InvalidOperationException($"The merge step of '{tensorName}' changed MergeRows' result; it must return it unchanged to stream row blocks.");
                    return;
                }
                write(t.contiguous().view(-1));
            }
            finally
            {
                plan._rowSink = null;
                plan._rowSinkTensor = null;
                plan._rowsWritten = null;
            }
        }

        public string Name => name;
        public IReadOnlyList<string> TensorNames => plan.TensorNames;
        public bool Contains(string tensorName) => plan.Infos.ContainsKey(tensorName);
        public TensorInfo GetInfo(string tensorName) => plan.Infos[tensorName];

        public torch.Tensor Read(string tensorName)
        {
            if (!Contains(tensorName)) throw new KeyNotFoundException($"The merge has no tensor '{tensorName}'.");
            using var scope = torch.NewDisposeScope();
            return plan.MergeOne(tensorName, mergeFloat).MoveToOuterDisposeScope();
        }

        public void Dispose() => plan.ReleaseBuffers();
    }

    /// <summary>A copy of a non-float tensor (integer buffers) from the pretrained model, else the reference model.</summary>
    public torch.Tensor CopyUnmerged(string name)
    {
        using var t = Reference.Read(name);
        return t.clone();
    }
}

using FusionBench.Core.Algorithms;
using FusionBench.Core.TaskVectors;
using FusionBench.Core.Tests.TaskVectors;
using FusionBench.Core.Checkpoints;
using FusionBench.Core.ModelPools;
using FusionBench.Core.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FusionBench.Core.Tests.Algorithms;

/// <summary>Merging straight to a checkpoint: the same bits as the in-memory merge, config and tokenizer carried over, nothing half-written.</summary>
public class StreamingMergeTests
{
    private static IFusionAlgorithm Create(string method, params (string Key, string Value)[] set)
    {
        var services = new ServiceCollection().AddFusionBench().Services.BuildServiceProvider();
        return services.GetRequiredService<FusionBench.Core.DependencyInjection.IFusionAlgorithmProvider>()
            .Create(method, set.Select(p => new KeyValuePair<string, string>(p.Key, p.Value)));
    }

    /// <summary>The golden pool written as bf16 Hugging Face folders with a config and tokenizer files.</summary>
    private static ModelPool Bf16Pool(TempDir dir)
    {
        string Folder(string name)
        {
            using var source = Checkpoint.Open(TestData.GoldenModel(name));
            using var bf16 = new StateDict(name);
            foreach (var n in source.TensorNames) { using var t = source.Read(n); bf16.Add(n, is_floating_point(t.dtype) ? t.to(ScalarType.BFloat16) : t.clone()); }
            string folder = dir.File(name);
            Checkpoint.Save(bf16, folder, maxShardBytes: 300);
            return folder;
        }
        string pre = Folder("pretrained");
        File.WriteAllText(Path.Combine(pre, "config.json"), "{\"model_type\": \"tiny\"}");
        File.WriteAllText(Path.Combine(pre, "tokenizer.json"), "{\"version\": \"1.0\"}");
        return ModelPool.FromCheckpoints(pre, TestData.GoldenTasks.Select(t => new KeyValuePair<string, string>(t, Folder(t))));
    }

    [Theory]
    [InlineData("simple_average", true)]
    [InlineData("weighted_average", true, "weights", "[0.2,0.3,0.5]")]
    [InlineData("task_arithmetic", true, "scaling_factor", "0.4")]
    [InlineData("dare_task_arithmetic", true, "sparsity_ratio", "0.5")]
    [InlineData("ties_merging", true)]
    [InlineData("ties_merging", true, "threshold", "60", "merge_func", "mean")]
    [InlineData("dare_ties_merging", true)]
    [InlineData("slerp", true)]
    [InlineData("magmax", true)]
    [InlineData("model_stock", true)]
    [InlineData("model_stock", true, "average", "cosine", "filter_wise", "true")]
    [InlineData("breadcrumbs", true, "density", "[0.8]", "gamma", "[0.1]", "weight", "[0.3]")]
    [InlineData("breadcrumbs_ties", true, "density", "[0.8]", "gamma", "[0.1]")]
    [InlineData("della", true, "density", "[0.5]", "epsilon", "[0.1]", "seed", "3")]
    [InlineData("della_linear", true, "density", "[0.5]", "epsilon", "[0.1]")]
    [InlineData("karcher", true)]
    [InlineData("iso_c", true)]
    [InlineData("iso_cts", true, "common_space_fraction", "0.5")]
    [InlineData("wudi", true, "iter_num", "5")]
    [InlineData("tall_mask_consensus", true)]
    [InlineData("task_singular_vector", false)]
    [InlineData("tall_mask_task_arithmetic", false)]
    [InlineData("emr_merging", false)]
    public void EveryDataFreeMethod_WritesTheInMemoryMergeBitForBit_ShardedBf16WithConfigAndTokenizer(string method, bool streams, params string[] set)
    {
        using var dir = TestData.NewTempDir();
        using var pool = method == "slerp"
            ? ModelPool.FromCheckpoints(null, TestData.GoldenTasks.Take(2).Select(t => new KeyValuePair<string, string>(t, TestData.GoldenModel(t))))
            : Bf16Pool(dir);
        var parameters = set.Chunk(2).Select(p => (p[0], p[1])).ToArray();
        string output = dir.File("merged");
        var result = StreamingMerge.MergeToCheckpoint(Create(method, parameters), pool, output, maxShardBytes: 64, sideFilesFrom: method == "slerp" ? null : dir.File("pretrained"));
        Assert.Equal(streams, result.Streamed);

        using var inMemory = Create(method, parameters).Fuse(pool);
        using var written = Checkpoint.Open(output);
        TestData.AssertClose(inMemory.Weights, written, atol: 0, rtol: 0);
        if (method == "ties_merging")
        {
            bool mean = set.Contains("mean");
            using var reference = TiesReference.ByTensorOps(pool, mean ? 60 : 20, mean ? MergeFunction.Mean : MergeFunction.Sum);
            TestData.AssertClose(reference, written, atol: 0, rtol: 0);
        }
        Assert.Equal(inMemory.Weights.Count, result.Tensors);
        if (method == "slerp") return;
        Assert.True(File.Exists(Path.Combine(output, "model.safetensors.index.json")), "not sharded");
        Assert.All(written.TensorNames, n => Assert.True(!written.GetInfo(n).IsFloatingPoint || written.GetInfo(n).DType == ScalarType.BFloat16, n));
        Assert.Equal("{\"model_type\": \"tiny\"}", File.ReadAllText(Path.Combine(output, "config.json")));
        Assert.True(File.Exists(Path.Combine(output, "tokenizer.json")));
    }

    [Theory]
    [InlineData("sum")]
    [InlineData("mean")]
    [InlineData("max")]
    public void StreamedTies_SettlesExactlyCancellingEntriesByTheModelWideMajority_AsTheInMemoryMerge(string mergeFunc)
    {
        // Two models whose task vectors cancel exactly on the first tensor (elected sign 0 there) and agree elsewhere.
        using var g = new TorchSharp.torch.Generator(5);
        var pre = new StateDict("pre");
        pre.Add("a.weight", randn(new long[] { 6, 5 }, generator: g));
        pre.Add("b.weight", randn(new long[] { 40 }, generator: g));
        var tau = randn(new long[] { 6, 5 }, generator: g);
        var up = randn(new long[] { 40 }, generator: g).abs_();
        var m1 = new StateDict("m1");
        m1.Add("a.weight", pre["a.weight"] + tau);
        m1.Add("b.weight", pre["b.weight"] + up);
        var m2 = new StateDict("m2");
        m2.Add("a.weight", pre["a.weight"] - tau);
        m2.Add("b.weight", pre["b.weight"] + 0.5 * up);
        using var pool = new ModelPool(pre, new[] { new KeyValuePair<string, IWeightSource>("m1", m1), new("m2", m2) });
        var ties = Create("ties_merging", ("threshold", "100"), ("merge_func", mergeFunc));
        using var inMemory = TiesReference.ByTensorOps(pool, 100, Enum.Parse<MergeFunction>(mergeFunc, ignoreCase: true));
        using var streamed = ((IStreamingFusionAlgorithm)ties).FuseStreaming(pool)!;
        TestData.AssertClose(inMemory, streamed, atol: 0, rtol: 0);
        using var first = streamed.Read("a.weight");
        Assert.False(first.allclose(pre["a.weight"]), "the cancelling entries were not settled by the majority sign");
    }

    [Theory]
    [InlineData("simple_average")]
    [InlineData("task_arithmetic")]
    [InlineData("ties_merging")]
    public void ATensorAboveOneBlock_IsMergedRowBlockByRowBlockFromRangedReads_ToTheSameBits(string method)
    {
        // One bf16 "embedding" of 2,100 × 2,048 (4.3M > MergePlan.BlockElements, so several row blocks read from the files)
        // plus a small tensor: streamed equals the whole-tensor merge (TIES: the in-memory merge; others: by hand).
        Assert.True(2100L * 2048 > MergePlan.BlockElements);
        using var dir = TestData.NewTempDir();
        using var g = new TorchSharp.torch.Generator(9);
        string Save(string name, StateDict? around)
        {
            using var d = new StateDict(name);
            d.Add("embed.weight", (around is null ? randn(new long[] { 2100, 2048 }, generator: g) : around["embed.weight"].to(ScalarType.Float32) + randn(new long[] { 2100, 2048 }, generator: g).mul_(0.1)).to(ScalarType.BFloat16));
            d.Add("norm.weight", around is null ? randn(new long[] { 16 }, generator: g) : around["norm.weight"] + 0.1);
            Checkpoint.Save(d, dir.File(name + ".safetensors"));
            return dir.File(name + ".safetensors");
        }
        string pre = Save("pre", null);
        using var preDict = StateDict.CopyFrom(Checkpoint.Open(pre));
        var models = new[] { "a", "b", "c" }.ToDictionary(n => n, n => Save(n, preDict));
        using var pool = ModelPool.FromCheckpoints(pre, models);
        var algorithm = Create(method);
        using var streamed = ((IStreamingFusionAlgorithm)algorithm).FuseStreaming(pool)!;
        using var embed = streamed.Read("embed.weight");
        if (method == "ties_merging")
        {
            using var inMemory = TiesReference.ByTensorOps(pool);
            TestData.AssertClose(inMemory, streamed, atol: 0, rtol: 0);
            return;
        }
        var m = models.Values.Select(f => { using var s = Checkpoint.Open(f); return s.Read("embed.weight").to(ScalarType.Float32); }).ToList();
        var p0 = preDict["embed.weight"].to(ScalarType.Float32);
        var expected = (method == "simple_average" ? (m[0] + m[1] + m[2]) / 3 : p0 + 0.3 * (m[0] - p0 + (m[1] - p0) + (m[2] - p0))).to(ScalarType.BFloat16);
        Assert.Equal(ScalarType.BFloat16, embed.dtype);
        // By-hand sums round differently from the kernels' order in float32; bf16 rounding of the result hides that.
        Assert.True(embed.to(ScalarType.Float32).allclose(expected.to(ScalarType.Float32), rtol: 1e-2, atol: 1e-2));
        using var whole = algorithm.Fuse(pool);
        Assert.True(whole.Weights["embed.weight"].equal(embed).all().ToBoolean(), "the in-memory merge differs from the streamed one");
    }

    [Theory]
    [InlineData("simple_average", null)]
    [InlineData("task_arithmetic", null)]
    [InlineData("task_arithmetic", "float16")]
    [InlineData("ties_merging", null)]
    [InlineData("magmax", null)]
    public void ALargeTensor_ReachesTheWriterInRowBlocks_AndTheFileHasTheInMemoryMergesBits(string method, string? outputDType)
    {
        // A 2,100 × 2,048 bf16 "embedding" (4.3M elements > MergePlan.BlockElements): the streamed merge hands the writer
        // row blocks from one reused buffer, so the merged tensor is never whole in memory; the file still holds exactly
        // the in-memory merge (cast to float16 when asked).
        using var dir = TestData.NewTempDir();
        using var g = new TorchSharp.torch.Generator(21);
        string Save(string name, Tensor? around)
        {
            using var d = new StateDict(name);
            using var t = around is null ? randn(new long[] { 2100, 2048 }, generator: g) : around.to(ScalarType.Float32) + randn(new long[] { 2100, 2048 }, generator: g).mul_(0.1);
            d.Add("embed.weight", t.to(ScalarType.BFloat16));
            d.Add("norm.weight", ones(16));
            Checkpoint.Save(d, dir.File(name + ".safetensors"));
            return dir.File(name + ".safetensors");
        }
        string pre = Save("pre", null);
        using var preDict = StateDict.CopyFrom(Checkpoint.Open(pre));
        using var pool = ModelPool.FromCheckpoints(pre, new[] { "a", "b", "c" }.ToDictionary(n => n, n => Save(n, preDict["embed.weight"])));

        using (var streamed = ((IStreamingFusionAlgorithm)Create(method)).FuseStreaming(pool)!)
        {
            var blocks = new List<long>();
            ((IRowBlockSource)streamed).ReadInBlocks("embed.weight", b => blocks.Add(b.numel()));
            Assert.True(blocks.Count > 1, $"{blocks.Count} block(s)");
            Assert.All(blocks, n => Assert.True(n <= MergePlan.BlockElements && n % 2048 == 0, $"block of {n}"));
            Assert.Equal(2100L * 2048, blocks.Sum());
        }

        var dtype = outputDType is null ? (ScalarType?)null : ScalarType.Float16;
        StreamingMerge.MergeToCheckpoint(Create(method), pool, dir.File("merged"), outputDType: dtype);
        using var inMemory = Create(method).Fuse(pool);
        using var written = Checkpoint.Open(dir.File("merged"));
        foreach (var name in new[] { "embed.weight", "norm.weight" })
        {
            using var w = written.Read(name);
            using var e = dtype is { } d ? inMemory.Weights[name].to(d) : inMemory.Weights[name].clone();
            Assert.Equal(e.dtype, w.dtype);
            Assert.True(w.contiguous().bytes.SequenceEqual(e.contiguous().bytes), $"{name} differs from the in-memory merge");
        }
    }

    [Fact]
    public void AMergeCancelledOrFailingHalfWay_LeavesNoOutputFolder_AndAnEarlierOutputIntact()
    {
        using var dir = TestData.NewTempDir();
        using var pool = TestData.GoldenPool();
        using var cts = new CancellationTokenSource();
        int reads = 0;
        using var cancelling = new ModelPool(new Tripwire(pool.Pretrained!, () => { if (++reads == 2) cts.Cancel(); }),
            pool.ModelNames.Select(n => new KeyValuePair<string, IWeightSource>(n, pool.GetModel(n))), ownsSources: false);
        Assert.ThrowsAny<OperationCanceledException>(() =>
            StreamingMerge.MergeToCheckpoint(Create("task_arithmetic"), cancelling, dir.File("out"), maxShardBytes: 200, cancellationToken: cts.Token));
        Assert.False(Directory.Exists(dir.File("out")));

        reads = 0;
        using var failing = new ModelPool(new Tripwire(pool.Pretrained!, () => { if (++reads == 2) throw new IOException("disk gone"); }),
            pool.ModelNames.Select(n => new KeyValuePair<string, IWeightSource>(n, pool.GetModel(n))), ownsSources: false);
        Assert.Throws<IOException>(() => StreamingMerge.MergeToCheckpoint(Create("task_arithmetic"), failing, dir.File("out"), maxShardBytes: 200));
        Assert.False(Directory.Exists(dir.File("out")));

        // An earlier output keeps its files when a new merge into it fails.
        StreamingMerge.MergeToCheckpoint(Create("simple_average"), pool, dir.File("out"), maxShardBytes: 200);
        var before = Directory.GetFiles(dir.File("out")).Order().Select(File.ReadAllBytes).ToList();
        reads = 0;
        Assert.Throws<IOException>(() => StreamingMerge.MergeToCheckpoint(Create("task_arithmetic"), failing, dir.File("out"), maxShardBytes: 200));
        Assert.Equal(before, Directory.GetFiles(dir.File("out")).Order().Select(File.ReadAllBytes).ToList());
    }

    /// <summary>A source that runs an action on every read (to cancel or fail a merge half-way).</summary>
    private sealed class Tripwire(IWeightSource inner, Action onRead) : IWeightSource
    {
        public string Name => inner.Name;
        public IReadOnlyList<string> TensorNames => inner.TensorNames;
        public bool Contains(string tensorName) => inner.Contains(tensorName);
        public TensorInfo GetInfo(string tensorName) => inner.GetInfo(tensorName);
        public Tensor Read(string tensorName) { onRead(); return inner.Read(tensorName); }
        public void Dispose() { }
    }

    [Theory]
    [InlineData("emr_merging")]
    [InlineData("tall_mask_task_arithmetic")]
    [InlineData("task_singular_vector", "return_single_task_models", "true")]
    public void PerTaskParts_AreWrittenNextToTheSharedModel_AndLoadBackToTheSameTaskModels(string method, params string[] set)
    {
        using var dir = TestData.NewTempDir();
        using var pool = Bf16Pool(dir);
        var parameters = set.Chunk(2).Select(p => (p[0], p[1])).ToArray();
        string output = dir.File("merged");
        var written = StreamingMerge.MergeToCheckpoint(Create(method, parameters), pool, output, sideFilesFrom: dir.File("pretrained"));
        Assert.Equal(3, written.TaskParts);
        using var inMemory = Create(method, parameters).Fuse(pool);
        using var pretrained = Checkpoint.Open(dir.File("pretrained"));
        using var loaded = TaskSpecificWeights.Load(Path.Combine(output, TaskSpecificWeights.FolderName), pretrained);
        Assert.Equal(inMemory.TaskWeights!.Tasks, loaded.Tasks);
        foreach (var task in loaded.Tasks)
        {
            using var a = inMemory.TaskWeights.WeightsFor(task);
            using var b = loaded.WeightsFor(task);
            TestData.AssertClose(a, b, atol: 0, rtol: 0);
        }
        // Per-task parts need a folder; a single file would lose them.
        Assert.Throws<FusionException>(() => StreamingMerge.MergeToCheckpoint(Create(method, parameters), pool, dir.File("merged.safetensors")));
        Assert.False(File.Exists(dir.File("merged.safetensors")));
    }
}

using System.Collections.Concurrent;
using System.Reflection;
using FusionBench.Core.Algorithms;
using FusionBench.Core.Algorithms.Merging.AdaMerging;
using FusionBench.Core.Algorithms.Merging.TaskArithmetic;
using FusionBench.Core.Algorithms.Merging.TiesMerging;
using FusionBench.Core.Tests.TestSupport;
using FusionBench.Core.TaskVectors;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Xunit;

namespace FusionBench.Core.Tests.DependencyInjection;

/// <summary>What a host app relies on: no process-wide side effects by default, a run context instead of ambient state,
/// options from configuration validated at start-up, ILogger from DI, and a public type layout that matches the folders.</summary>
public class HostEmbeddingTests
{
    private static IConfiguration Config(params (string Key, string Value)[] pairs) =>
        new ConfigurationBuilder().AddInMemoryCollection(pairs.Select(p => new KeyValuePair<string, string?>(p.Key, p.Value))).Build();

    [Fact]
    public void Fuse_ByDefault_MeasuresNoProcessWidePeak_AndOnlyWhenAskedDoes()
    {
        using var pool = TestData.GoldenPool();
        var algorithm = new TaskArithmeticAlgorithm(new());
        using (var plain = algorithm.Fuse(pool))
            Assert.Null(plain.PeakMemoryBytes); // no /proc/self/clear_refs reset, no probe
        using var measured = algorithm.Fuse(pool, new FusionRunOptions { MeasurePeakMemory = true, TrimNativeMemory = true });
        if (OperatingSystem.IsLinux()) Assert.True(measured.PeakMemoryBytes > 0);
    }

    [Fact]
    public void ConcurrentFuseCalls_OnOneInstance_KeepTheirOwnDetails()
    {
        var algorithm = new DetailAlgorithm(new());
        using var poolA = TestData.GoldenPool();
        using var poolB = FusionBench.Core.ModelPools.ModelPool.FromCheckpoints(null, new[] { new KeyValuePair<string, string>("only_b", TestData.GoldenModel("task_b")) });
        var results = new ConcurrentDictionary<string, FusionResult>();
        var threads = new[] { ("a", (IModelPool)poolA), ("b", poolB) }.Select(x => new Thread(() => results[x.Item1] = algorithm.Fuse(x.Item2))).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        Assert.Equal("task_a", results["a"].Details["first_model"]);
        Assert.Equal("only_b", results["b"].Details["first_model"]);
        foreach (var r in results.Values) r.Dispose();
    }

    [Fact]
    public void DerivedAlgorithm_SettingInfoInItsConstructor_DoesNotCrash()
    {
        var algorithm = new InfoInConstructorAlgorithm(new());
        using var pool = TestData.GoldenPool();
        using var result = algorithm.Fuse(pool);
        Assert.Equal("info_in_constructor", result.Method.Name);
    }

    [Fact]
    public void Progress_GoesToTheRunsListener_AsTypedReports()
    {
        using var pool = FusionBenchGolden.Pool();
        var reports = new List<FusionProgress>();
        var progress = new Collect(reports);
        using var result = new TaskWiseAdaMergingAlgorithm(new() { MaxSteps = 3, BatchSize = 8 }).Fuse(pool, new FusionRunOptions { Progress = progress });
        var last = reports[^1];
        Assert.Equal(("task_wise_adamerging", 3L, 3L), (last.Operation, last.Completed, last.Total));
        Assert.StartsWith("entropy ", last.Message);
        Assert.Equal(3, ((List<double>)result.Details["entropy"]!).Count);
    }

    [Fact]
    public void Methods_LogThroughTheILoggerOfDI()
    {
        var sink = new ConcurrentQueue<string>();
        var services = new ServiceCollection();
        services.AddLogging(b => b.AddProvider(new SinkProvider(sink)).SetMinimumLevel(LogLevel.Information));
        services.AddFusionBench();
        using var sp = services.BuildServiceProvider();
        using var pool = TestData.GoldenPool();
        using var result = sp.GetRequiredService<IFusionAlgorithmProvider>().Get("task_arithmetic").Fuse(pool);
        Assert.Contains(sink, l => l.StartsWith("FusionBench.Core.Algorithms.Merging.TaskArithmetic.TaskArithmeticAlgorithm: task_arithmetic: fused 3 model(s)", StringComparison.Ordinal));
    }

    [Fact]
    public void Options_BindFromConfiguration_UnderFusionBenchsNames()
    {
        var config = Config(("FusionBench:task_arithmetic:scaling_factor", "0.7"),
            ("FusionBench:ties_merging:threshold", "30"), ("FusionBench:ties_merging:merge_func", "mean"),
            ("FusionBench:ties_merging:remove_keys:0", "embed.weight"),
            ("FusionBench:slerp:DOT_THRESHOLD", "0.99"));
        var services = new ServiceCollection();
        services.AddFusionBench(config.GetSection("FusionBench"));
        using var sp = services.BuildServiceProvider();
        sp.GetRequiredService<IStartupValidator>().Validate();
        var provider = sp.GetRequiredService<IFusionAlgorithmProvider>();
        Assert.Equal(0.7, ((TaskArithmeticAlgorithm)provider.Get("task_arithmetic")).Options.ScalingFactor);
        var ties = (TiesMergingAlgorithm)provider.Get("ties_merging");
        Assert.Equal((30.0, MergeFunction.Mean), (ties.Options.Threshold, ties.Options.MergeFunc));
        Assert.Equal(new[] { "embed.weight" }, ties.Options.RemoveKeys);
        Assert.Equal(0.99, ((FusionBench.Core.Algorithms.Merging.Slerp.SlerpAlgorithm)provider.Get("slerp")).Options.DotThreshold);
        // The keyed service (what a host injects) sees the same configuration.
        Assert.Equal(0.7, ((TaskArithmeticAlgorithm)sp.GetRequiredKeyedService<IFusionAlgorithm>("task_arithmetic")).Options.ScalingFactor);
    }

    [Theory]
    [InlineData("FusionBench:task_arithmetic:scaling_factr", "0.7", "scaling_factr")]
    [InlineData("FusionBench:tie_merging:threshold", "20", "tie_merging")]
    [InlineData("FusionBench:ties_merging:threshold", "250", "threshold")]
    public void BadConfiguration_FailsAtStartUp_NamingTheKey(string key, string value, string named)
    {
        var services = new ServiceCollection();
        services.AddFusionBench(Config((key, value)).GetSection("FusionBench"));
        using var sp = services.BuildServiceProvider();
        var e = Assert.ThrowsAny<Exception>(() => sp.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains(named, e.Message);
    }

    [Fact]
    public void PublicTypes_LiveInNamespacesThatMatchTheirFolders_AndOnlyAddExtensionsInMicrosoftsNamespace()
    {
        var assembly = typeof(IFusionAlgorithm).Assembly;
        foreach (var type in assembly.GetExportedTypes())
        {
            if (type.Namespace == "Microsoft.Extensions.DependencyInjection")
            {
                Assert.True(type.IsAbstract && type.IsSealed && type.Name.EndsWith("Extensions", StringComparison.Ordinal), $"{type.Name} is a domain type in Microsoft.Extensions.DependencyInjection");
                Assert.All(type.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.DeclaredOnly), m => Assert.StartsWith("Add", m.Name));
                continue;
            }
            Assert.StartsWith("FusionBench.Core", type.Namespace);
        }
        // Every source file's namespace is its folder's.
        string src = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "../../../../../src/FusionBench.Core"));
        foreach (var file in Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories).Where(f => !f.Contains("/obj/") && !f.Contains("/bin/")))
        {
            string ns = File.ReadLines(file).First(l => l.StartsWith("namespace ", StringComparison.Ordinal))[10..].TrimEnd(';');
            string folder = Path.GetRelativePath(src, Path.GetDirectoryName(file)!).Replace('/', '.');
            string expected = folder == "." ? "FusionBench.Core" : "FusionBench.Core." + folder;
            if (ns == "Microsoft.Extensions.DependencyInjection") Assert.Equal("FusionBench.Core.DependencyInjection", expected);
            else Assert.True(ns == expected, $"{Path.GetRelativePath(src, file)}: namespace {ns}, folder {expected}");
        }
    }

    public sealed class NoOptions;

    private sealed class DetailAlgorithm(NoOptions options) : FusionAlgorithm<NoOptions>(options)
    {
        private readonly Barrier _both = new(2);

        public override FusionAlgorithmInfo Info { get; } = new("detail", "Detail", FusionCategory.Merging, null, "Test.");

        protected override StateDict FuseCore(IModelPool modelPool, FusionContext context)
        {
            context.Details["first_model"] = modelPool.ModelNames[0];
            _both.SignalAndWait(TimeSpan.FromSeconds(30)); // both runs are in flight before either finishes
            var plan = MergePlan.Create(modelPool, Info.Name, requirePretrained: false);
            return plan.MergeEachTensor(n => plan.ReadCompute(plan.Models[0], n).clone(), context.CancellationToken);
        }
    }

    private sealed class InfoInConstructorAlgorithm : FusionAlgorithm<NoOptions>
    {
        public InfoInConstructorAlgorithm(NoOptions options) : base(options) =>
            Info = new("info_in_constructor", "Info in constructor", FusionCategory.Merging, null, "Test.");

        public override FusionAlgorithmInfo Info { get; }

        protected override StateDict FuseCore(IModelPool modelPool, FusionContext context)
        {
            var plan = MergePlan.Create(modelPool, Info.Name, requirePretrained: true);
            return plan.MergeEachTensor(n => plan.ReadCompute(plan.Pretrained!, n).clone(), context.CancellationToken);
        }
    }

    private sealed class Collect(List<FusionProgress> reports) : IProgress<FusionProgress>
    {
        public void Report(FusionProgress value) => reports.Add(value);
    }

    private sealed class SinkProvider(ConcurrentQueue<string> sink) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Sink(categoryName, sink);
        public void Dispose() { }

        private sealed class Sink(string category, ConcurrentQueue<string> sink) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
            public bool IsEnabled(LogLevel logLevel) => true;
            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                sink.Enqueue($"{category}: {formatter(state, exception)}");
        }
    }
}

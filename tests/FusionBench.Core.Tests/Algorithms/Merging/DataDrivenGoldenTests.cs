using System.Text.Json;
using FusionBench.Core.Algorithms;
using FusionBench.Core.Algorithms.Merging;
using FusionBench.Core.Algorithms.Merging.AdaMerging;
using FusionBench.Core.Algorithms.Merging.FisherMerging;
using FusionBench.Core.Algorithms.Merging.RegMean;
using FusionBench.Core.Tests.TestSupport;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FusionBench.Core.Tests.Algorithms.Merging;

/// <summary>
/// Fisher merging, RegMean and AdaMerging against FusionBench's own functions (Golden/fusionbench), on the shared tiny
/// MLP encoder with fixed heads: the per-model statistics (Fisher information, Gram matrices), the merged encoders, and
/// AdaMerging's merged weights and one entropy-minimisation step.
/// </summary>
public class DataDrivenGoldenTests
{
    private static string[] Strings(JsonElement p, string name) =>
        p.TryGetProperty(name, out var v) ? v.EnumerateArray().Select(e => e.GetString()!).ToArray() : Array.Empty<string>();

    [Theory]
    [InlineData("fisher_merging_default")]
    [InlineData("fisher_merging_unnormalized")]
    [InlineData("fisher_merging_exclude")]
    public void FisherMerging_MatchesFusionBench(string caseName)
    {
        var p = FusionBenchGolden.Case(caseName).GetProperty("parameters");
        var options = new FisherMergingOptions
        {
            NumFisherExamples = p.GetProperty("num_fisher_examples").GetInt32(),
            BatchSize = p.GetProperty("dataloader_kwargs").GetProperty("batch_size").GetInt32(),
            NormalizeFisherWeight = p.GetProperty("normalize_fisher_weight").GetBoolean(),
            MinimalFisherWeight = p.GetProperty("minimal_fisher_weight").GetDouble(),
            ExcludeParamNamesRegex = Strings(p, "exclude_param_names_regex"),
        };
        using var golden = FusionBenchGolden.Open(caseName);
        using var pool = FusionBenchGolden.Pool();
        var algorithm = new FisherMergingAlgorithm(options);
        var excluded = DataDrivenMerging.ExcludeMatcher(options.ExcludeParamNamesRegex);
        var merged = FusionBenchGolden.EncoderNames.Where(n => !excluded(n)).ToList();

        // The estimator: FusionBench's squared batch gradients of sqrt(p).detach()·log p, over whole batches.
        var norms = new List<double>();
        foreach (var task in FusionBenchGolden.Tasks)
        {
            var fisher = algorithm.Fisher(pool, task, pool.GetModel(task), excluded, default);
            Assert.Equal(merged.OrderBy(n => n), fisher.Keys.OrderBy(n => n));
            FusionBenchGolden.AssertTensors(golden, $"out.fisher.{task}.", fisher, merged);
            norms.Add(Math.Sqrt(fisher.Values.Sum(t => t.pow(2).sum().ToDouble())));
            foreach (var t in fisher.Values) t.Dispose();
        }
        FusionBenchGolden.AssertClose(golden.Read("out.fisher_norm"), tensor(norms.ToArray()), "fisher_norm (merged parameters only)");

        // The merge: excluded parameters keep the pretrained values.
        using var result = algorithm.Fuse(pool);
        FusionBenchGolden.AssertTensors(golden, "out.merged.", result.Weights, FusionBenchGolden.EncoderNames);
        foreach (var n in FusionBenchGolden.EncoderNames.Where(excluded))
            Assert.True(result.Weights[n].equal(pool.Pretrained!.Read(n)).all().ToBoolean(), $"{n} is excluded and must keep the pretrained value");
    }

    [Fact]
    public void FisherExclusion_IsAnchoredAtTheStart_AsPythonsReMatch()
    {
        var match = DataDrivenMerging.ExcludeMatcher(new[] { "fc2", "bias" });
        Assert.True(match("fc2.weight"));
        Assert.False(match("fc1.bias"));                  // "bias" occurs, but not at the start
        Assert.False(match("encoder.fc2.weight"));
        Assert.True(DataDrivenMerging.ExcludeMatcher(new[] { @".*\.bias" })("fc1.bias"));
    }

    [Theory]
    [InlineData("regmean_default")]
    [InlineData("regmean_ratio_0_5")]
    [InlineData("regmean_exclude")]
    public void RegMean_MatchesFusionBench(string caseName)
    {
        var p = FusionBenchGolden.Case(caseName).GetProperty("parameters");
        var options = new RegMeanOptions
        {
            NumRegmeanExamples = p.GetProperty("num_regmean_examples").GetInt32(),
            BatchSize = p.GetProperty("dataloader_kwargs").GetProperty("batch_size").GetInt32(),
            ReduceNonDiagonalRatio = p.GetProperty("reduce_non_diagonal_ratio").GetDouble(),
            WeightTranspose = p.GetProperty("weight_transpose").GetBoolean(),
            ExcludeParamNamesRegex = Strings(p, "exclude_param_names_regex"),
        };
        using var golden = FusionBenchGolden.Open(caseName);
        using var pool = FusionBenchGolden.Pool();
        var algorithm = new RegMeanAlgorithm(options);
        foreach (var task in FusionBenchGolden.Tasks)
        {
            var grams = algorithm.Grams(pool, (MlpEncoder)pool.Architecture, task, pool.GetModel(task), default);
            FusionBenchGolden.AssertClose(golden.Read($"out.gram.{task}.fc1"), grams["fc1.weight"], $"{task} Gram of fc1's inputs");
            FusionBenchGolden.AssertClose(golden.Read($"out.gram.{task}.fc2"), grams["fc2.weight"], $"{task} Gram of fc2's inputs");
            foreach (var t in grams.Values) t.Dispose();
        }
        using var result = algorithm.Fuse(pool);
        // FusionBench inverts in float32, this solves in float64: equal to float32 precision.
        FusionBenchGolden.AssertTensors(golden, "out.merged.", result.Weights, FusionBenchGolden.EncoderNames, rtol: 1e-3, atol: 1e-5);
    }

    [Theory]
    [InlineData("adamerging_task_wise_merge", false)]
    [InlineData("adamerging_task_wise_merge_clamped", false)]
    [InlineData("adamerging_layer_wise_merge", true)]
    [InlineData("adamerging_layer_wise_merge_clamped", true)]
    public void AdaMerging_MergedWeightsForGivenCoefficients_MatchFusionBench(string caseName, bool layerWise)
    {
        var p = FusionBenchGolden.Case(caseName).GetProperty("parameters");
        using var golden = FusionBenchGolden.Open(caseName);
        using var pool = FusionBenchGolden.Pool();
        using var dir = TestData.NewTempDir();
        // Coefficients given as a weights file, as save_merging_weights writes it (training is then skipped).
        string path = Path.Combine(dir.Path, "merging_weights.safetensors");
        using (var file = new StateDict()) { file.Add("merging_weights", golden.Read("in.merge_weight")); FusionBench.Core.Checkpoints.Checkpoint.Save(file, path); }
        var options = new AdaMergingOptions { Weights = path, ClampWeights = p.GetProperty("clamp_weights").GetBoolean() };
        IFusionAlgorithm algorithm = layerWise ? new LayerWiseAdaMergingAlgorithm(options) : new TaskWiseAdaMergingAlgorithm(options);
        using var result = algorithm.Fuse(pool);
        FusionBenchGolden.AssertTensors(golden, "out.merged.", result.Weights, FusionBenchGolden.EncoderNames);
    }

    [Theory]
    [InlineData("adamerging_task_wise_step", false)]
    [InlineData("adamerging_task_wise_step_clamped", false)]
    [InlineData("adamerging_layer_wise_step", true)]
    [InlineData("adamerging_layer_wise_step_clamped", true)]
    public void AdaMerging_OneEntropyStep_MatchesFusionBench(string caseName, bool layerWise)
    {
        var p = FusionBenchGolden.Case(caseName).GetProperty("parameters");
        using var golden = FusionBenchGolden.Open(caseName);
        // FusionBench's step used each task's first 8 test inputs; with 8 inputs and batch 8 every epoch is that batch.
        using var pool = FusionBenchGolden.Pool(testRows: 8);
        var options = new AdaMergingOptions
        {
            Lr = p.GetProperty("lr").GetDouble(),
            MaxSteps = 1,
            BatchSize = p.GetProperty("batch_size").GetInt32(),
            ClampWeights = p.GetProperty("clamp_weights").GetBoolean(),
        };
        AdaMergingAlgorithm algorithm = layerWise ? new LayerWiseAdaMergingAlgorithm(options) : new TaskWiseAdaMergingAlgorithm(options);
        var plan = MergePlan.Create(pool, algorithm.Info.Name, requirePretrained: true);
        using var merger = new TaskVectorMerger(plan);
        using var lambda = golden.Read("in.merge_weight");
        var context = new FusionContext(algorithm.Info.Name);
        algorithm.Train(pool, plan, merger, lambda, context);

        var entropy = (List<double>)context.Details["entropy"]!;
        Assert.Equal(golden.Read("out.loss").sum().ToDouble() / 3, entropy[0], 5);
        // After one Adam step each coefficient moved by lr·sign(gradient); clamped coefficients outside [0, 1] did not move.
        FusionBenchGolden.AssertClose(golden.Read("out.merge_weight"), lambda, "coefficients after one Adam step", rtol: 1e-5, atol: 1e-6);
        var grad = golden.Read("out.grad");
        var moved = (lambda - golden.Read("in.merge_weight")).abs().gt(1e-7);
        Assert.True(moved.eq(grad.ne(0)).all().ToBoolean(), "exactly the coefficients with a gradient moved");
        using var effective = options.ClampWeights ? lambda.clamp(0, 1) : lambda.alias();
        using var after = merger.Merge(effective, layerWise);
        FusionBenchGolden.AssertTensors(golden, "out.merged_after.", after, FusionBenchGolden.EncoderNames, rtol: 1e-4, atol: 1e-5);
    }
}

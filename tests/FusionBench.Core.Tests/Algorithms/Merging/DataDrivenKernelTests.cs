using FusionBench.Core.Algorithms.Merging.FisherMerging;
using FusionBench.Core.Algorithms.Merging.RegMean;
using FusionBench.Core.Algorithms.Merging.SimpleAverage;
using FusionBench.Core.Tests.TestSupport;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FusionBench.Core.Tests.Algorithms.Merging;

/// <summary>The Fisher and RegMean kernels with exact numbers and laws.</summary>
public class DataDrivenKernelTests
{
    [Fact]
    public void FisherKernel_WeightsEachParameterByItsFisherInformation()
    {
        using var t1 = tensor(new double[] { 1, 2 });
        using var t2 = tensor(new double[] { 3, 4 });
        using var f1 = tensor(new double[] { 1, 0 });
        using var f2 = tensor(new double[] { 0, 1 });
        using var sharp = FisherKernel.Merge(new[] { t1, t2 }, new[] { f1, f2 }, new[] { 1.0, 1.0 }, 0);
        Assert.Equal(new double[] { 1, 4 }, sharp.data<double>().ToArray());
        using var smooth = FisherKernel.Merge(new[] { t1, t2 }, new[] { f1, f2 }, new[] { 1.0, 1.0 }, 1); // (2·1 + 1·3)/3, (1·2 + 2·4)/3
        Assert.Equal(new[] { 5 / 3.0, 10 / 3.0 }, smooth.data<double>().ToArray(), new Tolerance(1e-12));
    }

    [Fact]
    public void FisherKernel_WithEqualFisherInformation_IsSimpleAveraging()
    {
        using var g = new Generator(1);
        var thetas = Enumerable.Range(0, 3).Select(_ => randn(new long[] { 4, 5 }, generator: g)).ToList();
        using var fisher = rand(new long[] { 4, 5 }, generator: g);
        using var merged = FisherKernel.Merge(thetas, new[] { fisher, fisher, fisher }, new[] { 0.2, 0.2, 0.2 }, 1e-6);
        using var mean = stack(thetas).mean(new long[] { 0 });
        Assert.True(merged.allclose(mean, rtol: 1e-5, atol: 1e-6));
        foreach (var t in thetas) t.Dispose();
    }

    [Fact]
    public void RegMeanKernel_OnOneLinearLayer_IsTheLeastSquaresSolutionOnTheUnionOfInputs()
    {
        using var g = new Generator(2);
        const int tokens = 40, inWidth = 6, outWidth = 3;
        var xs = Enumerable.Range(0, 3).Select(_ => randn(new long[] { tokens, inWidth }, dtype: ScalarType.Float64, generator: g)).ToList();
        var ws = Enumerable.Range(0, 3).Select(_ => randn(new long[] { outWidth, inWidth }, dtype: ScalarType.Float64, generator: g)).ToList();
        var grams = xs.Select(x => x.t().matmul(x) / tokens).ToList();
        using var merged = RegMeanKernel.Merge(ws, grams, ratio: 1.0);
        // min_W Σᵢ ‖Xᵢ Wᵀ − Xᵢ Wᵢᵀ‖²: least squares on the stacked inputs and the models' own outputs.
        using var a = cat(xs, 0);
        using var b = cat(xs.Zip(ws, (x, w) => x.matmul(w.t())).ToList(), 0);
        var (solution, _, _, _) = linalg.lstsq(a, b);
        using (solution)
            Assert.True(merged.allclose(solution.t(), rtol: 1e-8, atol: 1e-10), $"max |diff| {(merged - solution.t()).abs().max().ToDouble()}");
        foreach (var t in xs.Concat(ws).Concat(grams)) t.Dispose();
    }

    [Fact]
    public void RegMeanKernel_OfIdenticalLayers_ReturnsThatLayer()
    {
        using var g = new Generator(3);
        using var w = randn(new long[] { 3, 4 }, generator: g);
        using var x = randn(new long[] { 10, 4 }, generator: g);
        using var gram = x.t().matmul(x);
        using var merged = RegMeanKernel.Merge(new[] { w, w }, new[] { gram, gram * 2 }, 0.95);
        Assert.True(merged.allclose(w, rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public void RegMeanKernel_WithoutWeightTranspose_SolvesInByOutWeights()
    {
        // The same layers stored in × out (GPT-2's Conv1D) give the transposed solution of the out × in ones.
        var g = new[] { tensor(new double[,] { { 2, 0.5 }, { 0.5, 1 } }), tensor(new double[,] { { 1, -0.2 }, { -0.2, 3 } }) };
        var w = new[] { tensor(new double[,] { { 1, 2 }, { 3, 4 }, { 5, 6 } }), tensor(new double[,] { { -1, 0 }, { 2, 1 }, { 0, 3 } }) };
        using var outIn = RegMeanKernel.Merge(w, g, 0.9, transpose: true);
        using var inOut = RegMeanKernel.Merge(w.Select(x => x.t()).ToList(), g, 0.9, transpose: false);
        Assert.Equal(new long[] { 2, 3 }, inOut.shape);
        Assert.True(inOut.allclose(outIn.t(), 1e-12, 1e-12));
    }

    [Fact]
    public void ShuffledBatches_CoverEveryInputOncePerEpoch_AsAShuffledLoader()
    {
        // FusionBench iterates a shuffled DataLoader: within an epoch no input repeats (sampling with replacement would).
        using var g = new TorchSharp.torch.Generator(3);
        var batches = new FusionBench.Core.Algorithms.ShuffledBatches(10, 4, g);
        for (int epoch = 0; epoch < 3; epoch++)
        {
            var sizes = new List<long>();
            var seen = new List<long>();
            for (int b = 0; b < 3; b++)
            {
                using var idx = batches.Next();
                sizes.Add(idx.shape[0]);
                seen.AddRange(idx.data<long>().ToArray());
            }
            Assert.Equal(new long[] { 4, 4, 2 }, sizes);                  // the last batch of an epoch is shorter
            Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), seen.Order());
        }
    }

    private sealed class Tolerance(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;
        public int GetHashCode(double obj) => 0;
    }
}

using FusionBench.Core.DependencyInjection;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using FusionBench.Core;
using FusionBench.Core.Algorithms;
using Microsoft.Extensions.DependencyInjection;
using static TorchSharp.torch;

namespace FusionBench.Samples.CustomAlgorithm;

/// <summary>Options of the sample method: public settable properties become snake_case parameters.</summary>
public sealed class MedianMergingOptions
{
    /// <summary>λ in θ₀ + λ·median(τ).</summary>
    [Description("λ in θ₀ + λ·median(τᵢ): how much of the element-wise median task vector is added.")]
    [Range(0.0, 10.0)]
    public double ScalingFactor { get; set; } = 1.0;
}

/// <summary>θ* = θ₀ + λ · median over models of (θᵢ − θ₀), element-wise: a robust alternative to the mean.</summary>
public sealed class MedianMergingAlgorithm(MedianMergingOptions options) : FusionAlgorithm<MedianMergingOptions>(options)
{
    public override FusionAlgorithmInfo Info { get; } = new("median_merging", "Median Merging", FusionCategory.Merging,
        null, "Adds the element-wise median of the task vectors to the pretrained model.");

    protected override StateDict FuseCore(IModelPool modelPool, CancellationToken cancellationToken)
    {
        var pre = modelPool.Pretrained ?? throw new FusionException("median_merging needs a pretrained model.");
        var output = new StateDict("median");
        foreach (var name in pre.TensorNames)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();          // every temporary of this tensor is freed at the end
            var p = pre.Read(name);
            if (!is_floating_point(p.dtype))
            {
                output.Add(name, p.clone());
                continue;
            }
            var taskVectors = stack(modelPool.ModelNames.Select(m => modelPool.GetModel(m).Read(name).to(ScalarType.Float32) - p.to(ScalarType.Float32)));
            // The (lower) median is the ⌈N/2⌉-th smallest entry along the model dimension.
            var (median, _) = taskVectors.kthvalue((modelPool.ModelNames.Count + 1) / 2, 0, false);
            var merged = p.to(ScalarType.Float32) + median * Options.ScalingFactor;
            output.Add(name, merged.to(p.dtype));          // StateDict.Add takes the tensor out of the scope
        }
        return output;
    }
}

/// <summary>Lets the fusionbench CLI load this method: <c>fusionbench --plugin CustomAlgorithm.dll ...</c>.</summary>
public sealed class MedianMergingPlugin : IFusionBenchPlugin
{
    public void Configure(IFusionBenchBuilder builder) =>
        builder.AddAlgorithm<MedianMergingAlgorithm, MedianMergingOptions>("median_merging");
}

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

    // MergePlan checks names, shapes and dtypes up front and runs the per-tensor loop (dtype round trip, integer
    // buffers copied, partial output disposed on error); the method only says how one tensor is merged.
    protected override StateDict FuseCore(IModelPool modelPool, FusionContext context)
    {
        var plan = MergePlan.Create(modelPool, Info.Name, requirePretrained: true);
        return plan.MergeEachTensor(name =>
        {
            var pre = plan.ReadCompute(plan.Pretrained!, name);
            var taskVectors = stack(plan.Models.Select(m => plan.ReadCompute(m, name) - pre));
            // The (lower) median is the ⌈N/2⌉-th smallest entry along the model dimension.
            var (median, _) = taskVectors.kthvalue((plan.Count + 1) / 2, 0, false);
            return pre + median * Options.ScalingFactor;
        }, context.CancellationToken);
    }
}

/// <summary>Lets the fusionbench CLI load this method: <c>fusionbench --plugin CustomAlgorithm.dll ...</c>.</summary>
public sealed class MedianMergingPlugin : IFusionBenchPlugin
{
    public void Configure(IFusionBenchBuilder builder) =>
        builder.AddAlgorithm<MedianMergingAlgorithm, MedianMergingOptions>("median_merging");
}

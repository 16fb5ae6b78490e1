using FusionBench.Core.Algorithms;
using FusionBench.Core.Algorithms.Merging.TaskArithmetic;
using FusionBench.Core.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using Xunit;
using static TorchSharp.torch;

namespace FusionBench.Core.Tests.DependencyInjection;

public class DependencyInjectionTests
{
    private static ServiceProvider Build(Action<IFusionBenchBuilder>? configure = null)
    {
        var services = new ServiceCollection();
        var builder = services.AddFusionBench();
        configure?.Invoke(builder);
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    [Fact]
    public void AddFusionBench_RegistersEveryBuiltInMethod_AsKeyedServiceAndInProvider()
    {
        using var sp = Build();
        var provider = sp.GetRequiredService<IFusionAlgorithmProvider>();
        string[] expected = { "simple_ensemble", "weighted_ensemble", "max_model_predictor", "simple_average", "weighted_average", "task_arithmetic", "ties_merging", "dare_task_arithmetic", "dare_ties_merging", "slerp", "magmax", "model_stock", "breadcrumbs", "breadcrumbs_ties", "della", "della_linear", "nuslerp", "karcher", "task_singular_vector", "iso_c", "iso_cts", "wudi", "tall_mask_task_arithmetic", "tall_mask_consensus", "emr_merging", "fisher_merging", "regmean", "task_wise_adamerging", "layer_wise_adamerging", "depth_upscaling", "moe_upscaling", "moe_merging", "model_recombination", "weight_ensembling_moe" };
        Assert.Equal(expected, provider.Registrations.Select(r => r.Name));
        foreach (var name in expected)
        {
            Assert.Equal(name, provider.Get(name).Info.Name);
            Assert.Equal(name, sp.GetRequiredKeyedService<IFusionAlgorithm>(name).Info.Name);
        }
    }

    [Fact]
    public void AddFusionBench_Twice_RegistersEachMethodOnce()
    {
        var services = new ServiceCollection();
        services.AddFusionBench();
        services.AddFusionBench();
        using var sp = services.BuildServiceProvider();
        Assert.Equal(34, sp.GetRequiredService<IFusionAlgorithmProvider>().Registrations.Count);
        Assert.Single(services, d => d.ServiceType == typeof(IFusionAlgorithmProvider));
    }

    [Fact]
    public void UnknownMethod_ListsTheRegisteredOnes()
    {
        using var sp = Build();
        var e = Assert.Throws<UnknownFusionAlgorithmException>(() => sp.GetRequiredService<IFusionAlgorithmProvider>().Get("tie_merging"));
        Assert.Contains("'tie_merging'", e.Message);
        Assert.Contains("ties_merging", e.Message);
        Assert.Contains("task_arithmetic", e.Message);
        Assert.False(sp.GetRequiredService<IFusionAlgorithmProvider>().TryGet("tie_merging", out _));
    }

    [Fact]
    public void Configure_ChangesTheRegisteredDefaults_AndCreateOverridesPerCall()
    {
        using var sp = Build(b => b.AddTaskArithmetic("ta_strong", o => o.ScalingFactor = 0.8));
        var provider = sp.GetRequiredService<IFusionAlgorithmProvider>();
        Assert.Equal(0.8, ((TaskArithmeticAlgorithm)provider.Get("ta_strong")).Options.ScalingFactor);
        Assert.Equal(0.3, ((TaskArithmeticAlgorithm)provider.Get("task_arithmetic")).Options.ScalingFactor);
        var overridden = (TaskArithmeticAlgorithm)provider.Create("ta_strong", new Dictionary<string, string> { ["scaling_factor"] = "0.1" });
        Assert.Equal(0.1, overridden.Options.ScalingFactor);
        Assert.Equal(0.8, ((TaskArithmeticAlgorithm)provider.Get("ta_strong")).Options.ScalingFactor); // override did not leak
        Assert.Equal("0.8", provider.DescribeParameters("ta_strong").Single(p => p.Name == "scaling_factor").DefaultText);
    }

    [Fact]
    public void UnknownParameter_ListsTheMethodsParametersWithTypesAndDefaults()
    {
        using var sp = Build();
        var e = Assert.Throws<FusionParameterException>(() =>
            sp.GetRequiredService<IFusionAlgorithmProvider>().Create("ties_merging", new Dictionary<string, string> { ["treshold"] = "20" }));
        Assert.Equal("treshold", e.Parameter);
        Assert.Contains("has no parameter 'treshold'", e.Message);
        Assert.Contains("threshold (float, default 20)", e.Message);
        Assert.Contains("merge_func (sum|mean|max, default sum)", e.Message);
    }

    [Theory]
    [InlineData("ties_merging", "scaling_factor", "lots", "expects float")]
    [InlineData("ties_merging", "merge_func", "median", "allowed values are sum|mean|max")]
    [InlineData("weighted_average", "normalize", "yes", "expects bool")]
    [InlineData("weighted_average", "weights", "[0.5,x]", "expects list[float]")]
    [InlineData("ties_merging", "threshold", "150", "threshold")]
    [InlineData("dare_task_arithmetic", "sparsity_ratio", "1", "sparsity_ratio")]
    public void IllTypedOrOutOfRangeParameter_IsAClearError(string method, string key, string value, string expected)
    {
        using var sp = Build();
        var e = Assert.Throws<FusionParameterException>(() =>
            sp.GetRequiredService<IFusionAlgorithmProvider>().Create(method, new Dictionary<string, string> { [key] = value }));
        Assert.Contains(expected, e.Message);
        Assert.Equal(key, e.Parameter);
    }

    [Fact]
    public void ListsAndBooleansAndEnums_ParseFromText()
    {
        using var sp = Build();
        var provider = sp.GetRequiredService<IFusionAlgorithmProvider>();
        var wa = (FusionBench.Core.Algorithms.Merging.WeightedAverage.WeightedAverageAlgorithm)provider.Create("weighted_average",
            new Dictionary<string, string> { ["weights"] = "[0.2, 0.3,0.5]", ["normalize"] = "false" });
        Assert.Equal(new[] { 0.2, 0.3, 0.5 }, wa.Options.Weights);
        Assert.False(wa.Options.Normalize);
        var ties = (FusionBench.Core.Algorithms.Merging.TiesMerging.TiesMergingAlgorithm)provider.Create("ties_merging",
            new Dictionary<string, string> { ["merge_func"] = "mean", ["remove_keys"] = "[a.weight,'b.bias']" });
        Assert.Equal(FusionBench.Core.TaskVectors.MergeFunction.Mean, ties.Options.MergeFunc);
        Assert.Equal(new[] { "a.weight", "b.bias" }, ties.Options.RemoveKeys);
        var depth = (FusionBench.Core.Algorithms.Mixing.DepthUpscaling.DepthUpscalingAlgorithm)provider.Create("depth_upscaling",
            new Dictionary<string, string> { ["layer_indices"] = "[range(0,4),3,range(2,6)]" });
        Assert.Equal(new[] { "range(0,4)", "3", "range(2,6)" }, depth.Options.LayerIndices);
    }

    [Fact]
    public void CustomAlgorithm_ResolvesThroughProviderAndKeyedService_AndFuses()
    {
        using var sp = Build(b => b.AddAlgorithm<ScaledCopyAlgorithm, ScaledCopyOptions>("scaled_copy", o => o.Factor = 3));
        var provider = sp.GetRequiredService<IFusionAlgorithmProvider>();
        Assert.Contains(provider.Registrations, r => r.Name == "scaled_copy" && r.OptionsType == typeof(ScaledCopyOptions));
        var algorithm = sp.GetRequiredKeyedService<IFusionAlgorithm>("scaled_copy");
        using var model = TestData.Dict(("w", tensor(new float[] { 1, 2 })));
        using var pool = new ModelPools.ModelPool(null, new[] { new KeyValuePair<string, IWeightSource>("m", model) }, ownsSources: false);
        using var result = algorithm.Fuse(pool);
        Assert.Equal(new float[] { 3, 6 }, TestData.Values(result.Weights["w"]));
        Assert.Equal(3.0, result.Parameters["factor"]);
        Assert.Throws<FusionParameterException>(() => provider.Create("scaled_copy", new Dictionary<string, string> { ["factor"] = "11" }));
    }

    [Fact]
    public void RegisteringAnotherTypeUnderABuiltInName_Throws()
    {
        var builder = new ServiceCollection().AddFusionBench();
        Assert.Throws<InvalidOperationException>(() => builder.AddAlgorithm<ScaledCopyAlgorithm, ScaledCopyOptions>("task_arithmetic"));
    }
}

// DependencyInjection: resolve fusion methods by name from a service provider, with configured defaults.
using FusionBench.Core;
using FusionBench.Core.DependencyInjection;
using FusionBench.Core.Options;
using FusionBench.Core.Checkpoints;
using FusionBench.Core.ModelPools;
using Microsoft.Extensions.DependencyInjection;

var services = new ServiceCollection();
services.AddFusionBench()                                         // every built-in method under its FusionBench name
        .AddTiesMerging("ties_paper", o =>                        // a second registration with the TIES paper's settings
        {
            o.MergeFunc = FusionBench.Core.TaskVectors.MergeFunction.Mean;
            o.ScalingFactor = 1.0;
        });
using var provider = services.BuildServiceProvider();

string data = args.Length > 0 ? args[0] : Path.Combine(AppContext.BaseDirectory, "data", "tiny-mlp");
using var pool = ModelPool.FromCheckpoints(Path.Combine(data, "pretrained"),
    new[] { "task_a", "task_b", "task_c" }.ToDictionary(t => t, t => Path.Combine(data, t + ".safetensors")));

var algorithms = provider.GetRequiredService<IFusionAlgorithmProvider>();
foreach (var name in new[] { "task_arithmetic", "ties_merging", "ties_paper" })
{
    // Keyed services work too: provider.GetRequiredKeyedService<IFusionAlgorithm>(name)
    IFusionAlgorithm algorithm = algorithms.Get(name);
    using var result = algorithm.Fuse(pool);
    string parameters = string.Join(", ", result.Parameters.Select(p => $"{p.Key}={FusionParameterValue.Format(p.Value)}"));
    Checkpoint.Save(result.Weights, $"merged-{name}.safetensors");
    Console.WriteLine($"{name,-16} {parameters}  ->  merged-{name}.safetensors");
}

// Parameters can also be given as text, the way the CLI's --set does.
var custom = algorithms.Create("task_arithmetic", new Dictionary<string, string> { ["scaling_factor"] = "0.5" });
using var scaled = custom.Fuse(pool);
Console.WriteLine($"task_arithmetic with scaling_factor=0.5: {scaled.Weights.Count} tensors");

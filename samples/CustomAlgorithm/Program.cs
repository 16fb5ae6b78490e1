using FusionBench.Core.DependencyInjection;
// CustomAlgorithm: write your own fusion method, register it like a built-in, and use it from C# or the CLI.
using FusionBench.Core;
using FusionBench.Core.Checkpoints;
using FusionBench.Core.ModelPools;
using FusionBench.Samples.CustomAlgorithm;
using Microsoft.Extensions.DependencyInjection;

var services = new ServiceCollection();
new MedianMergingPlugin().Configure(services.AddFusionBench());
using var provider = services.BuildServiceProvider();

string data = args.Length > 0 ? args[0] : Path.Combine(AppContext.BaseDirectory, "data", "tiny-mlp");
using var pool = ModelPool.FromCheckpoints(Path.Combine(data, "pretrained"),
    new[] { "task_a", "task_b", "task_c" }.ToDictionary(t => t, t => Path.Combine(data, t + ".safetensors")));

var median = provider.GetRequiredService<IFusionAlgorithmProvider>().Get("median_merging");
using var result = median.Fuse(pool);
Checkpoint.Save(result.Weights, "merged-median.safetensors");
Console.WriteLine($"{result.Method.DisplayName}: {result.Weights.Count} tensors -> merged-median.safetensors");
Console.WriteLine("From the CLI: fusionbench --plugin CustomAlgorithm.dll merge --method median_merging ...");

// Configuration: fuse with AddFusionBench() and appsettings.json alone. The "FusionBench:Methods" section sets each
// method's parameters under FusionBench's names; "FusionBench:Merge" says which methods to run on which checkpoints.
using FusionBench.Core;
using FusionBench.Core.Checkpoints;
using FusionBench.Core.DependencyInjection;
using FusionBench.Core.ModelPools;
using FusionBench.Core.Options;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

var configuration = new ConfigurationBuilder()
    .SetBasePath(AppContext.BaseDirectory)
    .AddJsonFile("appsettings.json", optional: false)
    .Build();

var services = new ServiceCollection();
services.AddLogging(b => b.AddConfiguration(configuration.GetSection("Logging")).AddSimpleConsole(o => o.SingleLine = true));
services.AddFusionBench(configuration.GetSection("FusionBench:Methods"));
using var provider = services.BuildServiceProvider();
// A generic host runs the ValidateOnStart checks itself; a plain console app asks for them. A typo in a method or
// parameter name, or a value out of range, stops the app here with a message naming it.
provider.GetRequiredService<IStartupValidator>().Validate();

var merge = configuration.GetSection("FusionBench:Merge");
string Resolve(string path) => Path.IsPathRooted(path) ? path : Path.Combine(AppContext.BaseDirectory, path);
using var pool = ModelPool.FromCheckpoints(Resolve(merge["Pretrained"]!),
    merge.GetSection("Models").GetChildren().ToDictionary(m => m.Key, m => Resolve(m.Value!)));

var algorithms = provider.GetRequiredService<IFusionAlgorithmProvider>();
foreach (var name in merge.GetSection("Methods").Get<string[]>() ?? Array.Empty<string>())
{
    using var result = algorithms.Get(name).Fuse(pool);
    string output = merge["Output"]!.Replace("{method}", name, StringComparison.Ordinal);
    Checkpoint.Save(result.Weights, output);
    string parameters = string.Join(", ", result.Parameters.Select(p => $"{p.Key}={FusionParameterValue.Format(p.Value)}"));
    Console.WriteLine($"{name}: {parameters} -> {output}");
}

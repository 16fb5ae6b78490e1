// YourOwnModels: fuse two of your own BERT classifiers (Hugging Face folders) with RegMean and AdaMerging, from CSV data.
using FusionBench.Core.Algorithms.Merging.AdaMerging;
using FusionBench.Core.Algorithms.Merging.RegMean;
using FusionBench.Core.ModelPools.HuggingFace;

string root = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "fusionbench-your-own-models");
ExampleFolders.Write(root); // two tiny BERT classifiers, their pretrained model and CSV data (stand-ins for yours)

using var pool = HuggingFaceModelPool.Open(new HuggingFacePoolOptions
{
    Pretrained = Path.Combine(root, "pretrained"),
    Models = new Dictionary<string, string> { ["sentiment"] = Path.Combine(root, "sentiment"), ["topic"] = Path.Combine(root, "topic") }.ToList(),
    TrainData = new Dictionary<string, string> { ["sentiment"] = Path.Combine(root, "sentiment-train.csv"), ["topic"] = Path.Combine(root, "topic-train.csv") },
    TestData = new Dictionary<string, string> { ["sentiment"] = Path.Combine(root, "sentiment-test.csv"), ["topic"] = Path.Combine(root, "topic-test.csv") },
});
var taskPool = pool.CreateTaskPool();

using var regmean = new RegMeanAlgorithm(new RegMeanOptions { NumRegmeanExamples = 64, BatchSize = 16 }).Fuse(pool);
using var adamerging = new LayerWiseAdaMergingAlgorithm(new AdaMergingOptions { MaxSteps = 20, BatchSize = 16 }).Fuse(pool);
foreach (var result in new[] { regmean, adamerging })
{
    var report = taskPool.Evaluate(result);
    Console.WriteLine($"{result.Method.Name}: " + string.Join(", ", report.Tasks.Select(t => $"{t.Key} {t.Value.Accuracy:P1}")) + $", average {report.Average.Accuracy:P1}");
}

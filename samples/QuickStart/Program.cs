// QuickStart: merge three fine-tuned checkpoints into their pretrained model with task arithmetic.
using FusionBench.Core.Algorithms.Merging.TaskArithmetic;
using FusionBench.Core.Checkpoints;
using FusionBench.Core.ModelPools;

string data = args.Length > 0 ? args[0] : Path.Combine(AppContext.BaseDirectory, "data", "tiny-mlp");
string output = args.Length > 1 ? args[1] : "merged-quickstart.safetensors";

// The pool opens each checkpoint lazily: only headers now, one tensor at a time while merging.
using var pool = ModelPool.FromCheckpoints(
    pretrainedPath: Path.Combine(data, "pretrained"),
    models: new Dictionary<string, string>
    {
        ["task_a"] = Path.Combine(data, "task_a.safetensors"),
        ["task_b"] = Path.Combine(data, "task_b.safetensors"),
        ["task_c"] = Path.Combine(data, "task_c.safetensors"),
    });

var algorithm = new TaskArithmeticAlgorithm(new TaskArithmeticOptions { ScalingFactor = 0.3 });
using var result = algorithm.Fuse(pool);
Checkpoint.Save(result.Weights, output);

Console.WriteLine($"{result.Method.DisplayName}: merged {pool.ModelNames.Count} models into {output} " +
                  $"({result.Weights.Count} tensors) in {result.WallTime.TotalMilliseconds:F1} ms.");

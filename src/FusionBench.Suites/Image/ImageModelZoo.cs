using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using FusionBench.Core.Checkpoints;
using FusionBench.Core.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FusionBench.Suites.Image;

/// <summary>
/// Builds, caches and locates the image suite's model zoo: a backbone pretrained on a task that is not one of the
/// eight, a head per task fitted on its frozen features, and per task one fully fine-tuned and one LoRA model
/// (backbone trained, head frozen, as FusionBench's CLIP models are). Deterministic from the options' seed.
/// </summary>
public static class ImageModelZoo
{
    /// <summary>The manifest's file name inside a zoo folder.</summary>
    public const string ManifestFile = "manifest.json";

    /// <summary>The pretrained backbone's checkpoint.</summary>
    public static string PretrainedPath(string zoo) => Path.Combine(zoo, "pretrained.safetensors");

    /// <summary>A task's head (<c>weight</c>, <c>bias</c>).</summary>
    public static string HeadPath(string zoo, string task) => Path.Combine(zoo, "heads", task + ".safetensors");

    /// <summary>A task's fine-tuned backbone.</summary>
    public static string ModelPath(string zoo, string task, FineTuning kind) =>
        Path.Combine(zoo, kind == FineTuning.Full ? "full" : "lora", task + ".safetensors");

    /// <summary>
    /// Returns the zoo at <paramref name="zooDirectory"/> if it was built with the same options and is complete;
    /// otherwise (or with <paramref name="force"/>) builds it. A build writes into a temporary sibling folder that
    /// replaces the zoo only when complete, so an interrupted build never leaves a half-written zoo.
    /// </summary>
    public static ImageZooManifest EnsureBuilt(string dataDirectory, string zooDirectory, ImageZooOptions options, bool force = false,
        IProgress<FusionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ImageZooManifest? Cached()
        {
            var existing = ImageZooManifest.TryLoad(Path.Combine(zooDirectory, ManifestFile));
            if (force || existing is null || existing.Options != options || !IsComplete(zooDirectory, existing)) return null;
            progress?.Report(new FusionProgress("zoo", 0, 0, TimeSpan.Zero, $"using the cached zoo in {zooDirectory} (built with the same options; --force rebuilds)"));
            return existing;
        }
        if (Cached() is { } cached) return cached;
        // One training at a time; a build that finished while this one waited is used, not repeated.
        using var gate = TrainingGate.Enter("zoo", progress, cancellationToken);
        if (!force && Cached() is { } built) return built;
        return AtomicFolder.Write(zooDirectory, building => Build(dataDirectory, building, options, progress, cancellationToken));
    }

    private static bool IsComplete(string zoo, ImageZooManifest m) =>
        File.Exists(PretrainedPath(zoo)) && m.Tasks.All(t => File.Exists(HeadPath(zoo, t.Name)) && File.Exists(ModelPath(zoo, t.Name, FineTuning.Full))
            && (!m.Options.BuildLora || File.Exists(ModelPath(zoo, t.Name, FineTuning.Lora))));

    private static ImageZooManifest Build(string dataDirectory, string zoo, ImageZooOptions o, IProgress<FusionProgress>? progress, CancellationToken ct)
    {
        var total = Stopwatch.StartNew();
        var seconds = new Dictionary<string, double>();
        var model = new ClipVisionModel(o.Config);
        using var g = new Generator((ulong)o.Seed);
        var tasks = ImageSuiteData.LoadTasks(dataDirectory, o.TrainPerTask, o.TestPerTask);
        try
        {
            // 1. Pretraining: rotation prediction on MNIST + Fashion-MNIST images (not one of the eight tasks).
            var sw = Stopwatch.StartNew();
            using var pretrainData = ImageSuiteData.LoadPretraining(dataDirectory, g, o.PretrainPerSource);
            int held = Math.Max(1, pretrainData.Count / 10);
            using var pretrainTrain = new ImageDataset(pretrainData.Images.narrow(0, held, pretrainData.Count - held).clone(), pretrainData.Labels.narrow(0, held, pretrainData.Count - held).clone());
            using var init = model.InitializeWeights(g);
            var weights = ImageTraining.AsParameters(init, out var trainable);
            var headW = new Parameter(randn(new long[] { 4, o.Config.HiddenSize }, generator: g).mul_(0.02), requires_grad: true);
            var headB = new Parameter(zeros(4), requires_grad: true);
            var pre = Progress(progress, "pretraining (rotation prediction)");
            ImageTraining.Train(trainable.Append(headW).Append(headB), pretrainTrain, o.PretrainEpochs, o.BatchSize, o.LearningRate, 0.01, g,
                (x, y) => F.cross_entropy(F.linear(model.Forward(weights, x), headW, headB), y), ct, pre);
            double pretrainAccuracy = ImageTraining.Evaluate(x => F.linear(model.Forward(weights, x), headW, headB),
                pretrainData.Images.narrow(0, 0, held), pretrainData.Labels.narrow(0, 0, held)).Accuracy;
            using var pretrained = ImageTraining.Snapshot(weights, model.Parameters.Keys, "pretrained");
            foreach (var p in trainable) p.Dispose();
            headW.Dispose();
            headB.Dispose();
            Checkpoint.Save(pretrained, PretrainedPath(zoo));
            seconds["pretraining"] = sw.Elapsed.TotalSeconds;
            progress?.Report(new FusionProgress("pretraining", 0, 0, sw.Elapsed, string.Create(CultureInfo.InvariantCulture, $"done, rotation accuracy {pretrainAccuracy:P1}")));

            // 2. Heads on frozen pretrained features (the counterpart of CLIP's zero-shot heads).
            sw.Restart();
            var heads = new Dictionary<string, StateDict>();
            var records = new Dictionary<string, (double Pre, double Full, double? Lora, double FullSec, double LoraSec)>();
            try
            {
                foreach (var task in tasks)
                {
                    heads[task.Name] = FitHead(model, pretrained, task, o.HeadSteps, g);
                    Checkpoint.Save(heads[task.Name], HeadPath(zoo, task.Name));
                }
                seconds["heads"] = sw.Elapsed.TotalSeconds;

                // 3. Fine-tuning per task: full and LoRA, head frozen.
                var fullModels = new Dictionary<string, StateDict>();
                try
                {
                    foreach (var task in tasks)
                    {
                        ct.ThrowIfCancellationRequested();
                        double preAcc = EvaluateTask(model, pretrained, heads[task.Name], task).Accuracy;
                        var ft = Stopwatch.StartNew();
                        var full = FineTuneFull(model, pretrained, heads[task.Name], task, o, g, Progress(progress, $"fine-tuning {task.Name} (full)"), ct);
                        fullModels[task.Name] = full;
                        Checkpoint.Save(full, ModelPath(zoo, task.Name, FineTuning.Full));
                        double fullSec = ft.Elapsed.TotalSeconds;
                        double fullAcc = EvaluateTask(model, full, heads[task.Name], task).Accuracy;
                        double? loraAcc = null;
                        double loraSec = 0;
                        if (o.BuildLora)
                        {
                            ft.Restart();
                            using var lora = FineTuneLora(model, pretrained, heads[task.Name], task, o, g, zoo, Progress(progress, $"fine-tuning {task.Name} (LoRA r={o.LoraRank})"), ct);
                            Checkpoint.Save(lora, ModelPath(zoo, task.Name, FineTuning.Lora));
                            loraSec = ft.Elapsed.TotalSeconds;
                            loraAcc = EvaluateTask(model, lora, heads[task.Name], task).Accuracy;
                        }
                        records[task.Name] = (preAcc, fullAcc, loraAcc, fullSec, loraSec);
                        string loraText = loraAcc is double la ? string.Create(CultureInfo.InvariantCulture, $", LoRA {la:P1}") : "";
                        progress?.Report(new FusionProgress($"fine-tuning {task.Name}", 0, 0, ft.Elapsed, string.Create(CultureInfo.InvariantCulture, $"done, pretrained {preAcc:P1}, full {fullAcc:P1}{loraText}")));
                    }
                    seconds["fine_tuning"] = sw.Elapsed.TotalSeconds - seconds["heads"];

                    // 4. Interference: each fine-tuned model on every task, each with its own head.
                    sw.Restart();
                    var crossAverage = tasks.ToDictionary(t => t.Name, t =>
                        tasks.Average(other => EvaluateTask(model, fullModels[t.Name], heads[other.Name], other).Accuracy));
                    seconds["evaluation"] = sw.Elapsed.TotalSeconds;
                    seconds["total"] = total.Elapsed.TotalSeconds;

                    var manifest = new ImageZooManifest
                    {
                        Suite = o.Suite,
                        Options = o,
                        Config = ImageZooManifest.ConfigFields(o.Config),
                        Pretraining = new ImageZooManifest.PretrainingRecord { Task = "rotation prediction (4 classes) on MNIST and Fashion-MNIST training images", Accuracy = pretrainAccuracy },
                        Tasks = tasks.Select(t => new ImageZooManifest.TaskRecord
                        {
                            Name = t.Name, Source = t.Source, Transform = t.Transform, Classes = t.ClassNames.ToList(),
                            TrainSize = t.Train.Count, TestSize = t.Test.Count,
                            PretrainedAccuracy = records[t.Name].Pre, FullAccuracy = records[t.Name].Full, LoraAccuracy = records[t.Name].Lora,
                            FullAllTasksAverage = crossAverage[t.Name],
                            Seconds = new() { ["full"] = records[t.Name].FullSec, ["lora"] = records[t.Name].LoraSec },
                        }).ToList(),
                        Seconds = seconds,
                    };
                    File.WriteAllText(Path.Combine(zoo, ManifestFile), JsonSerializer.Serialize(manifest, ImageZooManifest.Json));
                    return manifest;
                }
                finally
                {
                    foreach (var m in fullModels.Values) m.Dispose();
                }
            }
            finally
            {
                foreach (var h in heads.Values) h.Dispose();
            }
        }
        finally
        {
            foreach (var t in tasks) t.Dispose();
        }
    }

    /// <summary>Accuracy and loss of a backbone with a head on a task's test set.</summary>
    internal static TaskMetrics EvaluateTask(ClipVisionModel model, IReadOnlyDictionary<string, Tensor> backbone, IReadOnlyDictionary<string, Tensor> head, ImageTask task) =>
        ImageTraining.Evaluate(x => LinearHead.Logits(head, model.Forward(backbone, x)), task.Test.Images, task.Test.Labels);

    private static StateDict FitHead(ClipVisionModel model, StateDict pretrained, ImageTask task, int steps, Generator g)
    {
        using var scope = NewDisposeScope();
        var features = ImageTraining.Features(model, pretrained, task.Train.Images);
        var w = new Parameter(zeros(task.NumClasses, model.Config.HiddenSize), requires_grad: true);
        var b = new Parameter(zeros(task.NumClasses), requires_grad: true);
        using (var opt = optim.Adam(new[] { w, b }, lr: 0.01))
        {
            for (int s = 0; s < steps; s++)
            {
                using var step = NewDisposeScope();
                opt.zero_grad();
                F.cross_entropy(F.linear(features, w, b), task.Train.Labels).backward();
                opt.step();
            }
        }
        var head = new StateDict($"head:{task.Name}");
        head.Add("weight", w.detach().clone());
        head.Add("bias", b.detach().clone());
        return head;
    }

    private static StateDict FineTuneFull(ClipVisionModel model, StateDict pretrained, StateDict head, ImageTask task, ImageZooOptions o, Generator g,
        Action<int, int, double> onStep, CancellationToken ct)
    {
        var weights = ImageTraining.AsParameters(pretrained, out var trainable);
        try
        {
            ImageTraining.Train(trainable, task.Train, o.FineTuneEpochs, o.BatchSize, o.FineTuneLearningRate, 0.01, g,
                (x, y) => F.cross_entropy(LinearHead.Logits(head, model.Forward(weights, x)), y), ct, onStep);
            return ImageTraining.Snapshot(weights, model.Parameters.Keys, $"full:{task.Name}");
        }
        finally
        {
            foreach (var p in trainable) p.Dispose();
        }
    }

    /// <summary>The attention projections LoRA adapts.</summary>
    internal static IEnumerable<string> LoraTargets(ClipVisionConfig c) =>
        Enumerable.Range(0, c.NumHiddenLayers).SelectMany(i => new[] { "q_proj", "k_proj", "v_proj", "out_proj" }
            .Select(p => $"{ClipVisionModel.LayerPrefix(i)}self_attn.{p}.weight"));

    private static StateDict FineTuneLora(ClipVisionModel model, StateDict pretrained, StateDict head, ImageTask task, ImageZooOptions o, Generator g,
        string zoo, Action<int, int, double> onStep, CancellationToken ct)
    {
        double scale = o.LoraAlpha / o.LoraRank;
        var adapters = new Dictionary<string, (Parameter A, Parameter B)>();
        foreach (var target in LoraTargets(o.Config))
        {
            var shape = pretrained[target].shape; // [out, in]
            double bound = 1.0 / Math.Sqrt(shape[1]);
            var a = new Parameter(rand(new[] { (long)o.LoraRank, shape[1] }, generator: g).mul_(2 * bound).sub_(bound), requires_grad: true);
            var b = new Parameter(zeros(shape[0], o.LoraRank), requires_grad: true); // B = 0: training starts at the pretrained model
            adapters[target] = (a, b);
        }
        try
        {
            Dictionary<string, Tensor> Weights()
            {
                var w = new Dictionary<string, Tensor>(pretrained, StringComparer.Ordinal);
                foreach (var (target, (a, b)) in adapters) w[target] = pretrained[target] + b.matmul(a).mul(scale);
                return w;
            }
            ImageTraining.Train(adapters.Values.SelectMany(ab => new[] { ab.A, ab.B }), task.Train, o.FineTuneEpochs, o.BatchSize, o.LoraLearningRate, 0.0, g,
                (x, y) => F.cross_entropy(LinearHead.Logits(head, model.Forward(Weights(), x)), y), ct, onStep);

            using var adapterDict = new StateDict($"lora-adapters:{task.Name}");
            foreach (var (target, (a, b)) in adapters)
            {
                string module = target[..^".weight".Length];
                adapterDict.Add(module + ".lora_A.weight", a.detach().clone());
                adapterDict.Add(module + ".lora_B.weight", b.detach().clone());
            }
            Checkpoint.Save(adapterDict, Path.Combine(zoo, "lora", task.Name + ".adapter.safetensors"));
            using var noGrad = no_grad();
            return ImageTraining.Snapshot(Weights(), model.Parameters.Keys, $"lora:{task.Name}"); // adapters merged into full weights
        }
        finally
        {
            foreach (var (a, b) in adapters.Values)
            {
                a.Dispose();
                b.Dispose();
            }
        }
    }

    /// <summary>A training loop's step callback reporting to <paramref name="progress"/> (throttled by <see cref="StepProgress"/>).</summary>
    private static Action<int, int, double> Progress(IProgress<FusionProgress>? progress, string what)
    {
        StepProgress? steps = null;
        return (step, total, loss) => (steps ??= new StepProgress(progress, what, total))
            .Report(step, string.Create(CultureInfo.InvariantCulture, $"loss {loss:F3}"));
    }
}

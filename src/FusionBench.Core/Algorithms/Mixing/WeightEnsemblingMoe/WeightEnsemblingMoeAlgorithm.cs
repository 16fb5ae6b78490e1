using Microsoft.Extensions.Logging;
using System.Diagnostics;
using System.Globalization;
using FusionBench.Core.Algorithms.Merging.AdaMerging;
using FusionBench.Core.Algorithms.Merging.GeneralizedTaskArithmetic;
using FusionBench.Core.Checkpoints;
using FusionBench.Core.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FusionBench.Core.Algorithms.Mixing.WeightEnsemblingMoe;

/// <summary>
/// <c>weight_ensembling_moe</c> (WEMoE, Tang et al., ICML 2024): non-MLP weights by task arithmetic with
/// <c>init_lambda</c>; each encoder layer's MLP becomes W₀ + Σᵢ rᵢ(x) τᵢ with input-conditioned routing weights from a
/// small router, trained by entropy minimisation on unlabeled test inputs (as AdaMerging).
/// </summary>
public sealed class WeightEnsemblingMoeAlgorithm(WeightEnsemblingMoeOptions options, ILogger<WeightEnsemblingMoeAlgorithm>? logger = null) : ModelFusionAlgorithm<WeightEnsemblingMoeOptions>(options, logger)
{
    /// <inheritdoc />
    public override FusionAlgorithmInfo Info { get; } = new("weight_ensembling_moe", "Weight-Ensembling MoE", FusionCategory.Mixing,
        "https://arxiv.org/abs/2402.00433", "Upscales each MLP into an input-conditioned mix of the task vectors, with routers trained on unlabeled test inputs.");

    /// <inheritdoc />
    protected override IFusedModel FuseCore(IModelPool modelPool, FusionContext context)
    {
        var data = PoolRequirements.Data(modelPool, Info.Name, "trains routers on unlabeled test inputs");
        var architecture = data.Architecture as ILayerMlpModel
            ?? throw new FusionException("Method 'weight_ensembling_moe' needs an architecture whose MLP weights can be supplied per layer (ILayerMlpModel).");
        var plan = MergePlan.Create(modelPool, Info.Name, requirePretrained: true);
        var mergedBase = GeneralizedTaskArithmeticMerger.Merge(plan, Options.InitLambda, null, null, Array.Empty<string>(), context.CancellationToken);
        using var pretrained = StateDict.CopyFrom(plan.Pretrained!);
        var models = plan.Models.Select(StateDict.CopyFrom).ToList();
        using var g = new Generator((ulong)Options.Seed);
        WeightEnsemblingMoeModel model;
        try
        {
            model = new WeightEnsemblingMoeModel(architecture, mergedBase, pretrained, models, Options, g);
        }
        finally
        {
            foreach (var m in models) m.Dispose();
        }
        try
        {
            if (Options.Checkpoint is string path) LoadRouters(model, path);
            else if (Options.MaxSteps > 0) Train(model, data, plan.ModelNames, g, context);
            if (Options.SaveCheckpoint is string save) Checkpoint.Save(model.Routers, save);
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    private void Train(WeightEnsemblingMoeModel model, IDataModelPool data, IReadOnlyList<string> tasks, Generator g, FusionContext context)
    {
        var parameters = model.RouterParameters;
        foreach (var p in parameters) p.requires_grad_(true);
        using var optimizer = optim.Adam(parameters, lr: Options.Lr);
        var progress = context.StartSteps(Options.MaxSteps);
        var entropies = new List<double>();
        // FusionBench iterates a shuffled DataLoader per task (epochs without replacement), restarting it when exhausted.
        var batches = tasks.Select(t => new ShuffledBatches(data.TestCount(t), Options.BatchSize, g)).ToList();
        for (int step = 1; step <= Options.MaxSteps; step++)
        {
            context.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            Tensor? loss = null;
            for (int i = 0; i < tasks.Count; i++)
            {
                var h = AdaMergingAlgorithm.Entropy(data.Logits(tasks[i], model.Forward(data.TestBatch(tasks[i], batches[i].Next()))));
                loss = loss is null ? h : loss + h;
            }
            loss!.backward();
            optimizer.step();
            entropies.Add(loss.ToDouble() / tasks.Count);
            progress.Report(step, string.Create(CultureInfo.InvariantCulture, $"entropy {entropies[^1]:F4}"));
        }
        foreach (var p in parameters) p.requires_grad_(false);
        context.Details["entropy"] = entropies;
        context.Details["seconds_per_step"] = progress.Elapsed.TotalSeconds / Options.MaxSteps;
        context.Logger.LogInformation("{Method}: {Steps} router steps, entropy {First:F4} -> {Last:F4}", Info.Name, Options.MaxSteps, entropies[0], entropies[^1]);
    }

    private void LoadRouters(WeightEnsemblingMoeModel model, string path)
    {
        using var file = Checkpoint.Open(path);
        foreach (var name in model.Routers.TensorNames)
        {
            if (!file.Contains(name))
                throw new FusionParameterException(Info.Name, "checkpoint", $"{path} has no router tensor '{name}' (was it saved for this pool and router depth?).");
            using var t = file.Read(name);
            if (!t.shape.SequenceEqual(model.Routers[name].shape))
                throw new FusionParameterException(Info.Name, "checkpoint", $"{path}: router tensor '{name}' has another shape than this pool needs.");
            using (no_grad()) model.Routers[name].copy_(t);
        }
    }
}

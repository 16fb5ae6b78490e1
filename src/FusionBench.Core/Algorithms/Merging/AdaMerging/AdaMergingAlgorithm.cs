using Microsoft.Extensions.Logging;
using System.Diagnostics;
using System.Globalization;
using FusionBench.Core.Checkpoints;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FusionBench.Core.Algorithms.Merging.AdaMerging;

/// <summary>
/// AdaMerging (Yang et al., ICLR 2024): θ(λ) = θ₀ + Σᵢ λᵢ τᵢ with the coefficients λ learned by test-time adaptation,
/// minimising the Shannon entropy of each task's predictions on its unlabeled test inputs (Adam, one batch per task per
/// step). Task-wise AdaMerging learns one λ per model, layer-wise one per model and parameter tensor.
/// </summary>
public abstract class AdaMergingAlgorithm : FusionAlgorithm<AdaMergingOptions>
{
    /// <summary>Validates the options.</summary>
    protected AdaMergingAlgorithm(AdaMergingOptions options, ILogger? logger) : base(options, logger) { }

    /// <summary>Whether there is one coefficient per parameter tensor (layer-wise) rather than per model.</summary>
    protected abstract bool LayerWise { get; }

    /// <inheritdoc />
    protected override StateDict FuseCore(IModelPool modelPool, FusionContext context)
    {
        var data = PoolRequirements.Data(modelPool, Info.Name, "adapts on each task's unlabeled test inputs");
        var plan = MergePlan.Create(modelPool, Info.Name, requirePretrained: true);
        foreach (var task in plan.ModelNames)
            if (!data.TaskNames.Contains(task))
                throw new FusionException($"Model '{task}' has no task data in the pool (tasks: {string.Join(", ", data.TaskNames)}).");
        using var merger = new TaskVectorMerger(plan);
        long[] lambdaShape = LayerWise ? new long[] { plan.Count, merger.Names.Count } : new long[] { plan.Count };
        using var lambda = Options.Weights is string path ? Load(path, lambdaShape) : full(lambdaShape, Options.InitValues, dtype: ScalarType.Float32);
        if (Options.Weights is null && Options.MaxSteps > 0) Train(data, plan, merger, lambda, context);
        if (Options.SaveMergingWeights is string save)
        {
            using var file = new StateDict("merging_weights");
            file.Add("merging_weights", lambda.clone());
            Checkpoint.Save(file, save);
        }
        context.Details["merging_weights"] = Nested(lambda);
        using var noGrad = no_grad();
        // FusionBench saves (and reports) the raw coefficients and clamps them only where the model is merged.
        using var effective = Options.ClampWeights ? lambda.clamp(0, 1) : lambda.alias();
        using var merged = merger.Merge(effective, LayerWise);
        var output = new StateDict("merged");
        foreach (var name in plan.TensorNames)
            output.Add(name, merged.TryGetValue(name, out var t) ? plan.ToOutput(name, t.detach().clone()) : plan.CopyUnmerged(name));
        return output;
    }

    internal void Train(IDataModelPool data, MergePlan plan, TaskVectorMerger merger, Tensor lambda, FusionContext context)
    {
        using var g = new Generator((ulong)Options.Seed);
        var parameter = new Parameter(lambda.clone(), requires_grad: true);
        using var optimizer = optim.Adam(new[] { parameter }, lr: Options.Lr);
        var entropies = new List<double>();
        var progress = context.StartSteps(Options.MaxSteps);
        var architecture = data.Architecture;
        // FusionBench iterates a shuffled DataLoader per task (epochs without replacement), restarting it when exhausted.
        var batches = plan.ModelNames.Select(t => new ShuffledBatches(data.TestCount(t), Options.BatchSize, g)).ToList();
        for (int step = 1; step <= Options.MaxSteps; step++)
        {
            context.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            // clamp_weights as FusionBench: clamped inside the forward, so coefficients outside [0, 1] get no gradient.
            var coefficients = Options.ClampWeights ? parameter.clamp(0, 1) : parameter;
            using var merged = merger.Merge(coefficients, LayerWise);
            Tensor? loss = null;
            for (int i = 0; i < plan.Count; i++)
            {
                string task = plan.ModelNames[i];
                var logits = data.Logits(task, architecture.Forward(merged, data.TestBatch(task, batches[i].Next())));
                var h = Entropy(logits);
                loss = loss is null ? h : loss + h;
            }
            loss!.backward();
            optimizer.step();
            entropies.Add(loss.ToDouble() / plan.Count);
            progress.Report(step, string.Create(CultureInfo.InvariantCulture, $"entropy {entropies[^1]:F4}"));
        }
        using (no_grad()) lambda.copy_(parameter);
        parameter.Dispose();
        context.Details["entropy"] = entropies;
        context.Details["seconds_per_step"] = progress.Elapsed.TotalSeconds / Math.Max(1, Options.MaxSteps);
        context.Logger.LogInformation("{Method}: {Steps} steps, entropy {First:F4} -> {Last:F4}", Info.Name, Options.MaxSteps, entropies[0], entropies[^1]);
    }

    /// <summary>Mean Shannon entropy of the softmax of <paramref name="logits"/> over a batch (FusionBench's 1e-8 guard).</summary>
    internal static Tensor Entropy(Tensor logits)
    {
        var p = logits.softmax(-1);
        return -(p * (p + 1e-8).log()).sum(-1).mean();
    }

    private Tensor Load(string path, long[] shape)
    {
        using var file = Checkpoint.Open(path);
        if (!file.Contains("merging_weights"))
            throw new FusionParameterException(Info.Name, "weights", $"{path} has no tensor 'merging_weights' (save one with save_merging_weights=PATH).");
        var t = file.Read("merging_weights").to(ScalarType.Float32);
        if (!t.shape.SequenceEqual(shape))
        {
            string got = string.Join(", ", t.shape);
            t.Dispose();
            throw new FusionParameterException(Info.Name, "weights", $"{path} holds merging weights of shape [{got}], but this pool needs [{string.Join(", ", shape)}].");
        }
        return t;
    }

    private static object Nested(Tensor lambda)
    {
        var values = lambda.detach().contiguous().data<float>().ToArray().Select(v => (double)v).ToArray();
        if (lambda.dim() == 1) return values;
        int cols = (int)lambda.shape[1];
        return Enumerable.Range(0, (int)lambda.shape[0]).Select(i => values.Skip(i * cols).Take(cols).ToArray()).ToArray();
    }
}

/// <summary>Holds θ₀ and every task vector of the float tensors, and builds θ₀ + Σᵢ λᵢ τᵢ (differentiable in λ).</summary>
internal sealed class TaskVectorMerger : IDisposable
{
    private readonly MergePlan _plan;
    private readonly Dictionary<string, Tensor> _pretrained = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Tensor> _taskVectors = new(StringComparer.Ordinal); // name → [N, ...]
    private readonly Dictionary<string, Tensor> _buffers = new(StringComparer.Ordinal);

    public TaskVectorMerger(MergePlan plan)
    {
        _plan = plan;
        Names = plan.TensorNames.Where(plan.IsFloat).ToList();
        foreach (var name in plan.TensorNames)
        {
            using var scope = NewDisposeScope();
            if (!plan.IsFloat(name))
            {
                _buffers[name] = plan.CopyUnmerged(name).MoveToOuterDisposeScope();
                continue;
            }
            var pre = plan.ReadCompute(plan.Pretrained!, name).to(ScalarType.Float32);
            var tv = stack(plan.Models.Select(m => plan.ReadCompute(m, name).to(ScalarType.Float32) - pre));
            _pretrained[name] = pre.clone().MoveToOuterDisposeScope();
            _taskVectors[name] = tv.MoveToOuterDisposeScope();
        }
    }

    /// <summary>The float tensors merged, in order (the columns of a layer-wise λ).</summary>
    public IReadOnlyList<string> Names { get; }

    /// <summary>θ₀ + Σᵢ λᵢ τᵢ for every float tensor (plus the integer buffers); λ is [N] or [N, L].</summary>
    public StateDict Merge(Tensor lambda, bool layerWise)
    {
        var merged = new StateDict("adamerging");
        for (int l = 0; l < Names.Count; l++)
        {
            string name = Names[l];
            var tv = _taskVectors[name];
            // The intermediates go with this scope; autograd keeps its own references to what backward needs.
            using var scope = NewDisposeScope();
            var coefficients = layerWise ? lambda.select(1, l) : lambda;
            var shape = new long[tv.dim()];
            shape[0] = tv.shape[0];
            for (int d = 1; d < shape.Length; d++) shape[d] = 1;
            merged.Add(name, _pretrained[name] + (tv * coefficients.view(shape)).sum(dim: 0));
        }
        foreach (var (name, t) in _buffers) merged.Add(name, t.alias());
        return merged;
    }

    public void Dispose()
    {
        foreach (var t in _pretrained.Values) t.Dispose();
        foreach (var t in _taskVectors.Values) t.Dispose();
        foreach (var t in _buffers.Values) t.Dispose();
    }
}

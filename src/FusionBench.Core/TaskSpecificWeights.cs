using FusionBench.Core.Algorithms;
using TorchSharp;
using static TorchSharp.torch;

namespace FusionBench.Core;

/// <summary>
/// One task's part of a merge that gives every task its own light modulator on a shared task vector (EMR-Merging's masks
/// and rescaler, TALL masks) or its own task vector (TSV's single-task models): task t's weights are
/// θₜ = θ₀ + scaleₜ · (maskₜ ⊙ τₜ), with τₜ the task's own vector if it has one, else the shared one.
/// </summary>
public sealed class TaskModulator : IDisposable
{
    /// <summary>Boolean masks by tensor name; a float tensor without a mask keeps its whole task vector. Null: no masks.</summary>
    public StateDict? Masks { get; init; }

    /// <summary>The factor of the (masked) task vector. Default 1.</summary>
    public double Scale { get; init; } = 1.0;

    /// <summary>The task's own task vector replacing the shared one, or null.</summary>
    public StateDict? TaskVector { get; init; }

    /// <summary>Disposes the masks and the task vector.</summary>
    public void Dispose()
    {
        Masks?.Dispose();
        TaskVector?.Dispose();
    }
}

/// <summary>
/// The result of a merge that is one shared model plus per-task parts (<see cref="FusionResult.TaskWeights"/>): the
/// pretrained weights θ₀, the shared task vector τ (the shared model is θ₀ + τ, <see cref="FusionResult.Weights"/>) and one
/// <see cref="TaskModulator"/> per task. A task pool evaluates each task with <see cref="WeightsFor"/>.
/// </summary>
public sealed class TaskSpecificWeights : IDisposable
{
    private readonly IReadOnlyDictionary<string, TensorInfo> _infos;

    private TaskSpecificWeights(StateDict pretrained, StateDict shared, IReadOnlyDictionary<string, TaskModulator> modulators, IReadOnlyList<string> tasks, IReadOnlyDictionary<string, TensorInfo> infos)
    {
        Pretrained = pretrained;
        SharedTaskVector = shared;
        Modulators = modulators;
        Tasks = tasks;
        _infos = infos;
    }

    /// <summary>θ₀ in the compute dtype (float32, float64 for float64 tensors), non-float tensors as stored.</summary>
    public StateDict Pretrained { get; }

    /// <summary>The shared task vector τ of the float tensors, in the compute dtype.</summary>
    public StateDict SharedTaskVector { get; }

    /// <summary>The tasks with parts, in pool order.</summary>
    public IReadOnlyList<string> Tasks { get; }

    /// <summary>Each task's modulator.</summary>
    public IReadOnlyDictionary<string, TaskModulator> Modulators { get; }

    /// <summary>The shared model θ₀ + τ, in the pretrained model's dtypes.</summary>
    public StateDict SharedWeights() => Compose("shared", name => SharedTaskVector[name].alias());

    /// <summary>Task <paramref name="task"/>'s weights θ₀ + scale·(mask ⊙ τ), in the pretrained model's dtypes. The caller owns them.</summary>
    /// <exception cref="KeyNotFoundException">The task has no part.</exception>
    public StateDict WeightsFor(string task)
    {
        var m = Modulators.TryGetValue(task, out var mod) ? mod
            : throw new KeyNotFoundException($"No per-task part for task '{task}' (tasks: {string.Join(", ", Tasks)}).");
        return Compose(task, name =>
        {
            var tv = m.TaskVector is { } own && own.Contains(name) ? own[name] : SharedTaskVector[name];
            var masked = m.Masks is { } masks && masks.Contains(name) ? tv.mul(masks[name]) : tv.alias();
            return m.Scale == 1.0 ? masked : masked.mul_(m.Scale);
        });
    }

    /// <summary>
    /// A per-task backbone function for task pools: each call builds that task's weights and disposes the previous
    /// task's (pools evaluate tasks one after another).
    /// </summary>
    public Func<string, IReadOnlyDictionary<string, Tensor>> Backbones()
    {
        return task =>
        {
            _last?.Dispose();
            _last = null;
            _last = WeightsFor(task);
            return _last;
        };
    }

    private StateDict? _last;

    private StateDict Compose(string label, Func<string, Tensor> delta)
    {
        var output = new StateDict(label);
        try
        {
            foreach (var name in Pretrained.TensorNames)
            {
                using var scope = NewDisposeScope();
                var p = Pretrained[name];
                var dtype = _infos[name].DType;
                Tensor t = SharedTaskVector.Contains(name) ? p.add(delta(name)) : p.clone();
                output.Add(name, (t.dtype == dtype ? t : t.to(dtype)).MoveToOuterDisposeScope());
            }
            return output;
        }
        catch
        {
            output.Dispose();
            throw;
        }
    }

    /// <summary>Disposes everything it holds.</summary>
    public void Dispose()
    {
        _last?.Dispose();
        _last = null;
        Pretrained.Dispose();
        SharedTaskVector.Dispose();
        foreach (var m in Modulators.Values) m.Dispose();
    }

    /// <summary>Collects θ₀ and the shared task vector tensor by tensor, then the task parts.</summary>
    internal sealed class Builder(MergePlan plan) : IDisposable
    {
        private readonly StateDict _pretrained = new("pretrained");
        private readonly StateDict _shared = new("shared_task_vector");
        private readonly Dictionary<string, StateDict> _masks = new(StringComparer.Ordinal);
        private readonly Dictionary<string, StateDict> _vectors = new(StringComparer.Ordinal);
        private readonly Dictionary<string, double> _scales = new(StringComparer.Ordinal);
        private bool _built;

        /// <summary>A float tensor: θ₀ and τ in the compute dtype (copied out of the caller's dispose scope).</summary>
        public void Add(string name, Tensor pretrained, Tensor sharedTaskVector)
        {
            _pretrained.Add(name, pretrained.clone().MoveToOuterDisposeScope());
            _shared.Add(name, sharedTaskVector.clone().MoveToOuterDisposeScope());
        }

        /// <summary>A non-float tensor: copied from the pretrained model.</summary>
        public void AddUnmerged(string name) => _pretrained.Add(name, plan.CopyUnmerged(name).MoveToOuterDisposeScope());

        public void SetMask(string task, string name, Tensor mask)
        {
            if (!_masks.TryGetValue(task, out var d)) _masks[task] = d = new StateDict("masks." + task);
            d.Add(name, mask.clone().MoveToOuterDisposeScope());
        }

        public void SetScale(string task, double scale) => _scales[task] = scale;

        public void SetTaskVector(string task, StateDict vector) => _vectors[task] = vector;

        public TaskSpecificWeights Build()
        {
            var tasks = plan.ModelNames.Where(t => _masks.ContainsKey(t) || _vectors.ContainsKey(t) || _scales.ContainsKey(t)).ToList();
            var modulators = tasks.ToDictionary(t => t, t => new TaskModulator
            {
                Masks = _masks.GetValueOrDefault(t),
                TaskVector = _vectors.GetValueOrDefault(t),
                Scale = _scales.GetValueOrDefault(t, 1.0),
            }, StringComparer.Ordinal);
            _built = true;
            return new TaskSpecificWeights(_pretrained, _shared, modulators, tasks, plan.Infos);
        }

        public void Dispose()
        {
            if (_built) return;
            _pretrained.Dispose();
            _shared.Dispose();
            foreach (var d in _masks.Values) d.Dispose();
            foreach (var d in _vectors.Values) d.Dispose();
        }
    }
}

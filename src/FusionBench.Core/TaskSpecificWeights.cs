using FusionBench.Core.Algorithms;
using FusionBench.Core.Checkpoints;
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

    /// <summary>The folder inside a merged model's folder that holds the per-task parts.</summary>
    public const string FolderName = "task_parts";

    /// <summary>
    /// Writes the parts into <paramref name="folder"/> (created; normally <c>OUTPUT/task_parts</c> next to the shared model):
    /// <c>shared_task_vector.safetensors</c> (τ in the compute dtype), one <c>&lt;task&gt;.safetensors</c> per task with its
    /// masks as BOOL tensors <c>mask.&lt;name&gt;</c> and its own task vector as <c>task_vector.&lt;name&gt;</c>, and
    /// <c>parts.json</c> with each task's scale and the formula θₜ = θ₀ + scaleₜ·(maskₜ ⊙ τₜ).
    /// </summary>
    public void Save(string folder)
    {
        Directory.CreateDirectory(folder);
        SafeTensorsWriter.Write(Path.Combine(folder, "shared_task_vector.safetensors"), SharedTaskVector);
        var tasks = new System.Text.Json.Nodes.JsonObject();
        foreach (var task in Tasks)
        {
            var m = Modulators[task];
            using var file = new StateDict(task);
            if (m.Masks is { } masks) foreach (var n in masks.TensorNames) file.Add("mask." + n, masks[n].alias());
            if (m.TaskVector is { } own) foreach (var n in own.TensorNames) file.Add("task_vector." + n, own[n].alias());
            string name = task + ".safetensors";
            SafeTensorsWriter.Write(Path.Combine(folder, name), file);
            tasks[task] = new System.Text.Json.Nodes.JsonObject { ["scale"] = m.Scale, ["file"] = name };
        }
        var doc = new System.Text.Json.Nodes.JsonObject
        {
            ["format"] = "fusionbench-task-parts/1",
            ["formula"] = "theta_t = theta_0 + scale_t * (mask_t * tau_t); tau_t = task_vector_t if present, else shared_task_vector; a tensor without mask.NAME keeps its whole task vector; theta_0 = the pretrained model",
            ["tasks"] = tasks,
        };
        File.WriteAllText(Path.Combine(folder, "parts.json"), doc.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Reads parts written by <see cref="Save"/> on top of the pretrained model they were merged from.</summary>
    /// <param name="folder">The <c>task_parts</c> folder.</param>
    /// <param name="pretrained">The pretrained model (θ₀).</param>
    /// <exception cref="FusionException">The folder is not a parts folder, or its tensors do not fit the pretrained model.</exception>
    public static TaskSpecificWeights Load(string folder, IWeightSource pretrained)
    {
        string json = Path.Combine(folder, "parts.json");
        if (!File.Exists(json)) throw new FusionException($"'{folder}' holds no parts.json (not a task_parts folder).");
        var doc = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(json))!;
        var infos = pretrained.TensorNames.ToDictionary(n => n, pretrained.GetInfo, StringComparer.Ordinal);
        var pre = new StateDict("pretrained");
        var shared = new StateDict("shared_task_vector");
        var modulators = new Dictionary<string, TaskModulator>(StringComparer.Ordinal);
        try
        {
            using (var sharedFile = SafeTensorsFile.Open(Path.Combine(folder, "shared_task_vector.safetensors")))
                foreach (var n in sharedFile.TensorNames)
                {
                    if (!infos.ContainsKey(n)) throw new FusionException($"Tensor '{n}' of the parts is not in the pretrained model.");
                    shared.Add(n, sharedFile.Read(n));
                }
            foreach (var n in pretrained.TensorNames)
            {
                var t = pretrained.Read(n);
                pre.Add(n, shared.Contains(n) ? t.to(shared[n].dtype) : t);
            }
            foreach (var (task, node) in doc["tasks"]!.AsObject())
            {
                using var file = SafeTensorsFile.Open(Path.Combine(folder, node!["file"]!.GetValue<string>()));
                StateDict? masks = null, own = null;
                foreach (var n in file.TensorNames)
                {
                    if (n.StartsWith("mask.", StringComparison.Ordinal)) (masks ??= new StateDict("masks." + task)).Add(n[5..], file.Read(n));
                    else if (n.StartsWith("task_vector.", StringComparison.Ordinal)) (own ??= new StateDict(task)).Add(n[12..], file.Read(n));
                }
                modulators[task] = new TaskModulator { Masks = masks, TaskVector = own, Scale = node["scale"]!.GetValue<double>() };
            }
            return new TaskSpecificWeights(pre, shared, modulators, modulators.Keys.ToList(), infos);
        }
        catch
        {
            pre.Dispose();
            shared.Dispose();
            foreach (var m in modulators.Values) m.Dispose();
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
        /// <summary>
        /// The per-task merges' loop: for every float tensor, <paramref name="perTensor"/> gets the builder, the name, θ₀ and
        /// the task vectors θᵢ − θ₀ (compute dtype, inside a dispose scope); non-float tensors are copied;
        /// <paramref name="finish"/> runs after the last tensor. An error or a cancellation disposes what was built.
        /// </summary>
        public static TaskSpecificWeights Collect(MergePlan plan, CancellationToken ct, Action<Builder, string, Tensor, IReadOnlyList<Tensor>> perTensor,
            Action<Builder>? finish = null)
        {
            var builder = new Builder(plan);
            try
            {
                foreach (var name in plan.TensorNames)
                {
                    ct.ThrowIfCancellationRequested();
                    using var scope = NewDisposeScope();
                    if (!plan.IsFloat(name))
                    {
                        builder.AddUnmerged(name);
                        continue;
                    }
                    var p = plan.ReadCompute(plan.Pretrained!, name);
                    perTensor(builder, name, p, plan.TaskVectors(name, p));
                }
                finish?.Invoke(builder);
                return builder.Build();
            }
            catch
            {
                builder.Dispose();
                throw;
            }
        }

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

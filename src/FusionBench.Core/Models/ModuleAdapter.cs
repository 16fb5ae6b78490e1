using System.Reflection;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FusionBench.Core.Models;

/// <summary>
/// Runs an ordinary TorchSharp module under the functional contract — the counterpart of PyTorch's
/// <c>torch.func.functional_call</c>: <see cref="Forward(IReadOnlyDictionary{string, Tensor}, Tensor)"/> runs the
/// module's own forward with the supplied tensors in place of its parameters, and gradients flow to them (AdaMerging's
/// coefficients, WEMoE's routers). Linear layers report their inputs (RegMean) through forward pre-hooks (so they must be
/// invoked with <c>call()</c>, as <c>nn.Sequential</c> does). A module that
/// follows the usual transformer pattern — a list of blocks (<c>…layers.N</c>, <c>…layer.N</c>, <c>…blocks.N</c>,
/// <c>…h.N</c>), each with an <c>mlp</c> submodule — also takes per-layer MLP weights chosen from each MLP's input
/// (WEMoE), provided the block invokes its MLP with <c>call()</c> (as <c>nn.Sequential</c> calls its children), which
/// runs the hooks the routing uses; for any other module <see cref="ILayerMlpModel"/>'s members say what is missing.
/// </summary>
/// <remarks>
/// TorchSharp has no <c>functional_call</c>, and a module's parameters are <see cref="Parameter"/> fields. For each call
/// the adapter puts, into each parameter's field, a parameter object over an alias of the supplied tensor (so autograd
/// sees the supplied tensor), runs the forward and puts the module's own parameters back. This works for every module
/// whose forward reads its parameter fields — TorchSharp's Linear, Conv*, LayerNorm, BatchNorm and any module of your
/// own; modules whose weights TorchSharp keeps natively (Embedding, MultiheadAttention, RNN/LSTM/GRU, Transformer*)
/// are named in a clear error at construction. Buffers stay the module's own. One call at a time per adapter (the
/// module's fields are swapped during a call). Names are the module's <c>state_dict()</c> names.
/// </remarks>
public sealed class ModuleAdapter : ILinearInputModel, ILayerMlpModel
{
    private static readonly ConstructorInfo ParameterFromHandle =
        typeof(Parameter).GetConstructor(BindingFlags.NonPublic | BindingFlags.Instance, new[] { typeof(IntPtr) })
        ?? throw new PlatformNotSupportedException("This TorchSharp version has no Parameter(IntPtr) constructor; the module adapter needs one.");

    private readonly nn.Module<Tensor, Tensor> _module;
    private readonly List<(string Name, nn.Module Owner, FieldInfo Field)> _slots = new();
    private readonly Dictionary<string, TensorInfo> _parameters = new(StringComparer.Ordinal);
    private readonly List<(string Name, Linear Layer)> _linears = new();
    private readonly object _gate = new();

    /// <summary>Wraps a module.</summary>
    /// <exception cref="FusionException">A parameter is held natively by TorchSharp (a module type the adapter cannot run); the message names it.</exception>
    public ModuleAdapter(nn.Module<Tensor, Tensor> module)
    {
        _module = module ?? throw new ArgumentNullException(nameof(module));
        foreach (var (moduleName, m) in module.named_modules())
        {
            string prefix = moduleName.Length > 0 ? moduleName + "." : "";
            if (m is Linear linear) _linears.Add((prefix + "weight", linear));
            var own = m.named_parameters(recurse: false).ToList();
            foreach (var (parameterName, parameter) in own)
            {
                var field = ParameterFields(m.GetType()).FirstOrDefault(f => ReferenceEquals(f.GetValue(m), parameter))
                    ?? throw new FusionException($"Parameter '{prefix}{parameterName}' of a {m.GetType().Name} is held natively by TorchSharp, so the module adapter cannot "
                        + "substitute it; write that layer with torch.nn.functional (e.g. functional.embedding) or implement IFunctionalModel.");
                _slots.Add((prefix + parameterName, m, field));
                _parameters[prefix + parameterName] = new TensorInfo(parameter.dtype, parameter.shape);
            }
        }
        foreach (var (name, buffer) in module.named_buffers()) _parameters.TryAdd(name, new TensorInfo(buffer.dtype, buffer.shape));
        FindLayers(module);
    }

    private static readonly string[] LayerListNames = { "layers", "layer", "blocks", "h" };

    private string? _layerPath;
    private readonly List<nn.Module<Tensor, Tensor>> _mlps = new();

    /// <summary>Finds the blocks (a list named layers/layer/blocks/h whose children 0…N−1 each have an <c>mlp</c>).</summary>
    private void FindLayers(nn.Module module)
    {
        var all = module.named_modules().ToDictionary(m => m.name, m => m.module, StringComparer.Ordinal);
        foreach (var (path, _) in all)
        {
            string last = path.Split('.')[^1];
            if (!LayerListNames.Contains(last)) continue;
            var mlps = new List<nn.Module<Tensor, Tensor>>();
            for (int i = 0; all.TryGetValue($"{path}.{i}.mlp", out var mlp) && mlp is nn.Module<Tensor, Tensor> typed; i++) mlps.Add(typed);
            if (mlps.Count == 0) continue;
            _layerPath = path;
            _mlps.AddRange(mlps);
            MlpTensorNames = mlps[0].named_parameters().Select(p => "mlp." + p.name).ToList();
            return;
        }
    }

    private string LayerPath => _layerPath ?? throw new FusionException(
        "The module has no block list with an 'mlp' submodule per block (looked for …layers.N.mlp, …layer.N.mlp, …blocks.N.mlp, …h.N.mlp), "
        + "so per-layer MLP routing (WEMoE) cannot find its MLPs; implement ILayerMlpModel for it.");

    /// <inheritdoc />
    public string LayerPrefix(int index) => $"{LayerPath}.{index}.";

    /// <inheritdoc />
    public int CountLayers(IReadOnlyDictionary<string, Tensor> weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        int n = 0;
        while (weights.ContainsKey(LayerPrefix(n) + MlpTensorNames[0])) n++;
        return n;
    }

    /// <inheritdoc />
    public IReadOnlyList<string> MlpTensorNames { get; private set; } = Array.Empty<string>();

    /// <inheritdoc />
    /// <remarks>Runs the module's own blocks; the number of layers is the module's (not the weights').</remarks>
    public Tensor Forward(IReadOnlyDictionary<string, Tensor> weights, Tensor input, Func<int, Tensor, IReadOnlyDictionary<string, Tensor>?> mlpWeights)
    {
        ArgumentNullException.ThrowIfNull(mlpWeights);
        _ = LayerPath;
        return Run(weights, input, null, mlpWeights);
    }

    private static IEnumerable<FieldInfo> ParameterFields(Type type)
    {
        for (var t = type; t is not null && t != typeof(object); t = t.BaseType)
            foreach (var f in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                if (typeof(Parameter).IsAssignableFrom(f.FieldType) || f.FieldType == typeof(Tensor)) yield return f;
    }

    /// <summary>The wrapped module.</summary>
    public nn.Module<Tensor, Tensor> Module => _module;

    /// <inheritdoc />
    public IReadOnlyDictionary<string, TensorInfo> Parameters => _parameters;

    /// <inheritdoc />
    public Tensor Forward(IReadOnlyDictionary<string, Tensor> weights, Tensor input) => Run(weights, input, null, null);

    /// <inheritdoc />
    public Tensor Forward(IReadOnlyDictionary<string, Tensor> weights, Tensor input, Action<string, Tensor>? observeLinearInput) =>
        Run(weights, input, observeLinearInput, null);

    /// <summary>Puts <paramref name="weight"/>(name) into each of <paramref name="slots"/>' fields, recording what was there.</summary>
    private static void Substitute(IEnumerable<(string Name, nn.Module Owner, FieldInfo Field)> slots, Func<string, Tensor> weight,
        List<(nn.Module Owner, FieldInfo Field, object? Value)> saved, List<Parameter> substitutes)
    {
        foreach (var (name, owner, field) in slots)
        {
            // A parameter object over an alias of the supplied tensor: the forward reads it, autograd sees the supplied tensor.
            using var alias = weight(name).alias();
            var substitute = (Parameter)ParameterFromHandle.Invoke(new object[] { alias.DecoupleFromNativeHandle() });
            substitutes.Add(substitute);
            saved.Add((owner, field, field.GetValue(owner)));
            field.SetValue(owner, substitute);
        }
    }

    private Tensor Run(IReadOnlyDictionary<string, Tensor> weights, Tensor input, Action<string, Tensor>? observeLinearInput,
        Func<int, Tensor, IReadOnlyDictionary<string, Tensor>?>? mlpWeights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(input);
        lock (_gate)
        {
            var saved = new List<(nn.Module Owner, FieldInfo Field, object? Value)>(_slots.Count);
            var substitutes = new List<Parameter>(_slots.Count);
            var hooks = new List<Action>();
            try
            {
                Substitute(_slots, name => weights.TryGetValue(name, out var w) ? w : throw new KeyNotFoundException($"The weights have no tensor '{name}'."),
                    saved, substitutes);
                if (observeLinearInput is not null)
                    foreach (var (name, layer) in _linears)
                    {
                        var remover = layer.register_forward_pre_hook((_, x) => { observeLinearInput(name, x); return x; });
                        hooks.Add(remover.remove);
                    }
                if (mlpWeights is not null)
                    for (int i = 0; i < _mlps.Count; i++)
                    {
                        // Before each block's MLP runs, its weights become the ones chosen from its input; after, they are put back.
                        int layer = i;
                        string prefix = LayerPrefix(layer);
                        var mlpSlots = _slots.Where(s => s.Name.StartsWith(prefix + "mlp.", StringComparison.Ordinal)).ToList();
                        var inner = new List<(nn.Module Owner, FieldInfo Field, object? Value)>();
                        var pre = _mlps[layer].register_forward_pre_hook((_, x) =>
                        {
                            if (mlpWeights(layer, x) is { } chosen)
                                Substitute(mlpSlots, name => chosen.TryGetValue(name[prefix.Length..], out var w) ? w
                                    : throw new KeyNotFoundException($"The chosen MLP weights of layer {layer} have no '{name[prefix.Length..]}'."), inner, substitutes);
                            return x;
                        });
                        var post = _mlps[layer].register_forward_hook((_, _, y) =>
                        {
                            foreach (var (owner, field, value) in inner) field.SetValue(owner, value);
                            inner.Clear();
                            return y;
                        });
                        hooks.Add(pre.remove);
                        hooks.Add(post.remove);
                    }
                return _module.forward(input);
            }
            finally
            {
                foreach (var remove in hooks) remove();
                foreach (var (owner, field, value) in saved) field.SetValue(owner, value);
                foreach (var s in substitutes) s.Dispose();
            }
        }
    }
}

using System.Reflection;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace FusionBench.Core.Models;

/// <summary>
/// Runs an ordinary TorchSharp module under the functional contract — the counterpart of PyTorch's
/// <c>torch.func.functional_call</c>: <see cref="Forward(IReadOnlyDictionary{string, Tensor}, Tensor)"/> runs the
/// module's own forward with the supplied tensors in place of its parameters, and gradients flow to them (AdaMerging's
/// coefficients, WEMoE's routers). Linear layers report their inputs (RegMean) through forward pre-hooks.
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
public sealed class ModuleAdapter : ILinearInputModel
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
    public Tensor Forward(IReadOnlyDictionary<string, Tensor> weights, Tensor input) => Forward(weights, input, null);

    /// <inheritdoc />
    public Tensor Forward(IReadOnlyDictionary<string, Tensor> weights, Tensor input, Action<string, Tensor>? observeLinearInput)
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
                foreach (var (name, owner, field) in _slots)
                {
                    var supplied = weights.TryGetValue(name, out var w) ? w : throw new KeyNotFoundException($"The weights have no tensor '{name}'.");
                    // A parameter object over an alias of the supplied tensor: the forward reads it, autograd sees the supplied tensor.
                    using var alias = supplied.alias();
                    var substitute = (Parameter)ParameterFromHandle.Invoke(new object[] { alias.DecoupleFromNativeHandle() });
                    substitutes.Add(substitute);
                    saved.Add((owner, field, field.GetValue(owner)));
                    field.SetValue(owner, substitute);
                }
                if (observeLinearInput is not null)
                    foreach (var (name, layer) in _linears)
                    {
                        var remover = layer.register_forward_pre_hook((_, x) => { observeLinearInput(name, x); return x; });
                        hooks.Add(remover.remove);
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

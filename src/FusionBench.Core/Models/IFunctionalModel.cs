using static TorchSharp.torch;

namespace FusionBench.Core.Models;

/// <summary>
/// An architecture whose forward takes its weights as an argument: <c>Forward(weights, input)</c>.
/// </summary>
/// <remarks>
/// TorchSharp has no <c>torch.func.functional_call</c>, so fusion methods that learn how to merge (AdaMerging's λ,
/// WEMoE's routers, Concrete masks) need a forward that accepts weights built as a differentiable function of their
/// own parameters. <see cref="ModuleAdapter"/> runs an ordinary TorchSharp <c>Module</c> this way (its own forward, the
/// supplied weights in place of its parameters); or implement <see cref="Forward"/> with the functional ops
/// (<c>torch.nn.functional.linear</c>, <c>conv2d</c>, <c>layer_norm</c>, …) reading each weight from the dictionary
/// by the name the module's <c>state_dict()</c> uses, and list those names and shapes in <see cref="Parameters"/>.
/// </remarks>
public interface IFunctionalModel
{
    /// <summary>The weights the forward reads: name → dtype and shape (buffers included).</summary>
    IReadOnlyDictionary<string, TensorInfo> Parameters { get; }

    /// <summary>Runs the model with the given weights. Gradients flow to any weight that requires them.</summary>
    /// <param name="weights">Name → tensor, for at least every name in <see cref="Parameters"/>.</param>
    /// <param name="input">The input batch.</param>
    Tensor Forward(IReadOnlyDictionary<string, Tensor> weights, Tensor input);
}

/// <summary>A functional model that can report the input of each of its linear layers (what RegMean needs).</summary>
public interface ILinearInputModel : IFunctionalModel
{
    /// <summary>
    /// Runs the forward and calls <paramref name="observeLinearInput"/> with each linear layer's weight name (in
    /// PyTorch layout, out × in) and its input, whose last dimension is the layer's input width.
    /// </summary>
    Tensor Forward(IReadOnlyDictionary<string, Tensor> weights, Tensor input, Action<string, Tensor>? observeLinearInput);
}

/// <summary>A transformer whose per-layer MLP weights can be supplied from each layer's input (what WEMoE needs).</summary>
public interface ILayerMlpModel : IFunctionalModel
{
    /// <summary>The name prefix of encoder layer <paramref name="index"/> (ending in a dot).</summary>
    string LayerPrefix(int index);

    /// <summary>The number of encoder layers in a set of weights.</summary>
    int CountLayers(IReadOnlyDictionary<string, Tensor> weights);

    /// <summary>
    /// The MLP's tensor names relative to <c>LayerPrefix(i)</c> (CLIP: <c>mlp.fc1.weight</c>, …; BERT:
    /// <c>intermediate.dense.weight</c>, …).
    /// </summary>
    IReadOnlyList<string> MlpTensorNames { get; }

    /// <summary>
    /// Runs the forward with each layer's MLP weights chosen from that layer's normalised input (<paramref name="mlpWeights"/>
    /// returns the <see cref="MlpTensorNames"/> for a layer index and its hidden states, or null for the weights' own MLP).
    /// </summary>
    Tensor Forward(IReadOnlyDictionary<string, Tensor> weights, Tensor input, Func<int, Tensor, IReadOnlyDictionary<string, Tensor>?> mlpWeights);
}

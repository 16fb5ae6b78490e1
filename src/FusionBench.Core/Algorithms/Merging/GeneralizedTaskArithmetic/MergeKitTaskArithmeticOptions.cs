using Microsoft.Extensions.Configuration;
using System.ComponentModel;

namespace FusionBench.Core.Algorithms.Merging.GeneralizedTaskArithmetic;

/// <summary>
/// The options MergeKit's task-vector methods share (MergeKit's names and defaults). Per-model parameters take one value
/// per fine-tuned model in pool order, or a single value for all of them.
/// </summary>
public class MergeKitTaskArithmeticOptions
{
    /// <summary>Per-model weight wᵢ of the task vectors. MergeKit requires it; here it defaults to 1 for every model.</summary>
    [Description("Per-model weight of each task vector (one value per model, or one for all). Default 1.")]
    [ConfigurationKeyName("weight")]
    public IReadOnlyList<double> Weight { get; set; } = new[] { 1.0 };

    /// <summary>Per-model fraction of task-vector entries kept. Default 1 (MergeKit's: nothing is pruned unless set).</summary>
    [Description("Per-model fraction of task-vector entries kept (one value per model, or one for all). Default 1: no pruning.")]
    [ConfigurationKeyName("density")]
    public IReadOnlyList<double> Density { get; set; } = new[] { 1.0 };

    /// <summary>λ, the factor of the mixed task vector. Default 1.</summary>
    [Description("Factor of the mixed task vector added to the base model.")]
    [ConfigurationKeyName("lambda")]
    public double Lambda { get; set; } = 1.0;

    /// <summary>Divide the mixed task vector by the summed weights of what was mixed. Unset: the method's default.</summary>
    [Description("Divide the mixed task vector by the summed weights (unset: the method's MergeKit default).")]
    [ConfigurationKeyName("normalize")]
    public bool? Normalize { get; set; }

    /// <summary>Rescale each sparsified task vector to its L1 norm before pruning. Unset: the method's default.</summary>
    [Description("Rescale each sparsified task vector to keep its L1 norm (unset: the method's MergeKit default).")]
    [ConfigurationKeyName("rescale")]
    public bool? Rescale { get; set; }

    /// <summary>MergeKit's memory option for the sign mask; accepted for configuration compatibility, it changes no value.</summary>
    [Description("MergeKit's int8 sign mask (memory only; accepted, no effect on the result).")]
    [ConfigurationKeyName("int8_mask")]
    public bool Int8Mask { get; set; }

    /// <summary>Seed of the random masks of DARE and DELLA (one generator per model and tensor). Default 0.</summary>
    [Description("Seed of random pruning masks (DARE, DELLA); the same seed reproduces the same merge.")]
    [ConfigurationKeyName("seed")]
    public long Seed { get; set; }

    internal virtual IReadOnlyDictionary<string, IReadOnlyList<double>> PerModel() => new Dictionary<string, IReadOnlyList<double>>
    {
        ["weight"] = Weight,
        ["density"] = Density,
    };

    internal IReadOnlyDictionary<string, double> Global(MergeKitVariant variant) => new Dictionary<string, double>
    {
        ["normalize"] = (Normalize ?? variant.DefaultNormalize) ? 1 : 0,
        ["rescale"] = (Rescale ?? variant.DefaultRescale) ? 1 : 0,
        ["lambda"] = Lambda,
    };
}

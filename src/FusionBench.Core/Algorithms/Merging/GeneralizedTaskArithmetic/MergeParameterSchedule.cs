namespace FusionBench.Core.Algorithms.Merging.GeneralizedTaskArithmetic;

/// <summary>
/// The values of a merge's parameters tensor by tensor, as MergeKit gives them: global parameters (<c>lambda</c>,
/// <c>t</c>, …) and per-model parameters (<c>weight</c>, <c>density</c>, <c>gamma</c>, <c>epsilon</c>, …), each of which
/// may differ per tensor (a gradient across layers, a <c>filter</c> on the tensor's name). A method asks for a value when
/// it merges a tensor; a constant schedule answers the same for every tensor.
/// </summary>
public interface IMergeParameterSchedule
{
    /// <summary>The value of a global parameter for one tensor, or <paramref name="defaultValue"/> when it is not set.</summary>
    double Global(string parameter, string tensorName, double defaultValue);

    /// <summary>
    /// The value of a per-model parameter of model <paramref name="modelIndex"/> (pool order of the fine-tuned models)
    /// for one tensor, or <paramref name="defaultValue"/> when it is not set.
    /// </summary>
    double PerModel(string parameter, int modelIndex, string tensorName, double defaultValue);
}

/// <summary>
/// A schedule whose values are the same for every tensor: global values by name, and per-model lists that give one
/// value per model (or a single value for all of them).
/// </summary>
public sealed class ConstantMergeParameterSchedule : IMergeParameterSchedule
{
    private readonly IReadOnlyDictionary<string, double> _global;
    private readonly IReadOnlyDictionary<string, IReadOnlyList<double>> _perModel;

    /// <summary>Creates the schedule.</summary>
    /// <param name="global">Global parameters by name.</param>
    /// <param name="perModel">Per-model parameters by name: one value per model, or one value for all.</param>
    public ConstantMergeParameterSchedule(IReadOnlyDictionary<string, double>? global = null, IReadOnlyDictionary<string, IReadOnlyList<double>>? perModel = null)
    {
        _global = global ?? new Dictionary<string, double>();
        _perModel = perModel ?? new Dictionary<string, IReadOnlyList<double>>();
    }

    /// <inheritdoc />
    public double Global(string parameter, string tensorName, double defaultValue) =>
        _global.TryGetValue(parameter, out var v) ? v : defaultValue;

    /// <inheritdoc />
    public double PerModel(string parameter, int modelIndex, string tensorName, double defaultValue)
    {
        if (!_perModel.TryGetValue(parameter, out var values) || values.Count == 0) return defaultValue;
        return values.Count == 1 ? values[0] : values[modelIndex];
    }
}

using FusionBench.Core.Models;
using static TorchSharp.torch;

namespace FusionBench.Core.Algorithms.Ensembling;

/// <summary>How an ensemble combines its members' outputs.</summary>
internal enum EnsembleAggregation
{
    WeightedSum,
    Max,
}

/// <summary>
/// An ensemble of models of one architecture: runs every member and aggregates their encoder outputs element-wise,
/// as FusionBench's ensemble modules aggregate the vision encoder's outputs before each task's head.
/// </summary>
internal sealed class EnsembleModel : IFusedModel
{
    private readonly IFunctionalModel _architecture;
    private readonly List<StateDict> _members;
    private readonly double[] _weights;
    private readonly EnsembleAggregation _aggregation;

    private EnsembleModel(IFunctionalModel architecture, List<StateDict> members, double[] weights, EnsembleAggregation aggregation)
    {
        _architecture = architecture;
        _members = members;
        _weights = weights;
        _aggregation = aggregation;
    }

    /// <summary>Loads every fine-tuned model of the pool (an ensemble runs them all, so it holds them all).</summary>
    public static EnsembleModel Create(IModelPool pool, string method, double[]? weights, EnsembleAggregation aggregation, CancellationToken ct)
    {
        var architecture = (pool as IArchitectureModelPool)?.Architecture
            ?? throw new FusionException($"Method '{method}' runs the models, so it needs a model pool with an architecture (such as the image suite's); this pool has only weights.");
        if (pool.ModelNames.Count == 0) throw new FusionException($"Method '{method}' needs at least one fine-tuned model; the pool has none.");
        var members = new List<StateDict>();
        try
        {
            foreach (var name in pool.ModelNames)
            {
                ct.ThrowIfCancellationRequested();
                members.Add(StateDict.CopyFrom(pool.GetModel(name)));
            }
            return new EnsembleModel(architecture, members, weights ?? Enumerable.Repeat(1.0 / members.Count, members.Count).ToArray(), aggregation);
        }
        catch
        {
            foreach (var m in members) m.Dispose();
            throw;
        }
    }

    public Tensor Forward(Tensor input)
    {
        using var scope = NewDisposeScope();
        Tensor? result = null;
        for (int i = 0; i < _members.Count; i++)
        {
            var output = _architecture.Forward(_members[i], input);
            result = (_aggregation, result) switch
            {
                (_, null) when _aggregation == EnsembleAggregation.Max => output,
                (_, null) => output.mul(_weights[i]),
                (EnsembleAggregation.Max, _) => maximum(result, output),
                _ => result.add_(output, alpha: _weights[i]),
            };
        }
        return result!.MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        foreach (var m in _members) m.Dispose();
        _members.Clear();
    }
}

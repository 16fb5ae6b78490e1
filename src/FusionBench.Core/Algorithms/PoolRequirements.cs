namespace FusionBench.Core.Algorithms;

/// <summary>The checks methods make on the pool they are given, with messages that say what they need and why.</summary>
internal static class PoolRequirements
{
    /// <summary>The pool as an <see cref="IDataModelPool"/>, or an error saying the method needs data and heads.</summary>
    /// <param name="pool">The pool given to the method.</param>
    /// <param name="method">The method's name.</param>
    /// <param name="purpose">What the method does with the data, e.g. "runs the models on training inputs".</param>
    public static IDataModelPool Data(IModelPool pool, string method, string purpose) =>
        pool as IDataModelPool
        ?? throw new FusionException($"Method '{method}' {purpose}, so it needs a model pool with data and heads (such as the image suite's).");

    /// <summary>
    /// The one model a single-model method works on: the model named by <paramref name="modelName"/> (FusionBench's
    /// <c>_pretrained_</c> for the pretrained model); else, when
    /// <paramref name="preferPretrained"/> (FusionBench's MoE upscaling loads <c>_pretrained_</c>), the pretrained model,
    /// then the pool's only fine-tuned model; else (FusionBench's depth upscaling: the pool's single model) the only
    /// fine-tuned model, then the pretrained model of a pool that has no fine-tuned one.
    /// </summary>
    public static IWeightSource SingleModel(IModelPool pool, string? modelName, string method, bool preferPretrained)
    {
        if (modelName == "_pretrained_")
            return pool.Pretrained ?? throw new FusionParameterException(method, "model", $"Parameter 'model' of '{method}' is '_pretrained_', but the pool has no pretrained model.");
        if (modelName is string m) return pool.GetModel(m);
        if (preferPretrained && pool.Pretrained is not null) return pool.Pretrained;
        if (pool.ModelNames.Count == 1) return pool.GetModel(pool.ModelNames[0]);
        if (pool.ModelNames.Count == 0 && pool.Pretrained is not null) return pool.Pretrained;
        throw new FusionParameterException(method, "model",
            $"Method '{method}' works on one model, but the pool has {pool.ModelNames.Count} fine-tuned models ({string.Join(", ", pool.ModelNames)}); choose one with model=NAME.");
    }
}

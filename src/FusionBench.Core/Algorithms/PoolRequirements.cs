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
    /// The one model a single-model method works on: the fine-tuned model named by <paramref name="modelName"/>, else the
    /// pretrained model, else the pool's only model.
    /// </summary>
    public static IWeightSource SingleModel(IModelPool pool, string? modelName, string method) =>
        modelName is string m ? pool.GetModel(m)
        : pool.Pretrained ?? (pool.ModelNames.Count == 1 ? pool.GetModel(pool.ModelNames[0])
            : throw new FusionParameterException(method, "model", "The pool has no pretrained model and several fine-tuned ones; choose one with model=NAME."));
}

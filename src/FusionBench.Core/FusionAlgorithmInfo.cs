namespace FusionBench.Core;

/// <summary>The three families of deep model fusion, as in the FusionBench paper.</summary>
public enum FusionCategory
{
    /// <summary>Combine the models' predictions (every model runs at inference).</summary>
    Ensembling,

    /// <summary>Combine the models' weights into one model of the same architecture.</summary>
    Merging,

    /// <summary>Combine the models into a new architecture (upscaling, mixture of experts, ...).</summary>
    Mixing,
}

/// <summary>What a fusion method is: its registered name, how it is displayed, its family and its paper.</summary>
/// <param name="Name">The registered name, FusionBench's config name (for example <c>ties_merging</c>).</param>
/// <param name="DisplayName">The name as papers print it (for example <c>Ties-Merging</c>).</param>
/// <param name="Category">Ensembling, merging or mixing.</param>
/// <param name="PaperUrl">Where the method was published, or <see langword="null"/>.</param>
/// <param name="Summary">One sentence saying what the method computes.</param>
public sealed record FusionAlgorithmInfo(string Name, string DisplayName, FusionCategory Category, string? PaperUrl, string Summary);

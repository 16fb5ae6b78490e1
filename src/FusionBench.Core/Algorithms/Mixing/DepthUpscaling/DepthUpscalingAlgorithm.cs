using Microsoft.Extensions.Logging;
using System.Globalization;
using System.Text.RegularExpressions;

namespace FusionBench.Core.Algorithms.Mixing.DepthUpscaling;

/// <summary>
/// <c>depth_upscaling</c> (SOLAR, Kim et al.): a deeper model whose layer j is a copy of source layer
/// <c>layer_indices[j]</c>; every tensor outside the layers is copied. Normally followed by continued training. As in
/// FusionBench it upscales the pool's single model (<c>model</c> picks one of several; a pool with only a pretrained
/// model upscales that).
/// </summary>
public sealed partial class DepthUpscalingAlgorithm(DepthUpscalingOptions options, ILogger<DepthUpscalingAlgorithm>? logger = null) : FusionAlgorithm<DepthUpscalingOptions>(options, logger)
{
    /// <inheritdoc />
    public override FusionAlgorithmInfo Info { get; } = new("depth_upscaling", "Depth Upscaling", FusionCategory.Mixing,
        "https://arxiv.org/abs/2312.15166", "Builds a deeper model by stacking copies of chosen layers.");

    [GeneratedRegex(@"^range\(\s*(\d+)\s*,\s*(\d+)\s*\)$")]
    private static partial Regex Range();

    /// <summary>Expands the layer spec into indices.</summary>
    internal static List<int> Expand(IReadOnlyList<string> spec, string method)
    {
        var result = new List<int>();
        foreach (var item in spec)
        {
            string s = item.Trim().Trim('"', '\'');
            var m = Range().Match(s);
            if (m.Success)
            {
                int a = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), b = int.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture);
                result.AddRange(Enumerable.Range(a, Math.Max(0, b - a)));
            }
            else if (int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int i)) result.Add(i);
            else throw new FusionParameterException(method, "layer_indices", $"Parameter 'layer_indices' of '{method}': '{item}' is neither an integer nor range(a,b).");
        }
        return result;
    }

    /// <inheritdoc />
    protected override StateDict FuseCore(IModelPool modelPool, FusionContext context)
    {
        var spec = Options.LayerIndices ?? throw new FusionParameterException(Info.Name, "layer_indices", "Parameter 'layer_indices' of 'depth_upscaling' is required, e.g. [range(0,4),range(2,6)].");
        var source = PoolRequirements.SingleModel(modelPool, Options.Model, Info.Name, preferPretrained: false);
        var (prefix, count) = LayerNames.Layers(source.TensorNames, Info.Name);
        var indices = Expand(spec, Info.Name);
        if (indices.Count == 0) throw new FusionParameterException(Info.Name, "layer_indices", "Parameter 'layer_indices' of 'depth_upscaling' selects no layer.");
        // Python indexing, as FusionBench's nn.ModuleList: -1 is the last layer.
        for (int k = 0; k < indices.Count; k++)
        {
            int i = indices[k] < 0 ? count + indices[k] : indices[k];
            if (i < 0 || i >= count)
                throw new FusionParameterException(Info.Name, "layer_indices", $"Layer {indices[k]} does not exist; the model has layers 0–{count - 1} (or -{count}–-1 from the end).");
            indices[k] = i;
        }
        var output = new StateDict("depth_upscaled");
        var layerTensors = source.TensorNames.Select(n => (Name: n, Parsed: LayerNames.Parse(n))).ToList();
        bool layersWritten = false;
        foreach (var (name, parsed) in layerTensors)
        {
            context.CancellationToken.ThrowIfCancellationRequested();
            if (parsed is null)
            {
                using var t = source.Read(name);
                output.Add(name, t.clone());
                continue;
            }
            if (layersWritten) continue;
            layersWritten = true; // write the whole new stack where the old one began, keeping the checkpoint's order
            for (int j = 0; j < indices.Count; j++)
                foreach (var (layerName, p) in layerTensors.Where(x => x.Parsed is { } q && q.Index == indices[j]))
                {
                    using var t = source.Read(layerName);
                    output.Add($"{prefix}{j}.{p!.Value.Tail}", t.clone());
                }
        }
        context.Details["num_layers"] = indices.Count;
        return output;
    }
}

using System.ComponentModel;
using System.ComponentModel.DataAnnotations;
using FusionBench.Core.Algorithms;

namespace FusionBench.Core.Tests.TestSupport;

// A user's own method, registered through the same public call the built-ins use.
public sealed class ScaledCopyOptions
{
    [Description("Multiplier applied to the first fine-tuned model.")]
    [Range(0.0, 10.0)]
    public double Factor { get; set; } = 2;
}

public sealed class ScaledCopyAlgorithm(ScaledCopyOptions options) : FusionAlgorithm<ScaledCopyOptions>(options)
{
    public override FusionAlgorithmInfo Info { get; } = new("scaled_copy", "Scaled Copy", FusionCategory.Merging, null, "Test method.");

    protected override StateDict FuseCore(IModelPool modelPool, FusionContext context)
    {
        var source = modelPool.GetModel(modelPool.ModelNames[0]);
        var result = new StateDict();
        foreach (var n in source.TensorNames)
        {
            using var t = source.Read(n);
            result.Add(n, t * Options.Factor);
        }
        return result;
    }
}

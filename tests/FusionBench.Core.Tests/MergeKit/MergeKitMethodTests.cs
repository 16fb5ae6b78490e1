using System.Globalization;
using System.Text.Json;
using FusionBench.Core.Checkpoints;
using FusionBench.Core.ModelPools;
using FusionBench.Core.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace FusionBench.Core.Tests.MergeKit;

/// <summary>
/// The MergeKit methods as registered algorithms over a model pool (<c>breadcrumbs</c>, <c>della</c>, <c>nuslerp</c>,
/// <c>karcher</c>, <c>model_stock</c> with MergeKit's averaging …), against MergeKit's own result for the same models and
/// parameters (Golden/mergekit, the method cases): the pool's pretrained model is MergeKit's base_model.
/// </summary>
public class MergeKitMethodTests
{
    private static readonly string[] PoolMethods = { "breadcrumbs", "breadcrumbs_ties", "della", "della_linear", "nuslerp", "karcher", "model_stock" };

    private static string Dir => Path.Combine(TestData.GoldenDir, "mergekit");

    private static JsonElement[] All()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "cases.json")));
        return doc.RootElement.GetProperty("cases").EnumerateArray().Select(c => c.Clone()).ToArray();
    }

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (var c in All())
            if (PoolMethods.Contains(c.GetProperty("method").GetString()) && !c.GetProperty("case").GetString()!.StartsWith("config_", StringComparison.Ordinal))
                data.Add(c.GetProperty("case").GetString()!);
        return data;
    }

    private static string Text(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => v.GetRawText(),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void RegisteredMethod_OverAPool_MatchesMergeKit(string caseName)
    {
        var c = All().Single(e => e.GetProperty("case").GetString() == caseName);
        string method = c.GetProperty("method").GetString()!;
        var models = c.GetProperty("models").EnumerateArray().Select(m => m.GetString()!).ToList();
        string? baseModel = c.GetProperty("base_model").ValueKind == JsonValueKind.Null ? null : c.GetProperty("base_model").GetString();
        var parameters = c.GetProperty("parameters").EnumerateObject().ToDictionary(p => p.Name, p => Text(p.Value));
        var defaults = new Dictionary<string, double> { ["density"] = 1.0, ["gamma"] = 0.01, ["epsilon"] = 0.15 };
        var perModel = c.GetProperty("model_parameters");
        foreach (var key in perModel.EnumerateObject().SelectMany(m => m.Value.EnumerateObject().Select(p => p.Name)).Distinct())
            parameters[key] = "[" + string.Join(",", models.Select(m => perModel.GetProperty(m).TryGetProperty(key, out var v)
                ? v.GetDouble().ToString("R", CultureInfo.InvariantCulture) : defaults[key].ToString("R", CultureInfo.InvariantCulture))) + "]";
        if (c.GetProperty("local_parameters").TryGetProperty("seed", out var seed)) parameters["seed"] = seed.GetRawText();
        if (method == "model_stock") parameters["average"] = "cosine";
        if (method == "karcher" && baseModel is not null) parameters["include_pretrained"] = "true";

        using var services = new ServiceCollection().AddFusionBench().Services.BuildServiceProvider();
        var algorithm = services.GetRequiredService<IFusionAlgorithmProvider>().Create(method, parameters);
        using var pool = ModelPool.FromCheckpoints(baseModel is null ? null : Path.Combine(Dir, "models", baseModel),
            models.Select(m => KeyValuePair.Create(m, Path.Combine(Dir, "models", m))));
        using var result = algorithm.Fuse(pool);
        using var expected = Checkpoint.Open(Path.Combine(Dir, c.GetProperty("expected").GetString()!));
        TestData.AssertClose(expected, result.Weights, atol: 2e-6, rtol: 2e-5);
    }
}

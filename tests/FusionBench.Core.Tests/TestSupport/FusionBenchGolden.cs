using System.Text.Json;
using FusionBench.Core.Checkpoints;
using FusionBench.Core.Models;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FusionBench.Core.Tests.TestSupport;

/// <summary>
/// The goldens of Golden/fusionbench (generate_fusionbench_golden.py runs FusionBench's own functions): the shared tiny
/// model (an MLP encoder, fixed per-task heads, training and test inputs) and one file of inputs and outputs per case.
/// </summary>
internal static class FusionBenchGolden
{
    public static string Dir => Path.Combine(TestData.GoldenDir, "fusionbench");

    public static readonly string[] Tasks = { "task_a", "task_b", "task_c" };

    /// <summary>The encoder's tensors in FusionBench's state-dict order (which sets layer-wise columns and RNG order).</summary>
    public static readonly string[] EncoderNames = { "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias" };

    public static JsonElement Case(string name)
    {
        var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(Dir, "cases.json")));
        return doc.RootElement.GetProperty("cases").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name).Clone();
    }

    public static SafeTensorsFile Open(string caseName) => SafeTensorsFile.Open(Path.Combine(Dir, caseName + ".safetensors"));

    /// <summary>Tensors <c>{prefix}{name}</c> of a file as a state dict named without the prefix, in the given order.</summary>
    public static StateDict Dict(IWeightSource file, string prefix, IEnumerable<string> names)
    {
        var d = new StateDict(prefix.TrimEnd('.'));
        foreach (var n in names) d.Add(n, file.Read(prefix + n));
        return d;
    }

    /// <summary>The shared model as a data pool; <paramref name="testRows"/> limits each task's test inputs (the step cases use 8).</summary>
    /// <param name="testRows">Each task's first test inputs only, or all.</param>
    /// <param name="architecture">The architecture the pool reports (default <see cref="MlpEncoder"/>; the module adapter's tests wrap an equal TorchSharp module).</param>
    public static MlpDataPool Pool(long? testRows = null, IFunctionalModel? architecture = null)
    {
        using var file = SafeTensorsFile.Open(Path.Combine(Dir, "model.safetensors"));
        return new MlpDataPool(
            Dict(file, "pretrained.", EncoderNames),
            Tasks.ToDictionary(t => t, t => Dict(file, t + ".", EncoderNames)),
            Tasks.ToDictionary(t => t, t => file.Read("head." + t)),
            Tasks.ToDictionary(t => t, t => file.Read("train." + t)),
            Tasks.ToDictionary(t => t, t => { var x = file.Read("test." + t); return testRows is long r ? x.narrow(0, 0, r).clone() : x; }),
            architecture);
    }

    /// <summary>Asserts every <c>{expectedPrefix}{name}</c> of the golden file equals <paramref name="actual"/>[name].</summary>
    public static void AssertTensors(IWeightSource golden, string expectedPrefix, IReadOnlyDictionary<string, Tensor> actual, IEnumerable<string> names, double rtol = 1e-4, double atol = 1e-6)
    {
        foreach (var n in names)
            AssertClose(golden.Read(expectedPrefix + n), actual[n], $"{expectedPrefix}{n}", rtol, atol);
    }

    public static void AssertClose(Tensor expected, Tensor actual, string what, double rtol = 1e-4, double atol = 1e-6)
    {
        using var e = expected.to(float64);
        using var a = actual.detach().to(float64);
        Assert.Equal(e.shape, a.shape);
        double worst = (e - a).abs().max().ToDouble();
        Assert.True(e.allclose(a, rtol, atol), $"{what}: max |diff| {worst:G4} from FusionBench's value");
    }
}

/// <summary>The golden MLP encoder: features = fc2(gelu(fc1(x))), reporting its linear layers' inputs (for RegMean).</summary>
internal sealed class MlpEncoder : ILinearInputModel
{
    public IReadOnlyDictionary<string, TensorInfo> Parameters { get; } = new Dictionary<string, TensorInfo>
    {
        ["fc1.weight"] = new(ScalarType.Float32, new long[] { 8, 6 }),
        ["fc1.bias"] = new(ScalarType.Float32, new long[] { 8 }),
        ["fc2.weight"] = new(ScalarType.Float32, new long[] { 5, 8 }),
        ["fc2.bias"] = new(ScalarType.Float32, new long[] { 5 }),
    };

    public Tensor Forward(IReadOnlyDictionary<string, Tensor> weights, Tensor input) => Forward(weights, input, null);

    public Tensor Forward(IReadOnlyDictionary<string, Tensor> w, Tensor input, Action<string, Tensor>? observeLinearInput)
    {
        observeLinearInput?.Invoke("fc1.weight", input);
        var h = F.gelu(F.linear(input, w["fc1.weight"], w["fc1.bias"]));
        observeLinearInput?.Invoke("fc2.weight", h);
        return F.linear(h, w["fc2.weight"], w["fc2.bias"]);
    }
}

/// <summary>A data pool over in-memory weights: fixed heads (logits = features · headᵀ), training and test inputs per task.</summary>
internal sealed class MlpDataPool(StateDict pretrained, Dictionary<string, StateDict> models, Dictionary<string, Tensor> heads,
    Dictionary<string, Tensor> train, Dictionary<string, Tensor> test, IFunctionalModel? architecture = null) : IDataModelPool, IDisposable
{
    public IWeightSource? Pretrained => pretrained;
    public IReadOnlyList<string> ModelNames { get; } = models.Keys.ToList();
    public IWeightSource GetModel(string name) => models[name];
    public IFunctionalModel Architecture { get; } = architecture ?? new MlpEncoder();
    public IReadOnlyList<string> TaskNames => ModelNames;
    public Tensor TrainInputs(string task) => train[task];
    public Tensor TestInputs(string task) => test[task];
    public Tensor Logits(string task, Tensor features) => features.matmul(heads[task].t());

    public void Dispose()
    {
        pretrained.Dispose();
        foreach (var m in models.Values) m.Dispose();
        foreach (var t in heads.Values.Concat(train.Values).Concat(test.Values)) t.Dispose();
    }
}

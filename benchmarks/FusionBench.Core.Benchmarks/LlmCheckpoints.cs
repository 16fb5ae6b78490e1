using System.Text.Json;
using FusionBench.Core.Checkpoints;
using static TorchSharp.torch;

namespace FusionBench.Core.Benchmarks;

/// <summary>
/// Synthetic checkpoints with the tensor names, shapes and dtype of Qwen2-0.5B (hidden 896, 14 heads with 2 key/value
/// heads of 64, MLP 4864) or Qwen2-1.5B (hidden 1536, 12 heads, 2 key/value heads of 128, MLP 8960), vocabulary 151,936, tied embeddings, in bf16, as Hugging Face folders sharded at 1 GB with a
/// config and a tokenizer file: a pretrained model and fine-tunes near it, written one tensor at a time.
/// </summary>
internal static class LlmCheckpoints
{
    /// <summary>Qwen2 sizes: hidden, MLP, attention heads, key/value heads (head dimension 128 for 1.5B, 64 for 0.5B).</summary>
    private static (long Hidden, long Mlp, int Heads, long KvDim) Size(string size) => size switch
    {
        "0.5b" => (896, 4864, 14, 128),
        "1.5b" => (1536, 8960, 12, 256),
        _ => throw new ArgumentException($"size must be 0.5b or 1.5b, got '{size}'."),
    };

    public static void Write(string dir, int layers, int models, string size = "0.5b")
    {
        var (h, mlp, heads, kv) = Size(size);
        var shapes = new List<(string Name, long[] Shape)> { ("model.embed_tokens.weight", new long[] { 151936, h }) };
        for (int l = 0; l < layers; l++)
        {
            string p = $"model.layers.{l}.";
            shapes.AddRange(new (string, long[])[]
            {
                (p + "input_layernorm.weight", new long[] { h }),
                (p + "self_attn.q_proj.weight", new long[] { h, h }), (p + "self_attn.q_proj.bias", new long[] { h }),
                (p + "self_attn.k_proj.weight", new long[] { kv, h }), (p + "self_attn.k_proj.bias", new long[] { kv }),
                (p + "self_attn.v_proj.weight", new long[] { kv, h }), (p + "self_attn.v_proj.bias", new long[] { kv }),
                (p + "self_attn.o_proj.weight", new long[] { h, h }),
                (p + "post_attention_layernorm.weight", new long[] { h }),
                (p + "mlp.gate_proj.weight", new long[] { mlp, h }), (p + "mlp.up_proj.weight", new long[] { mlp, h }),
                (p + "mlp.down_proj.weight", new long[] { h, mlp }),
            });
        }
        shapes.Add(("model.norm.weight", new long[] { h }));
        for (int m = 0; m <= models; m++)
        {
            string folder = Path.Combine(dir, m == 0 ? "pretrained" : $"task{m}");
            Checkpoint.Save(new Generated(shapes, m), folder, maxShardBytes: 1_000_000_000);
            File.WriteAllText(Path.Combine(folder, "config.json"), JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["architectures"] = new[] { "Qwen2ForCausalLM" }, ["model_type"] = "qwen2", ["hidden_size"] = h, ["intermediate_size"] = mlp,
                ["num_hidden_layers"] = layers, ["num_attention_heads"] = heads, ["num_key_value_heads"] = 2, ["vocab_size"] = 151936,
                ["tie_word_embeddings"] = true, ["torch_dtype"] = "bfloat16",
            }));
            File.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), "{\"tokenizer_class\": \"Qwen2Tokenizer\"}");
            Console.WriteLine($"wrote {folder}");
        }
    }

    /// <summary>
    /// PEFT LoRA adapter folders <c>lora{i}</c> on the pretrained model of <see cref="Write"/> (<c>adapter_config.json</c>
    /// + <c>adapter_model.safetensors</c>): rank <paramref name="rank"/>, α = 2r, on every layer's q_proj, k_proj, v_proj,
    /// o_proj, gate_proj, up_proj and down_proj (PEFT's all-linear choice for Qwen2), bf16, seeded per adapter.
    /// </summary>
    public static void WriteAdapters(string dir, int layers, int adapters, int rank)
    {
        // The adapted shapes come from the pretrained model, so adapters fit either size make-llm writes.
        var modules = new[] { "self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj" };
        using var pretrained = Checkpoint.Open(Path.Combine(dir, "pretrained"));
        var targets = modules.Select(m => { var shape = pretrained.GetInfo($"model.layers.0.{m}.weight").Shape; return (Module: m, Out: shape[0], In: shape[1]); }).ToArray();
        for (int a = 1; a <= adapters; a++)
        {
            string folder = Path.Combine(dir, $"lora{a}");
            Directory.CreateDirectory(folder);
            using var weights = new StateDict($"lora{a}");
            using var g = new Generator((ulong)(7_000 + a));
            for (int l = 0; l < layers; l++)
                foreach (var (module, outDim, inDim) in targets)
                {
                    string key = $"base_model.model.model.layers.{l}.{module}";
                    weights.Add(key + ".lora_A.weight", randn(new long[] { rank, inDim }, generator: g).mul_(0.01).to(ScalarType.BFloat16));
                    weights.Add(key + ".lora_B.weight", randn(new long[] { outDim, rank }, generator: g).mul_(0.01).to(ScalarType.BFloat16));
                }
            Checkpoint.Save(weights, Path.Combine(folder, "adapter_model.safetensors"));
            File.WriteAllText(Path.Combine(folder, "adapter_config.json"), JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["peft_type"] = "LORA", ["r"] = rank, ["lora_alpha"] = 2 * rank, ["use_rslora"] = false, ["bias"] = "none",
                ["target_modules"] = new[] { "q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj" },
                ["base_model_name_or_path"] = "../pretrained", ["task_type"] = "CAUSAL_LM",
            }));
            Console.WriteLine($"wrote {folder}");
        }
    }

    /// <summary>Model m's tensors, made when read: the pretrained weights (seeded per tensor) plus a small per-model change.</summary>
    private sealed class Generated(List<(string Name, long[] Shape)> shapes, int model) : IWeightSource
    {
        public string Name => $"model{model}";
        public IReadOnlyList<string> TensorNames { get; } = shapes.Select(s => s.Name).ToList();
        public bool Contains(string tensorName) => shapes.Any(s => s.Name == tensorName);
        public TensorInfo GetInfo(string tensorName) => new(ScalarType.BFloat16, shapes.First(s => s.Name == tensorName).Shape);

        public Tensor Read(string tensorName)
        {
            int index = shapes.FindIndex(s => s.Name == tensorName);
            using var g = new Generator((ulong)index + 1);
            using var scope = NewDisposeScope();
            var t = randn(shapes[index].Shape, generator: g).mul_(0.02);
            if (model > 0)
            {
                using var gm = new Generator((ulong)(model * 100_003 + index));
                t.add_(randn(shapes[index].Shape, generator: gm).mul_(0.002));
            }
            return t.to(ScalarType.BFloat16).MoveToOuterDisposeScope();
        }

        public void Dispose() { }
    }
}

using System.Globalization;
using FusionBench.Core;
using FusionBench.Core.Algorithms;
using FusionBench.Core.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FusionBench.Suites.Text;

/// <summary>How a text task's backbone is fine-tuned (the feasibility study's recipe, FusionBench's CLIP protocol).</summary>
public sealed record TextFineTuneOptions
{
    /// <summary>Optimizer steps. Default 300 (about 1.6 epochs of 3,000 texts).</summary>
    public int Steps { get; init; } = 300;

    /// <summary>Texts per step. Default 16.</summary>
    public int BatchSize { get; init; } = 16;

    /// <summary>AdamW's peak learning rate. Default 5e-5.</summary>
    public double LearningRate { get; init; } = 5e-5;

    /// <summary>AdamW's weight decay. Default 0.01.</summary>
    public double WeightDecay { get; init; } = 0.01;

    /// <summary>The share of steps with a linear warm-up, before the linear decay to 0. Default 0.1.</summary>
    public double WarmupFraction { get; init; } = 0.1;

    /// <summary>Seed of the batch order. Default 0.</summary>
    public long Seed { get; init; }
}

/// <summary>
/// Fine-tunes a BERT backbone on one text task with its fixed zero-shot head (never trained, as CLIP's text heads in
/// FusionBench): AdamW with a linear warm-up and decay, shuffled epochs, dynamic padding per batch. The word-embedding
/// matrix stays frozen (its dense gradient doubles the CPU step and its task vector is zero anyway) and the unused
/// pooler is not trained; every other tensor is.
/// </summary>
public static class TextFineTuning
{
    /// <summary>The tensors a fine-tune leaves at their pretrained values.</summary>
    public static bool IsFrozen(string name) =>
        name == "embeddings.word_embeddings.weight" || name.StartsWith("pooler.", StringComparison.Ordinal);

    /// <summary>Fine-tunes and returns the full fine-tuned weights (frozen tensors copied).</summary>
    /// <param name="model">The architecture.</param>
    /// <param name="pretrained">The pretrained weights (not modified).</param>
    /// <param name="head">The task's fixed head (<see cref="TextPromptHeads.Build"/>).</param>
    /// <param name="encoder">The tokenizer.</param>
    /// <param name="train">The training texts.</param>
    /// <param name="options">The recipe.</param>
    /// <param name="progress">Step, loss and time left, or null.</param>
    /// <param name="cancellationToken">Observed between steps.</param>
    public static StateDict FineTune(BertModel model, IReadOnlyDictionary<string, Tensor> pretrained, Tensor head, BertTextEncoder encoder,
        TextSplit train, TextFineTuneOptions options, IProgress<FusionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var weights = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var trainable = new List<Parameter>();
        try
        {
            foreach (var (name, t) in pretrained)
            {
                if (IsFrozen(name) || !is_floating_point(t.dtype)) { weights[name] = t.detach().clone(); continue; }
                var p = new Parameter(t.detach().clone(), requires_grad: true);
                trainable.Add(p);
                weights[name] = p;
            }
            Train(trainable, () => weights, model, head, encoder, train, options, options.LearningRate, progress, cancellationToken);
            var result = new StateDict("fine-tuned");
            foreach (var name in pretrained.Keys) result.Add(name, weights[name].detach().clone());
            return result;
        }
        finally
        {
            foreach (var t in weights.Values) t.Dispose();
        }
    }

    /// <summary>
    /// LoRA fine-tune (Hu et al., 2022, as PEFT does it): each target module's weight W becomes W + (α/r)·B·A with A
    /// [r, in] drawn as PEFT does (Kaiming-uniform, bound 1/√in) and B [out, r] zero, so training starts at the
    /// pretrained model; only A and B are trained, on the same schedule and batches as the full fine-tune.
    /// </summary>
    /// <returns>The trained adapters under PEFT's names (<c>base_model.model.&lt;module&gt;.lora_A.weight</c>,
    /// <c>…lora_B.weight</c>).</returns>
    /// <param name="model">The architecture.</param>
    /// <param name="pretrained">The pretrained weights (not modified).</param>
    /// <param name="head">The task's fixed head.</param>
    /// <param name="encoder">The tokenizer.</param>
    /// <param name="train">The training texts.</param>
    /// <param name="options">The schedule (steps, batch size, warm-up, weight decay, seed); the learning rate is <paramref name="lora"/>'s.</param>
    /// <param name="lora">Rank, α, target modules and learning rate.</param>
    /// <param name="progress">Step, loss and time left, or null.</param>
    /// <param name="cancellationToken">Observed between steps.</param>
    public static StateDict FineTuneLora(BertModel model, IReadOnlyDictionary<string, Tensor> pretrained, Tensor head, BertTextEncoder encoder,
        TextSplit train, TextFineTuneOptions options, TextLoraOptions lora, IProgress<FusionProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(lora);
        if (lora.Rank < 1) throw new ArgumentOutOfRangeException(nameof(lora), $"LoRA rank must be ≥ 1, got {lora.Rank}.");
        var targets = LoraTargets(pretrained.Keys, lora).ToList();
        if (targets.Count == 0)
            throw new ArgumentException($"No weight matches the LoRA target modules {string.Join(", ", lora.TargetModules)}.", nameof(lora));
        using var generator = new Generator(unchecked((ulong)options.Seed) + 1); // its own stream: the batch order stays the full fine-tune's
        var adapters = new List<(string Weight, Parameter A, Parameter B)>();
        try
        {
            foreach (var target in targets)
            {
                var shape = pretrained[target].shape; // [out, in]
                double bound = 1.0 / Math.Sqrt(shape[1]);
                adapters.Add((target,
                    new Parameter(rand(new[] { (long)lora.Rank, shape[1] }, generator: generator).mul_(2 * bound).sub_(bound), requires_grad: true),
                    new Parameter(zeros(shape[0], lora.Rank), requires_grad: true)));
            }
            double scale = lora.Scaling;
            Dictionary<string, Tensor> Weights()
            {
                var w = new Dictionary<string, Tensor>(pretrained, StringComparer.Ordinal);
                foreach (var (target, a, b) in adapters) w[target] = pretrained[target] + b.matmul(a).mul(scale);
                return w;
            }
            Train(adapters.SelectMany(x => new[] { x.A, x.B }).ToList(), Weights, model, head, encoder, train, options, lora.LearningRate, progress, cancellationToken);
            var result = new StateDict("lora-adapters");
            foreach (var (target, a, b) in adapters)
            {
                string module = PeftPrefix + target[..^".weight".Length];
                result.Add(module + ".lora_A.weight", a.detach().clone());
                result.Add(module + ".lora_B.weight", b.detach().clone());
            }
            return result;
        }
        finally
        {
            foreach (var (_, a, b) in adapters) { a.Dispose(); b.Dispose(); }
        }
    }

    /// <summary>The prefix PEFT puts before a module's name in an adapter file.</summary>
    public const string PeftPrefix = "base_model.model.";

    /// <summary>The weights LoRA adapts: every 2-D <c>…&lt;target&gt;.weight</c> of the encoder.</summary>
    internal static IEnumerable<string> LoraTargets(IEnumerable<string> names, TextLoraOptions lora) =>
        names.Where(n => n.StartsWith("encoder.layer.", StringComparison.Ordinal) && n.EndsWith(".weight", StringComparison.Ordinal)
            && lora.TargetModules.Any(m => n[..^".weight".Length].EndsWith("." + m, StringComparison.Ordinal)));

    /// <summary>
    /// Merges LoRA adapters into weights: W + (α/r)·B·A for each adapted module (PEFT's <c>merge_and_unload</c>).
    /// Returns only the adapted weights.
    /// </summary>
    public static StateDict MergeLora(IReadOnlyDictionary<string, Tensor> pretrained, IReadOnlyDictionary<string, Tensor> adapters, TextLoraOptions lora)
    {
        var merged = new StateDict("lora-merged");
        using var scope = NewDisposeScope();
        foreach (var target in LoraTargets(pretrained.Keys, lora))
        {
            string module = PeftPrefix + target[..^".weight".Length];
            if (!adapters.TryGetValue(module + ".lora_A.weight", out var a) || !adapters.TryGetValue(module + ".lora_B.weight", out var b))
                throw new FusionException($"The LoRA adapter has no lora_A/lora_B for {target}.");
            merged.Add(target, (pretrained[target] + b.matmul(a).mul(lora.Scaling)).MoveToOuterDisposeScope());
        }
        return merged;
    }

    private static void Train(IReadOnlyList<Parameter> trainable, Func<IReadOnlyDictionary<string, Tensor>> weights, BertModel model, Tensor head,
        BertTextEncoder encoder, TextSplit train, TextFineTuneOptions options, double learningRate, IProgress<FusionProgress>? progress, CancellationToken cancellationToken)
    {
        if (train.Count == 0) throw new ArgumentException("The task has no training texts.", nameof(train));
        // Tokenise once; each batch is padded to its own longest text.
        var encoded = train.Texts.Select(encoder.Encode).ToList();
        using var optimizer = optim.AdamW(trainable, lr: learningRate, weight_decay: options.WeightDecay);
        int warmup = Math.Max(1, (int)Math.Round(options.Steps * options.WarmupFraction));
        var schedule = optim.lr_scheduler.LambdaLR(optimizer, step =>
            step < warmup ? (step + 1.0) / warmup : Math.Max(0.0, (double)(options.Steps - step) / Math.Max(1, options.Steps - warmup)));
        using var generator = new Generator(unchecked((ulong)options.Seed));
        var batches = new ShuffledBatches(train.Count, options.BatchSize, generator);
        var steps = new StepProgress(progress, "fine-tuning", options.Steps);
        for (int step = 1; step <= options.Steps; step++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            using var scope = NewDisposeScope();
            var rows = batches.Next().data<long>().ToArray();
            var ids = encoder.Pad(rows.Select(r => encoded[(int)r]).ToList());
            var labels = tensor(rows.Select(r => (long)train.Labels[(int)r]).ToArray());
            optimizer.zero_grad();
            var loss = F.cross_entropy(TextPromptHeads.Logits(head, model.Forward(weights(), ids)), labels);
            loss.backward();
            optimizer.step();
            schedule.step();
            steps.Report(step, string.Create(CultureInfo.InvariantCulture, $"loss {loss.ToDouble():F3}"));
        }
    }
}

/// <summary>The text zoo's LoRA fine-tunes (FusionBench's LoRA model pools use rank 16).</summary>
public sealed record TextLoraOptions
{
    /// <summary>The rank r. Default 16.</summary>
    public int Rank { get; init; } = 16;

    /// <summary>α; the update is scaled by α/r. Default 32.</summary>
    public double Alpha { get; init; } = 32;

    /// <summary>The modules adapted, by the last part of their name. Default BERT's attention query and value (PEFT's default for BERT).</summary>
    public IReadOnlyList<string> TargetModules { get; init; } = new[] { "query", "value" };

    /// <summary>AdamW's peak learning rate (LoRA trains far fewer weights, from B = 0, and takes a larger step over the zoo's
    /// 1.6 epochs). Default 1e-3.</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>α/r.</summary>
    [System.Text.Json.Serialization.JsonIgnore] public double Scaling => Alpha / Rank;
}

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
        if (train.Count == 0) throw new ArgumentException("The task has no training texts.", nameof(train));
        // Tokenise once; each batch is padded to its own longest text.
        var encoded = train.Texts.Select(encoder.Encode).ToList();
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
            using var optimizer = optim.AdamW(trainable, lr: options.LearningRate, weight_decay: options.WeightDecay);
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
                var loss = F.cross_entropy(TextPromptHeads.Logits(head, model.Forward(weights, ids)), labels);
                loss.backward();
                optimizer.step();
                schedule.step();
                steps.Report(step, string.Create(CultureInfo.InvariantCulture, $"loss {loss.ToDouble():F3}"));
            }
            var result = new StateDict("fine-tuned");
            foreach (var name in pretrained.Keys) result.Add(name, weights[name].detach().clone());
            return result;
        }
        finally
        {
            foreach (var t in weights.Values) t.Dispose();
        }
    }
}

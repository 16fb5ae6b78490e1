using FusionBench.Core.Models;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FusionBench.Suites.Image;

/// <summary>Minibatch training and batched evaluation shared by the zoo builder and the task pool.</summary>
internal static class ImageTraining
{
    /// <summary>
    /// Runs AdamW over <paramref name="parameters"/> for <paramref name="epochs"/> passes over <paramref name="data"/> in
    /// shuffled batches (order drawn from <paramref name="generator"/>); <paramref name="loss"/> maps a batch to its loss.
    /// </summary>
    /// <returns>The mean loss of the last epoch.</returns>
    public static double Train(IEnumerable<Parameter> parameters, ImageDataset data, int epochs, int batchSize, double lr, double weightDecay,
        Generator generator, Func<Tensor, Tensor, Tensor> loss, CancellationToken ct, Action<int, int, double>? onStep = null)
    {
        var ps = parameters.ToList();
        using var optimizer = optim.AdamW(ps, lr: lr, weight_decay: weightDecay);
        int n = data.Count;
        int stepsPerEpoch = (n + batchSize - 1) / batchSize;
        int total = stepsPerEpoch * epochs, step = 0;
        double epochLoss = 0;
        for (int e = 0; e < epochs; e++)
        {
            using var order = randperm(n, generator: generator);
            epochLoss = 0;
            for (int s = 0; s < stepsPerEpoch; s++)
            {
                ct.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var idx = order.narrow(0, (long)s * batchSize, Math.Min(batchSize, n - s * batchSize));
                var x = data.Images.index_select(0, idx);
                var y = data.Labels.index_select(0, idx);
                optimizer.zero_grad();
                var l = loss(x, y);
                l.backward();
                optimizer.step();
                double value = l.ToDouble();
                epochLoss += value;
                onStep?.Invoke(++step, total, value);
            }
            epochLoss /= stepsPerEpoch;
        }
        return epochLoss;
    }

    /// <summary>Accuracy in [0, 1] and mean cross-entropy of <paramref name="logits"/> on a dataset, in batches, without gradients.</summary>
    public static TaskMetrics Evaluate(Func<Tensor, Tensor> logits, Tensor images, Tensor labels, int batchSize = 256)
    {
        using var noGrad = no_grad();
        long n = labels.shape[0];
        long correct = 0;
        double lossSum = 0;
        for (long off = 0; off < n; off += batchSize)
        {
            using var scope = NewDisposeScope();
            long len = Math.Min(batchSize, n - off);
            var y = labels.narrow(0, off, len);
            var z = logits(images.narrow(0, off, len));
            correct += z.argmax(1).eq(y).sum().ToInt64();
            lossSum += F.cross_entropy(z, y, reduction: nn.Reduction.Sum).ToDouble();
        }
        return new TaskMetrics(n == 0 ? 0 : (double)correct / n, n == 0 ? 0 : lossSum / n);
    }

    /// <summary>Float weights of a state dict as trainable parameters (integer buffers stay plain tensors).</summary>
    public static Dictionary<string, Tensor> AsParameters(StateDict weights, out List<Parameter> trainable)
    {
        var result = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        trainable = new List<Parameter>();
        foreach (var (name, t) in weights)
        {
            if (!is_floating_point(t.dtype))
            {
                result[name] = t;
                continue;
            }
            var p = new Parameter(t.detach().clone(), requires_grad: true);
            trainable.Add(p);
            result[name] = p;
        }
        return result;
    }

    /// <summary>Copies trained tensors into a new state dict (detached), in <paramref name="order"/>.</summary>
    public static StateDict Snapshot(IReadOnlyDictionary<string, Tensor> weights, IEnumerable<string> order, string name)
    {
        var d = new StateDict(name);
        foreach (var n in order) d.Add(n, weights[n].detach().clone());
        return d;
    }

    /// <summary>Pooled features of a backbone for a whole image tensor, in batches, without gradients.</summary>
    public static Tensor Features(ClipVisionModel model, IReadOnlyDictionary<string, Tensor> weights, Tensor images, int batchSize = 256)
    {
        using var noGrad = no_grad();
        var parts = new List<Tensor>();
        for (long off = 0; off < images.shape[0]; off += batchSize)
            parts.Add(model.Forward(weights, images.narrow(0, off, Math.Min(batchSize, images.shape[0] - off))));
        var all = cat(parts, 0);
        foreach (var p in parts) p.Dispose();
        return all;
    }
}

using System.Diagnostics;
using FusionBench.Core.Checkpoints;
using FusionBench.Core.Internal;
using FusionBench.Core.Options;

namespace FusionBench.Core.Algorithms;

/// <summary>What <see cref="StreamingMerge.MergeToCheckpoint"/> did.</summary>
/// <param name="Streamed">Whether the merge streamed tensor by tensor (else it was computed whole, then written).</param>
/// <param name="Tensors">Tensors written.</param>
/// <param name="Bytes">Bytes of tensor data written.</param>
/// <param name="Elapsed">Merge and write, together.</param>
/// <param name="Parameters">The method's parameters.</param>
public sealed record StreamingMergeResult(bool Streamed, int Tensors, long Bytes, TimeSpan Elapsed, IReadOnlyDictionary<string, object?> Parameters)
{
    /// <summary>Tasks whose per-task parts were written to <c>task_parts/</c> (EMR-Merging, TALL masks); 0 for ordinary merges.</summary>
    public int TaskParts { get; init; }
}

/// <summary>
/// Merges straight to a checkpoint: a method that streams (<see cref="IStreamingFusionAlgorithm"/>) computes each merged
/// tensor as the writer asks for it and drops it once written, so memory holds one tensor of every model, not the
/// merged model; any other method fuses in memory first. A folder gets Hugging Face's layout (sharded at
/// <c>maxShardBytes</c>) plus the pretrained folder's config and tokenizer files, so it loads as the pretrained model
/// does. Written atomically: a failed or cancelled merge leaves no output (and an earlier one intact).
/// </summary>
public static class StreamingMerge
{
    /// <summary>The files of a Hugging Face model folder, other than weights, that a merged model shares with its base.</summary>
    public static IReadOnlyList<string> SideFiles { get; } = new[]
    {
        "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json",
        "added_tokens.json", "vocab.txt", "vocab.json", "merges.txt", "tokenizer.model", "chat_template.jinja", "preprocessor_config.json",
    };

    /// <summary>Merges <paramref name="modelPool"/> with <paramref name="algorithm"/> into <paramref name="outputPath"/>.</summary>
    /// <param name="algorithm">A merge whose result is one set of weights.</param>
    /// <param name="modelPool">The models.</param>
    /// <param name="outputPath">A <c>.safetensors</c> file, a <c>.bin</c>/<c>.pt</c> file, or a folder.</param>
    /// <param name="maxShardBytes">The largest shard of a folder.</param>
    /// <param name="sideFilesFrom">A folder whose <see cref="SideFiles"/> are copied into a folder output (usually the pretrained model's), or null.</param>
    /// <param name="cancellationToken">Observed between tensors.</param>
    /// <param name="outputDType">The dtype floating-point tensors are written in (e.g. bfloat16), or null for each tensor's own.</param>
    /// <param name="progress">Told after each tensor written (operation "write"), or null.</param>
    /// <exception cref="FusionException">The method produces a model, not weights.</exception>
    public static StreamingMergeResult MergeToCheckpoint(IFusionAlgorithm algorithm, IModelPool modelPool, string outputPath,
        long maxShardBytes = Checkpoint.DefaultMaxShardBytes, string? sideFilesFrom = null, CancellationToken cancellationToken = default,
        TorchSharp.torch.ScalarType? outputDType = null, IProgress<FusionProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(algorithm);
        ArgumentNullException.ThrowIfNull(modelPool);
        ArgumentNullException.ThrowIfNull(outputPath);
        var clock = Stopwatch.StartNew();
        bool folder = Checkpoint.SavesAsFolder(outputPath);
        return LeavingNothingOnFailure(outputPath, () =>
        {
            IWeightSource written;
            IDisposable? owned = null;
            TaskSpecificWeights? parts = null;
            IReadOnlyDictionary<string, object?> parameters;
            bool streamed;
            if (algorithm is IStreamingFusionAlgorithm s && s.FuseStreaming(modelPool, cancellationToken) is { } lazy)
            {
                written = lazy;
                streamed = true;
                parameters = s.Parameters;
            }
            else
            {
                var result = algorithm.Fuse(modelPool, cancellationToken);
                if (!result.HasWeights)
                {
                    result.Dispose();
                    throw new FusionException($"Method '{result.Method.Name}' produces a model, not one set of weights, so there is nothing to write.");
                }
                if (result.TaskWeights is not null && !folder)
                {
                    result.Dispose();
                    throw new FusionException($"Method '{result.Method.Name}' gives every task its own parts (masks, rescalers); write it to a folder, which gets the shared model and {TaskSpecificWeights.FolderName}/.");
                }
                written = result.Weights;
                owned = result;
                parts = result.TaskWeights;
                streamed = false;
                parameters = result.Parameters;
            }
            if (outputDType is { } dtype) written = new Cast(written, dtype);
            using (owned)
            using (written)
            {
                var (tensors, bytes) = WriteCore(written, outputPath, maxShardBytes, sideFilesFrom, null, progress, cancellationToken);
                parts?.Save(Path.Combine(outputPath, TaskSpecificWeights.FolderName));
                return new StreamingMergeResult(streamed, tensors, bytes, clock.Elapsed, parameters) { TaskParts = parts?.Tasks.Count ?? 0 };
            }
        });
    }

    /// <summary>
    /// Writes a (lazy) source to <paramref name="outputPath"/> tensor by tensor, atomically, with the side files of
    /// <paramref name="sideFilesFrom"/> for a folder; <paramref name="rewriteConfig"/> may change <c>config.json</c>'s text,
    /// and <paramref name="progress"/> is told after each tensor written.
    /// </summary>
    internal static (int Tensors, long Bytes) Write(IWeightSource written, string outputPath, long maxShardBytes, string? sideFilesFrom,
        Func<string, string>? rewriteConfig, IProgress<FusionProgress>? progress, CancellationToken cancellationToken) =>
        LeavingNothingOnFailure(outputPath, () => WriteCore(written, outputPath, maxShardBytes, sideFilesFrom, rewriteConfig, progress, cancellationToken));

    /// <summary>Runs <paramref name="write"/>; if it fails, a folder it created is removed (an earlier folder keeps its files: Save renames last).</summary>
    private static T LeavingNothingOnFailure<T>(string outputPath, Func<T> write)
    {
        bool folder = Checkpoint.SavesAsFolder(outputPath);
        bool existed = Directory.Exists(outputPath);
        try
        {
            return write();
        }
        catch
        {
            if (folder && !existed && Directory.Exists(outputPath))
                try { Directory.Delete(outputPath, recursive: true); } catch (IOException) { }
            throw;
        }
    }

    private static (int Tensors, long Bytes) WriteCore(IWeightSource written, string outputPath, long maxShardBytes, string? sideFilesFrom,
        Func<string, string>? rewriteConfig, IProgress<FusionProgress>? progress, CancellationToken cancellationToken)
    {
        Checkpoint.Save(progress is null ? written : new Reporting(written, progress), outputPath, maxShardBytes, cancellationToken);
        long bytes = written.TensorNames.Sum(n => written.GetInfo(n).ByteCount);
        if (Checkpoint.SavesAsFolder(outputPath) && sideFilesFrom is not null && Directory.Exists(sideFilesFrom))
            foreach (var file in SideFiles.Where(f => File.Exists(Path.Combine(sideFilesFrom, f))))
            {
                string target = Path.Combine(outputPath, file), tmp = AtomicFile.TempPathFor(target);
                if (file == "config.json" && rewriteConfig is not null)
                    File.WriteAllText(tmp, rewriteConfig(File.ReadAllText(Path.Combine(sideFilesFrom, file))));
                else
                    File.Copy(Path.Combine(sideFilesFrom, file), tmp, overwrite: true);
                File.Move(tmp, target, overwrite: true);
            }
        return (written.TensorNames.Count, bytes);
    }

    /// <summary>A source that reports each tensor read (that is, written) to a progress sink.</summary>
    private sealed class Reporting(IWeightSource inner, IProgress<FusionProgress> progress) : IWeightSource, IRowBlockSource
    {
        public void ReadInBlocks(string tensorName, Action<TorchSharp.torch.Tensor> write)
        {
            if (inner is IRowBlockSource blocks) blocks.ReadInBlocks(tensorName, write);
            else
            {
                using var t = inner.Read(tensorName);
                write(t);
            }
            progress.Report(new FusionProgress("write", ++_done, inner.TensorNames.Count, _clock.Elapsed, tensorName));
        }

        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private int _done;
        public string Name => inner.Name;
        public IReadOnlyList<string> TensorNames => inner.TensorNames;
        public bool Contains(string tensorName) => inner.Contains(tensorName);
        public TensorInfo GetInfo(string tensorName) => inner.GetInfo(tensorName);

        public TorchSharp.torch.Tensor Read(string tensorName)
        {
            var t = inner.Read(tensorName);
            progress.Report(new FusionProgress("write", ++_done, inner.TensorNames.Count, _clock.Elapsed, tensorName));
            return t;
        }

        public void Dispose() { } // a view for the writer: the caller owns the source
    }

    /// <summary>A source whose floating-point tensors are converted to one dtype as they are read.</summary>
    private sealed class Cast(IWeightSource inner, TorchSharp.torch.ScalarType dtype) : IWeightSource, IRowBlockSource
    {
        public void ReadInBlocks(string tensorName, Action<TorchSharp.torch.Tensor> write)
        {
            if (inner is not IRowBlockSource blocks)
            {
                using var t = Read(tensorName);
                write(t);
                return;
            }
            blocks.ReadInBlocks(tensorName, block =>
            {
                if (!TorchSharp.torch.is_floating_point(block.dtype) || block.dtype == dtype) write(block);
                else
                {
                    using var c = block.to(dtype);
                    write(c);
                }
            });
        }

        public string Name => inner.Name;
        public IReadOnlyList<string> TensorNames => inner.TensorNames;
        public bool Contains(string tensorName) => inner.Contains(tensorName);

        public TensorInfo GetInfo(string tensorName)
        {
            var info = inner.GetInfo(tensorName);
            return info.IsFloatingPoint ? info with { DType = dtype } : info;
        }

        public TorchSharp.torch.Tensor Read(string tensorName)
        {
            var t = inner.Read(tensorName);
            if (!TorchSharp.torch.is_floating_point(t.dtype) || t.dtype == dtype) return t;
            var c = t.to(dtype);
            t.Dispose();
            return c;
        }

        public void Dispose() => inner.Dispose();
    }
}

using FusionBench.Suites.Data;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace FusionBench.Suites.Image;

/// <summary>
/// The eight tasks of the image suite (this project's counterpart of FusionBench's eight CLIP tasks) and the
/// pretraining data, built from the embedded subsets of MNIST, Fashion-MNIST and scikit-learn's 8×8 digits.
/// </summary>
/// <remarks>
/// Tasks from one source use disjoint training images and differ in input domain or label space:
/// <list type="table">
/// <item><term>mnist</term><description>MNIST digits, 10 classes; train images 0–1999.</description></item>
/// <item><term>mnist_rot90</term><description>MNIST rotated 90° counter-clockwise, 10 classes; train 2000–3999.</description></item>
/// <item><term>mnist_inverted</term><description>MNIST with inverted intensities (1 − x), 10 classes; train 4000–5999.</description></item>
/// <item><term>fashion</term><description>Fashion-MNIST, 10 classes; train 0–1999.</description></item>
/// <item><term>fashion_coarse</term><description>Fashion-MNIST in 4 groups (top, bottom, footwear, bag); train 2000–3999.</description></item>
/// <item><term>fashion_flipped</term><description>Fashion-MNIST flipped upside down, 10 classes; train 4000–5999.</description></item>
/// <item><term>digits</term><description>scikit-learn 8×8 digits upsampled to 28×28 (bilinear), 10 classes; first 1400 train, last 397 test.</description></item>
/// <item><term>digits_rot180</term><description>the same digits rotated 180°, 10 classes.</description></item>
/// </list>
/// Every MNIST and Fashion-MNIST task is tested on the 1,000 embedded test images under its own transform.
/// Pretraining (not one of the eight): predicting which of four rotations (0°, 90°, 180°, 270°) was applied to
/// MNIST and Fashion-MNIST training images, a self-supervised task that needs no task labels.
/// </remarks>
public static class ImageSuiteData
{
    /// <summary>The task names, in report order.</summary>
    public static IReadOnlyList<string> TaskNames { get; } = new[]
    {
        "mnist", "mnist_rot90", "mnist_inverted", "fashion", "fashion_coarse", "fashion_flipped", "digits", "digits_rot180",
    };

    /// <summary>The generalization study's split: fuse the six seen tasks, evaluate on all eight.</summary>
    public static IReadOnlyList<string> UnseenTasks { get; } = new[] { "mnist_inverted", "fashion_flipped" };

    /// <summary>The six tasks merged in the generalization study.</summary>
    public static IReadOnlyList<string> SeenTasks { get; } = TaskNames.Except(UnseenTasks).ToList();

    private static readonly string[] Digits = Enumerable.Range(0, 10).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
    private static readonly string[] Fashion = { "t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot" };
    private static readonly long[] FashionCoarseOf = { 0, 1, 0, 1, 0, 2, 0, 2, 3, 2 }; // top, bottom, footwear, bag

    /// <summary>The files the suite reads from its data folder.</summary>
    public static IReadOnlyList<string> Files { get; } = new[]
    {
        "mnist-train-images.idx.gz", "mnist-train-labels.idx.gz", "mnist-test-images.idx.gz", "mnist-test-labels.idx.gz",
        "fashion-train-images.idx.gz", "fashion-train-labels.idx.gz", "fashion-test-images.idx.gz", "fashion-test-labels.idx.gz",
        "digits.csv.gz",
    };

    /// <summary>Loads the eight tasks from a data folder.</summary>
    /// <param name="dataDirectory">The folder with <see cref="Files"/>.</param>
    /// <param name="trainPerTask">Training images per MNIST/Fashion task (at most 2000; fewer for quick runs).</param>
    /// <param name="testPerTask">Test images per task (at most 1000 for MNIST/Fashion, 397 for digits).</param>
    /// <exception cref="FileNotFoundException">A data file is missing; the message names it.</exception>
    public static IReadOnlyList<ImageTask> LoadTasks(string dataDirectory, int trainPerTask = 2000, int testPerTask = 1000)
    {
        CheckFiles(dataDirectory);
        trainPerTask = Math.Clamp(trainPerTask, 1, 2000);
        var tasks = new List<ImageTask>();
        try
        {
            using var scope = NewDisposeScope();
            var (mTrainX, mTrainY, mTestX, mTestY) = LoadIdx(dataDirectory, "mnist");
            var (fTrainX, fTrainY, fTestX, fTestY) = LoadIdx(dataDirectory, "fashion");
            var (dX, dY) = DigitsCsvReader.Read(Path.Combine(dataDirectory, "digits.csv.gz"));
            dX = F.interpolate(dX, new long[] { 28, 28 }, mode: InterpolationMode.Bilinear, align_corners: false);
            long dTrain = Math.Min(1400, dX.shape[0] - 1);

            ImageDataset Slice(Tensor x, Tensor y, long start, long count, Func<Tensor, Tensor> transform, Func<Tensor, Tensor>? relabel = null)
            {
                count = Math.Min(count, x.shape[0] - start);
                var xs = transform(x.narrow(0, start, count)).contiguous();
                var ys = (relabel ?? (l => l))(y.narrow(0, start, count)).contiguous();
                return new ImageDataset(xs.clone(), ys.clone());
            }
            Tensor Same(Tensor t) => t;
            Tensor Rot90(Tensor t) => t.rot90(1, (2, 3));
            Tensor Rot180(Tensor t) => t.rot90(2, (2, 3));
            Tensor Invert(Tensor t) => 1 - t;
            Tensor FlipVertical(Tensor t) => t.flip(2);
            Tensor Coarse(Tensor labels)
            {
                using var table = tensor(FashionCoarseOf);
                return table.index_select(0, labels);
            }
            long test = testPerTask;
            void Add(string name, string source, string transform, IReadOnlyList<string> classes, ImageDataset train, ImageDataset testSet) =>
                tasks.Add(new ImageTask(name, source, transform, classes, train, testSet));

            Add("mnist", "MNIST", "none", Digits, Slice(mTrainX, mTrainY, 0, trainPerTask, Same), Slice(mTestX, mTestY, 0, test, Same));
            Add("mnist_rot90", "MNIST", "rotated 90°", Digits, Slice(mTrainX, mTrainY, 2000, trainPerTask, Rot90), Slice(mTestX, mTestY, 0, test, Rot90));
            Add("mnist_inverted", "MNIST", "inverted intensities", Digits, Slice(mTrainX, mTrainY, 4000, trainPerTask, Invert), Slice(mTestX, mTestY, 0, test, Invert));
            Add("fashion", "Fashion-MNIST", "none", Fashion, Slice(fTrainX, fTrainY, 0, trainPerTask, Same), Slice(fTestX, fTestY, 0, test, Same));
            Add("fashion_coarse", "Fashion-MNIST", "labels grouped: top, bottom, footwear, bag", new[] { "top", "bottom", "footwear", "bag" },
                Slice(fTrainX, fTrainY, 2000, trainPerTask, Same, Coarse), Slice(fTestX, fTestY, 0, test, Same, Coarse));
            Add("fashion_flipped", "Fashion-MNIST", "flipped upside down", Fashion, Slice(fTrainX, fTrainY, 4000, trainPerTask, FlipVertical), Slice(fTestX, fTestY, 0, test, FlipVertical));
            Add("digits", "scikit-learn digits", "8×8 upsampled to 28×28", Digits, Slice(dX, dY, 0, dTrain, Same), Slice(dX, dY, dTrain, test, Same));
            Add("digits_rot180", "scikit-learn digits", "8×8 upsampled to 28×28, rotated 180°", Digits, Slice(dX, dY, 0, dTrain, Rot180), Slice(dX, dY, dTrain, test, Rot180));
            return tasks;
        }
        catch
        {
            foreach (var t in tasks) t.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The pretraining set: MNIST and Fashion-MNIST training images, each rotated by a random multiple of 90°, labelled
    /// with the rotation (4 classes).
    /// </summary>
    public static ImageDataset LoadPretraining(string dataDirectory, Generator generator, int perSource = 6000)
    {
        CheckFiles(dataDirectory);
        using var scope = NewDisposeScope();
        var m = IdxReader.ReadImages(Path.Combine(dataDirectory, "mnist-train-images.idx.gz"), perSource);
        var f = IdxReader.ReadImages(Path.Combine(dataDirectory, "fashion-train-images.idx.gz"), perSource);
        var x = cat(new[] { m, f }, 0);
        var rotation = randint(0, 4, new[] { x.shape[0] }, generator: generator);
        var rotated = x.clone();
        for (int k = 1; k < 4; k++)
        {
            var idx = rotation.eq(k).nonzero().flatten();
            if (idx.shape[0] > 0) rotated.index_copy_(0, idx, x.index_select(0, idx).rot90(k, (2, 3)));
        }
        return new ImageDataset(rotated.MoveToOuterDisposeScope(), rotation.MoveToOuterDisposeScope());
    }

    private static (Tensor, Tensor, Tensor, Tensor) LoadIdx(string dir, string name) => (
        IdxReader.ReadImages(Path.Combine(dir, $"{name}-train-images.idx.gz")),
        IdxReader.ReadLabels(Path.Combine(dir, $"{name}-train-labels.idx.gz")),
        IdxReader.ReadImages(Path.Combine(dir, $"{name}-test-images.idx.gz")),
        IdxReader.ReadLabels(Path.Combine(dir, $"{name}-test-labels.idx.gz")));

    private static void CheckFiles(string dir)
    {
        if (!Directory.Exists(dir)) throw new DirectoryNotFoundException($"Image suite data folder not found: {dir}");
        foreach (var f in Files)
            if (!File.Exists(Path.Combine(dir, f)))
                throw new FileNotFoundException($"Image suite data file missing: {Path.Combine(dir, f)} (the folder needs {string.Join(", ", Files)}).", Path.Combine(dir, f));
    }
}

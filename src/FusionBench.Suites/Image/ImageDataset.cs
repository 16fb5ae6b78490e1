using static TorchSharp.torch;

namespace FusionBench.Suites.Image;

/// <summary>Images [N, 1, H, W] in [0, 1] with int64 labels [N]; owns both tensors.</summary>
public sealed class ImageDataset : IDisposable
{
    /// <summary>Takes ownership of the tensors.</summary>
    public ImageDataset(Tensor images, Tensor labels)
    {
        if (images.shape[0] != labels.shape[0])
            throw new ArgumentException($"{images.shape[0]} images but {labels.shape[0]} labels.");
        Images = images.DetachFromDisposeScope();
        Labels = labels.DetachFromDisposeScope();
    }

    /// <summary>Pixel values [N, 1, H, W] in [0, 1].</summary>
    public Tensor Images { get; }

    /// <summary>Class indices [N].</summary>
    public Tensor Labels { get; }

    /// <summary>The number of examples.</summary>
    public int Count => (int)Labels.shape[0];

    /// <summary>Disposes the tensors.</summary>
    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
    }
}

/// <summary>One classification task of the image suite: its data, label space and provenance.</summary>
/// <param name="Name">The task name (a model pool's model name and a report key).</param>
/// <param name="Source">The dataset the images come from.</param>
/// <param name="Transform">What was done to the source images or labels.</param>
/// <param name="ClassNames">The label space.</param>
/// <param name="Train">Training examples.</param>
/// <param name="Test">Test examples.</param>
public sealed record ImageTask(string Name, string Source, string Transform, IReadOnlyList<string> ClassNames, ImageDataset Train, ImageDataset Test) : IDisposable
{
    /// <summary>The number of classes.</summary>
    public int NumClasses => ClassNames.Count;

    /// <summary>Disposes the data.</summary>
    public void Dispose()
    {
        Train.Dispose();
        Test.Dispose();
    }
}

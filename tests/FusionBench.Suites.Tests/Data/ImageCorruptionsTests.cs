using FusionBench.Suites.Data;
using TorchSharp;
using Xunit;
using static TorchSharp.torch;

namespace FusionBench.Suites.Tests.Data;

public class ImageCorruptionsTests
{
    private static Tensor Images()
    {
        using var g = new Generator(3);
        return rand(new long[] { 4, 1, 28, 28 }, generator: g);
    }

    public static TheoryData<string> Names() => new(ImageCorruptions.All.Select(ImageCorruptions.Name));

    [Theory]
    [MemberData(nameof(Names))]
    public void EveryCorruption_IsDeterministic_InRange_ShapeKept_InputUntouched(string name)
    {
        var c = ImageCorruptions.Parse(name);
        using var x = Images();
        using var copy = x.clone();
        for (int severity = 1; severity <= 5; severity++)
        {
            using var a = ImageCorruptions.Apply(x, c, severity, seed: 7);
            using var b = ImageCorruptions.Apply(x, c, severity, seed: 7);
            Assert.Equal(x.shape, a.shape);
            Assert.Equal(ScalarType.Float32, a.dtype);
            Assert.True(a.eq(b).all().ToBoolean(), $"{name}/{severity} not deterministic");
            Assert.True(a.ge(0).all().ToBoolean() && a.le(1).all().ToBoolean(), $"{name}/{severity} out of [0, 1]");
            Assert.False(a.allclose(x), $"{name}/{severity} changed nothing");
        }
        Assert.True(x.eq(copy).all().ToBoolean());
    }

    [Theory]
    [InlineData("gaussian_noise")]
    [InlineData("impulse_noise")]
    [InlineData("contrast")]
    [InlineData("pixelate")]
    public void HigherSeverity_MovesImagesFurther(string name)
    {
        var c = ImageCorruptions.Parse(name);
        using var x = Images();
        double Distance(int s)
        {
            using var y = ImageCorruptions.Apply(x, c, s, seed: 1);
            return (y - x).abs().mean().ToDouble();
        }
        Assert.True(Distance(5) > Distance(1), $"{name}: severity 5 is not further from the clean images than severity 1");
    }

    [Fact]
    public void RandomCorruptions_DependOnTheSeed()
    {
        using var x = Images();
        using var a = ImageCorruptions.Apply(x, ImageCorruption.GaussianNoise, 3, seed: 1);
        using var b = ImageCorruptions.Apply(x, ImageCorruption.GaussianNoise, 3, seed: 2);
        Assert.False(a.allclose(b));
    }

    [Fact]
    public void Contrast_IsExact()
    {
        using var x = tensor(new float[] { 0, 1, 0.5f, 0.5f }).view(1, 1, 2, 2);
        using var y = ImageCorruptions.Apply(x, ImageCorruption.Contrast, 2); // c = 0.5 around the image mean 0.5
        Assert.Equal(new[] { 0.25f, 0.75f, 0.5f, 0.5f }, y.flatten().data<float>().ToArray());
    }

    [Fact]
    public void BadSeverityOrName_IsAClearError()
    {
        using var x = Images();
        Assert.Throws<ArgumentOutOfRangeException>(() => ImageCorruptions.Apply(x, ImageCorruption.Contrast, 6));
        var e = Assert.Throws<ArgumentException>(() => ImageCorruptions.Parse("fog"));
        Assert.Contains("motion_blur", e.Message);
    }
}

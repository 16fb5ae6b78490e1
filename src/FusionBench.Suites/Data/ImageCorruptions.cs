// Image corruptions after Hendrycks & Dietterich, "Benchmarking Neural Network Robustness to Common Corruptions and
// Perturbations", ICLR 2019 (https://arxiv.org/abs/1903.12261). Parameters follow the CIFAR-10-C tables of their
// make_cifar_c.py; the operations are re-implemented here on tensors for small (grayscale) images.
using TorchSharp;
using static TorchSharp.torch;

namespace FusionBench.Suites.Data;

/// <summary>
/// The image corruptions of FusionBench's robustness study (after Hendrycks &amp; Dietterich 2019, CIFAR-10-C tables).
/// </summary>
public enum ImageCorruption
{
    /// <summary>Additive Gaussian noise, <c>gaussian_noise</c>.</summary>
    GaussianNoise,

    /// <summary>Salt-and-pepper noise, <c>impulse_noise</c>.</summary>
    ImpulseNoise,

    /// <summary>Linear motion blur along a random angle, <c>motion_blur</c>.</summary>
    MotionBlur,

    /// <summary>Box downsampling then nearest-neighbour upsampling, <c>pixelate</c>.</summary>
    Pixelate,

    /// <summary>Liquid (water or mud) splashes, <c>spatter</c>.</summary>
    Spatter,

    /// <summary>Contrast reduction towards the image mean, <c>contrast</c>.</summary>
    Contrast,

    /// <summary>JPEG's lossy step (8×8 DCT quantisation), <c>jpeg_compression</c>.</summary>
    JpegCompression,
}

/// <summary>
/// Applies the corruptions of Hendrycks &amp; Dietterich, "Benchmarking Neural Network Robustness to Common Corruptions
/// and Perturbations" (ICLR 2019, https://arxiv.org/abs/1903.12261) to batches of small images, with the five
/// severities of their CIFAR-10-C tables (<c>make_cifar_c.py</c>).
/// </summary>
/// <remarks>
/// <para>
/// Input is a floating-point tensor [N, C, H, W] (FusionBench's digit suites: [N, 1, 28, 28]) with values in [0, 1].
/// The output is a new tensor of the same shape, dtype and device, clamped to [0, 1]; the input is not modified.
/// Every random draw comes from a <c>torch.Generator</c> seeded with the given seed (float32 draws on the CPU, then
/// moved to the input's dtype and device), so the result depends only on (images, corruption, severity, seed).
/// </para>
/// <para>
/// Spatial parameters that CIFAR-10-C gives in pixels for 32×32 images (motion blur radius and sigma) are scaled by
/// <c>min(H, W) / 32</c> (7/8 for 28×28 images). Colours are converted to gray with the ITU-R 601 luma weights.
/// </para>
/// <list type="bullet">
/// <item><description><c>gaussian_noise</c>: <c>x + N(0, c²)</c>, c = 0.04, 0.06, 0.08, 0.09, 0.10.</description></item>
/// <item><description><c>impulse_noise</c>: each value independently becomes 0 or 1 (half each) with probability
/// 0.01, 0.02, 0.03, 0.05, 0.07 (scikit-image's <c>s&amp;p</c> mode).</description></item>
/// <item><description><c>motion_blur</c>: ImageMagick's <c>MotionBlurImage</c> as CIFAR-10-C calls it with
/// (radius, sigma) = (6, 1), (6, 1.5), (6, 2), (8, 2), (9, 2.5) and an angle uniform in [−45°, 45°] per image.
/// With r = radius·s and σ = sigma·s (s = min(H, W)/32) the kernel is one-sided along the angle: tap i = 0 … 2⌈r⌉ has
/// weight ∝ exp(−i²/2σ²) (normalised) and samples the pixel at offset (round(i·cos θ), round(i·sin θ)) (x right,
/// y down). For 28×28 images: 13, 13, 13, 15, 17 taps with σ = 0.875, 1.3125, 1.75, 1.75, 2.1875. The per-image
/// kernels are applied by one grouped <c>conv2d</c> with replicate padding (ImageMagick's default edge virtual
/// pixels).</description></item>
/// <item><description><c>pixelate</c>: PIL's BOX resize to <c>int(H·c)</c> × <c>int(W·c)</c>, c = 0.95, 0.9, 0.85, 0.75,
/// 0.65 (each source pixel contributes equally to the one target pixel whose area contains its centre), then PIL's
/// BOX resize back, which upsampling makes nearest-neighbour (centre-aligned). For 28×28: 26, 25, 23, 21, 18.</description></item>
/// <item><description><c>spatter</c>: CIFAR-10-C draws a liquid field N(loc, scale²) per pixel, Gaussian-blurs it
/// (sigma, scikit-image semantics: truncate 4σ, nearest-edge padding) and zeroes it below a threshold, with
/// (loc, scale, sigma, threshold) = (0.62, 0.1, 0.7, 0.7), (0.65, 0.1, 0.8, 0.7), (0.65, 0.3, 1, 0.69),
/// (0.65, 0.1, 0.7, 0.69), (0.65, 0.1, 0.5, 0.68). These sigmas are not scaled with the image size: they act on
/// per-pixel noise, so scaling them would change the fraction of the image covered. Severities 1–3 are water: the
/// thresholded field, divided by its per-image maximum and times 0.5, is added in the water colour (gray 0.859).
/// Severities 4–5 are mud: the mask (field above threshold) is blurred with σ = 0.6, values below 0.8 are zeroed,
/// and pixels are blended <c>x·(1 − m) + m·mud</c> (gray 0.179). Simplification: CIFAR-10-C shades the water with an
/// embossed distance transform of the field's Canny edges (ripple highlights); that shading is left out here, so
/// the water layer is the smooth thresholded field. The mud branch is otherwise as in CIFAR-10-C. The field is
/// drawn once per image and shared by its channels.</description></item>
/// <item><description><c>contrast</c>: <c>(x − mean)·c + mean</c> with the mean per image and channel,
/// c = 0.75, 0.5, 0.4, 0.3, 0.15.</description></item>
/// <item><description><c>jpeg_compression</c>: JPEG's lossy step at quality 80, 65, 58, 50, 40, each channel coded as a
/// grayscale plane: values rounded to 8-bit samples, padded to a multiple of 8 by edge replication (as libjpeg does),
/// level-shifted by −128, orthonormal 8×8 DCT-II, quantised with the standard luminance table (ITU T.81 Annex K)
/// scaled by libjpeg's quality formula (rounding half away from zero, as libjpeg), dequantised, inverse DCT, rounded
/// and clamped to 0…255, cropped. Entropy coding is lossless, so this is JPEG's pixel result up to libjpeg's
/// fixed-point DCT rounding (a level now and then).</description></item>
/// </list>
/// </remarks>
public static class ImageCorruptions
{
    private static readonly double[] GaussianNoiseStd = { 0.04, 0.06, 0.08, 0.09, 0.10 };
    private static readonly double[] ImpulseAmount = { 0.01, 0.02, 0.03, 0.05, 0.07 };
    private static readonly (double Radius, double Sigma)[] MotionBlurParameters = { (6, 1), (6, 1.5), (6, 2), (8, 2), (9, 2.5) };
    private static readonly double[] PixelateFactor = { 0.95, 0.9, 0.85, 0.75, 0.65 };
    private static readonly double[] ContrastFactor = { 0.75, 0.5, 0.4, 0.3, 0.15 };
    private static readonly int[] JpegQuality = { 80, 65, 58, 50, 40 };

    /// <summary>CIFAR-10-C spatter: field location and scale, field blur, threshold, water intensity or mud blur, mud?</summary>
    private static readonly (double Location, double Scale, double Sigma, double Threshold, double Fifth, bool Mud)[] SpatterParameters =
    {
        (0.62, 0.1, 0.7, 0.70, 0.5, false),
        (0.65, 0.1, 0.8, 0.70, 0.5, false),
        (0.65, 0.3, 1.0, 0.69, 0.5, false),
        (0.65, 0.1, 0.7, 0.69, 0.6, true),
        (0.65, 0.1, 0.5, 0.68, 0.6, true),
    };

    /// <summary>CIFAR-10-C's water colour (175, 238, 238) as ITU-R 601 luma in [0, 1].</summary>
    private const double WaterGray = (0.299 * 175 + 0.587 * 238 + 0.114 * 238) / 255.0;

    /// <summary>CIFAR-10-C's mud colour (63, 42, 20) as ITU-R 601 luma in [0, 1].</summary>
    private const double MudGray = (0.299 * 63 + 0.587 * 42 + 0.114 * 20) / 255.0;

    /// <summary>Mud spatter keeps only blurred-mask values at least this large (CIFAR-10-C).</summary>
    private const double MudCutoff = 0.8;

    /// <summary>The standard JPEG luminance quantisation table (ITU T.81 Annex K), natural (row-major) order.</summary>
    private static readonly int[] LuminanceTable =
    {
        16, 11, 10, 16, 24, 40, 51, 61,
        12, 12, 14, 19, 26, 58, 60, 55,
        14, 13, 16, 24, 40, 57, 69, 56,
        14, 17, 22, 29, 51, 87, 80, 62,
        18, 22, 37, 56, 68, 109, 103, 77,
        24, 35, 55, 64, 81, 104, 113, 92,
        49, 64, 78, 87, 103, 121, 120, 101,
        72, 92, 95, 98, 112, 100, 103, 99,
    };

    /// <summary>Every corruption, in FusionBench's order.</summary>
    public static IReadOnlyList<ImageCorruption> All { get; } = Array.AsReadOnly(new[]
    {
        ImageCorruption.GaussianNoise,
        ImageCorruption.ImpulseNoise,
        ImageCorruption.MotionBlur,
        ImageCorruption.Pixelate,
        ImageCorruption.Spatter,
        ImageCorruption.Contrast,
        ImageCorruption.JpegCompression,
    });

    /// <summary>FusionBench's name of a corruption: <c>gaussian_noise</c>, <c>impulse_noise</c>, <c>motion_blur</c>,
    /// <c>pixelate</c>, <c>spatter</c>, <c>contrast</c> or <c>jpeg_compression</c>.</summary>
    /// <param name="c">The corruption.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="c"/> is not a defined corruption.</exception>
    public static string Name(ImageCorruption c) => c switch
    {
        ImageCorruption.GaussianNoise => "gaussian_noise",
        ImageCorruption.ImpulseNoise => "impulse_noise",
        ImageCorruption.MotionBlur => "motion_blur",
        ImageCorruption.Pixelate => "pixelate",
        ImageCorruption.Spatter => "spatter",
        ImageCorruption.Contrast => "contrast",
        ImageCorruption.JpegCompression => "jpeg_compression",
        _ => throw new ArgumentOutOfRangeException(nameof(c), c, "Unknown image corruption."),
    };

    /// <summary>The corruption with FusionBench's name <paramref name="name"/> (case-insensitive, see <see cref="Name"/>).</summary>
    /// <param name="name">A name such as <c>motion_blur</c>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="name"/> is not a known corruption; the message lists the valid names.</exception>
    public static ImageCorruption Parse(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var trimmed = name.Trim();
        foreach (var c in All)
            if (string.Equals(Name(c), trimmed, StringComparison.OrdinalIgnoreCase))
                return c;
        throw new ArgumentException(
            $"Unknown image corruption '{name}'. Valid names: {string.Join(", ", All.Select(Name))}.", nameof(name));
    }

    /// <summary>
    /// Applies <paramref name="corruption"/> at <paramref name="severity"/> to a batch of images and returns a new
    /// tensor (same shape, dtype and device, values in [0, 1]); <paramref name="images"/> is not modified. The caller
    /// owns the result. See the class remarks for each corruption's parameters.
    /// </summary>
    /// <param name="images">Floating-point images [N, C, H, W] with values in [0, 1] (typically [N, 1, 28, 28]).</param>
    /// <param name="corruption">The corruption.</param>
    /// <param name="severity">1 (mildest) to 5 (strongest).</param>
    /// <param name="seed">Seed of the generator for every random draw; equal seeds give equal results.</param>
    /// <exception cref="ArgumentNullException"><paramref name="images"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="images"/> is not a 4-D floating-point tensor.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="severity"/> is outside 1…5, or <paramref name="corruption"/> is not defined.</exception>
    public static Tensor Apply(Tensor images, ImageCorruption corruption, int severity, long seed = 0)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (severity < 1 || severity > 5)
            throw new ArgumentOutOfRangeException(nameof(severity), severity, "Severity must be 1 to 5.");
        if (!Enum.IsDefined(corruption))
            throw new ArgumentOutOfRangeException(nameof(corruption), corruption, "Unknown image corruption.");
        if (images.Dimensions != 4)
            throw new ArgumentException($"Expected images [N, C, H, W]; got shape [{string.Join(", ", images.shape)}].", nameof(images));
        if (!images.is_floating_point())
            throw new ArgumentException($"Expected floating-point images; got {images.dtype}.", nameof(images));
        if (images.numel() == 0) return images.clone();

        int s = severity - 1;
        using var generator = new Generator(unchecked((ulong)seed));
        return corruption switch
        {
            ImageCorruption.GaussianNoise => GaussianNoise(images, GaussianNoiseStd[s], generator),
            ImageCorruption.ImpulseNoise => ImpulseNoise(images, ImpulseAmount[s], generator),
            ImageCorruption.MotionBlur => MotionBlur(images, MotionBlurParameters[s].Radius, MotionBlurParameters[s].Sigma, generator),
            ImageCorruption.Pixelate => Pixelate(images, PixelateFactor[s]),
            ImageCorruption.Spatter => Spatter(images, s, generator),
            ImageCorruption.Contrast => Contrast(images, ContrastFactor[s]),
            ImageCorruption.JpegCompression => JpegCompression(images, JpegQuality[s]),
            _ => throw new ArgumentOutOfRangeException(nameof(corruption), corruption, "Unknown image corruption."),
        };
    }

    /// <summary><c>clip(x + N(0, std²))</c>.</summary>
    private static Tensor GaussianNoise(Tensor images, double std, Generator generator)
    {
        using var scope = NewDisposeScope();
        var noise = Normal(images.shape, generator, images);
        var result = images.add(noise.mul(std)).clamp(0.0, 1.0);
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>Salt and pepper: each value is replaced with probability <c>amount</c>, by 1 or 0 with equal odds.</summary>
    private static Tensor ImpulseNoise(Tensor images, double amount, Generator generator)
    {
        using var scope = NewDisposeScope();
        var flipped = Uniform(images.shape, generator, images).lt(amount);
        var salt = Uniform(images.shape, generator, images).lt(0.5).to(images.dtype);
        var result = where(flipped, salt, images).clamp(0.0, 1.0);
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>ImageMagick-style one-sided Gaussian motion blur along a random angle per image (see class remarks).</summary>
    private static Tensor MotionBlur(Tensor images, double radius, double sigma, Generator generator)
    {
        using var scope = NewDisposeScope();
        long[] shape = images.shape;
        int n = checked((int)shape[0]);
        long ch = shape[1], h = shape[2], w = shape[3];
        double scale = SizeScale(h, w);

        // ImageMagick: width = 2·ceil(radius) + 1 taps, weight exp(−i²/2σ²), normalised.
        int taps = 2 * (int)Math.Ceiling(radius * scale) + 1;
        double sig = Math.Max(sigma * scale, 1e-12);
        var tapWeight = new double[taps];
        double total = 0;
        for (int i = 0; i < taps; i++)
        {
            tapWeight[i] = Math.Exp(-(double)i * i / (2 * sig * sig));
            total += tapWeight[i];
        }
        for (int i = 0; i < taps; i++) tapWeight[i] /= total;

        // One angle per image, uniform in [−45°, 45°].
        float[] u;
        using (var draws = rand(new long[] { n }, dtype: ScalarType.Float32, generator: generator))
        using (var accessor = draws.data<float>())
            u = accessor.ToArray();

        int reach = taps - 1;
        int k = 2 * reach + 1;
        var kernels = new float[(long)n * k * k];
        for (int b = 0; b < n; b++)
        {
            double theta = (u[b] * 90.0 - 45.0) * Math.PI / 180.0;
            double cos = Math.Cos(theta), sin = Math.Sin(theta);
            long baseIndex = (long)b * k * k;
            for (int i = 0; i < taps; i++)
            {
                // ImageMagick's offsets: ceil(v − 0.5); conv2d correlates, so weight (reach+dy, reach+dx) reads (y+dy, x+dx).
                int dx = (int)Math.Ceiling(i * cos - 0.5);
                int dy = (int)Math.Ceiling(i * sin - 0.5);
                kernels[baseIndex + (long)(reach + dy) * k + (reach + dx)] += (float)tapWeight[i];
            }
        }

        var weight = tensor(kernels, new long[] { n, 1, k, k }).to(images.dtype, images.device);
        if (ch > 1) weight = weight.unsqueeze(1).expand(n, ch, 1, k, k).reshape(n * ch, 1, k, k);
        var flat = images.reshape(1, n * ch, h, w);
        var padded = torch.nn.functional.pad(flat, new long[] { reach, reach, reach, reach }, PaddingModes.Replicate);
        var blurred = torch.nn.functional.conv2d(padded, weight, groups: n * ch);
        var result = blurred.reshape(n, ch, h, w).clamp(0.0, 1.0);
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>PIL BOX down to <c>int(size·factor)</c>, PIL BOX (nearest) back up, as one matrix per axis.</summary>
    private static Tensor Pixelate(Tensor images, double factor)
    {
        using var scope = NewDisposeScope();
        int h = checked((int)images.shape[2]);
        int w = checked((int)images.shape[3]);
        int sh = Math.Max(1, (int)(h * factor));
        int sw = Math.Max(1, (int)(w * factor));
        var rows = tensor(PixelateMatrix(h, sh)).to(images.dtype, images.device);
        var cols = tensor(PixelateMatrix(w, sw)).to(images.dtype, images.device);
        var result = rows.matmul(images).matmul(cols.t()).clamp(0.0, 1.0);
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>[size, size]: PIL BOX resize size → reduced followed by reduced → size.</summary>
    private static double[,] PixelateMatrix(int size, int reduced)
    {
        var down = BoxResizeMatrix(size, reduced);
        var up = BoxResizeMatrix(reduced, size);
        var m = new double[size, size];
        for (int i = 0; i < size; i++)
            for (int j = 0; j < size; j++)
            {
                double acc = 0;
                for (int r = 0; r < reduced; r++) acc += up[i, r] * down[r, j];
                m[i, j] = acc;
            }
        return m;
    }

    /// <summary>
    /// [outSize, inSize] coefficients of PIL's BOX resampling along one axis (its <c>precompute_coeffs</c> with the box
    /// filter, which is 1 on (−½, ½]): each output averages the inputs whose centres fall in its span; upsampling picks
    /// the input under the output's centre.
    /// </summary>
    private static double[,] BoxResizeMatrix(int inSize, int outSize)
    {
        var m = new double[outSize, inSize];
        double scale = (double)inSize / outSize;
        double filterScale = Math.Max(scale, 1.0);
        double support = 0.5 * filterScale;
        for (int i = 0; i < outSize; i++)
        {
            double center = (i + 0.5) * scale;
            int xmin = Math.Max(0, (int)(center - support + 0.5));
            int xmax = Math.Min(inSize, (int)(center + support + 0.5));
            double total = 0;
            for (int j = xmin; j < xmax; j++)
            {
                double x = (j - center + 0.5) / filterScale;
                double weight = x > -0.5 && x <= 0.5 ? 1.0 : 0.0;
                m[i, j] = weight;
                total += weight;
            }
            if (total > 0)
                for (int j = xmin; j < xmax; j++) m[i, j] /= total;
        }
        return m;
    }

    /// <summary>CIFAR-10-C spatter: water (severities 1–3, simplified shading) or mud (4–5). See class remarks.</summary>
    private static Tensor Spatter(Tensor images, int severityIndex, Generator generator)
    {
        using var scope = NewDisposeScope();
        var p = SpatterParameters[severityIndex];
        long[] shape = images.shape;
        long n = shape[0], h = shape[2], w = shape[3];

        var liquid = Normal(new long[] { n, 1, h, w }, generator, images).mul(p.Scale).add(p.Location);
        liquid = GaussianBlur(liquid, p.Sigma);
        liquid = liquid.masked_fill(liquid.lt(p.Threshold), 0.0);

        Tensor result;
        if (!p.Mud)
        {
            var peak = liquid.amax(new long[] { 1, 2, 3 }, keepdim: true).clamp_min(1e-12);
            var m = liquid.div(peak).mul(p.Fifth);
            result = images.add(m.mul(WaterGray)).clamp(0.0, 1.0);
        }
        else
        {
            var mask = liquid.gt(p.Threshold).to(images.dtype);
            var m = GaussianBlur(mask, p.Fifth);
            m = m.masked_fill(m.lt(MudCutoff), 0.0);
            result = images.mul(m.neg().add(1.0)).add(m.mul(MudGray)).clamp(0.0, 1.0);
        }
        return result.MoveToOuterDisposeScope();
    }

    /// <summary><c>(x − mean)·c + mean</c>, mean per image and channel.</summary>
    private static Tensor Contrast(Tensor images, double factor)
    {
        using var scope = NewDisposeScope();
        var means = images.mean(new long[] { 2, 3 }, keepdim: true);
        var result = images.sub(means).mul(factor).add(means).clamp(0.0, 1.0);
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>JPEG's lossy step per channel: 8×8 DCT, quantise with the quality-scaled luminance table, invert.</summary>
    private static Tensor JpegCompression(Tensor images, int quality)
    {
        using var scope = NewDisposeScope();
        long[] shape = images.shape;
        long n = shape[0], ch = shape[1], h = shape[2], w = shape[3];
        long hp = (h + 7) / 8 * 8, wp = (w + 7) / 8 * 8;
        long bh = hp / 8, bw = wp / 8;

        // 8-bit samples, edge-replicated to whole blocks, level-shifted.
        var x = images.to(ScalarType.Float64).clamp(0.0, 1.0).mul(255.0).round().reshape(n * ch, 1, h, w);
        if (hp != h || wp != w)
            x = torch.nn.functional.pad(x, new long[] { 0, wp - w, 0, hp - h }, PaddingModes.Replicate);
        x = x.sub(128.0);

        var blocks = x.reshape(n * ch, bh, 8, bw, 8).permute(0, 1, 3, 2, 4); // [B, bh, bw, 8, 8]
        var d = tensor(DctMatrix()).to(ScalarType.Float64, images.device);
        var dt = d.t();
        var q = tensor(QuantizationTable(quality)).to(ScalarType.Float64, images.device);

        var coefficients = d.matmul(blocks).matmul(dt);
        var ratio = coefficients.div(q);
        var quantized = ratio.sign().mul(ratio.abs().add(0.5).floor()); // round half away from zero, as libjpeg
        var reconstructed = dt.matmul(quantized.mul(q)).matmul(d);
        var samples = reconstructed.add(128.0).round().clamp(0.0, 255.0);

        var planes = samples.permute(0, 1, 3, 2, 4).reshape(n * ch, hp, wp).narrow(1, 0, h).narrow(2, 0, w);
        var result = planes.reshape(n, ch, h, w).div(255.0).to(images.dtype);
        return result.MoveToOuterDisposeScope();
    }

    /// <summary>The orthonormal 8×8 DCT-II matrix: <c>D[k, j] = α(k)·cos((2j + 1)kπ/16)</c>, α(0) = √(1/8), else √(2/8).</summary>
    private static double[,] DctMatrix()
    {
        var d = new double[8, 8];
        for (int k = 0; k < 8; k++)
        {
            double alpha = k == 0 ? Math.Sqrt(1.0 / 8.0) : Math.Sqrt(2.0 / 8.0);
            for (int j = 0; j < 8; j++)
                d[k, j] = alpha * Math.Cos((2 * j + 1) * k * Math.PI / 16.0);
        }
        return d;
    }

    /// <summary>libjpeg's <c>jpeg_quality_scaling</c> + <c>jpeg_add_quant_table</c> (baseline) applied to the luminance table.</summary>
    private static double[,] QuantizationTable(int quality)
    {
        quality = Math.Clamp(quality, 1, 100);
        int scale = quality < 50 ? 5000 / quality : 200 - 2 * quality;
        var table = new double[8, 8];
        for (int i = 0; i < 64; i++)
            table[i / 8, i % 8] = Math.Clamp((LuminanceTable[i] * scale + 50) / 100, 1, 255);
        return table;
    }

    /// <summary>
    /// scikit-image's <c>gaussian</c> (scipy <c>gaussian_filter</c>): separable kernel of radius <c>int(4σ + 0.5)</c>,
    /// normalised, nearest-edge (replicate) padding; each channel separately.
    /// </summary>
    private static Tensor GaussianBlur(Tensor x, double sigma)
    {
        int radius = (int)(4.0 * sigma + 0.5);
        if (radius == 0) return x.clone();
        int size = 2 * radius + 1;
        var taps = new double[size];
        double total = 0;
        for (int i = 0; i < size; i++)
        {
            double t = (i - radius) / sigma;
            taps[i] = Math.Exp(-0.5 * t * t);
            total += taps[i];
        }
        for (int i = 0; i < size; i++) taps[i] /= total;

        long[] shape = x.shape;
        long n = shape[0], ch = shape[1], h = shape[2], w = shape[3];
        var kernel = tensor(taps).to(x.dtype, x.device);
        var flat = x.reshape(n * ch, 1, h, w);
        var rowsPadded = torch.nn.functional.pad(flat, new long[] { radius, radius, 0, 0 }, PaddingModes.Replicate);
        var horizontal = torch.nn.functional.conv2d(rowsPadded, kernel.reshape(1, 1, 1, size));
        var colsPadded = torch.nn.functional.pad(horizontal, new long[] { 0, 0, radius, radius }, PaddingModes.Replicate);
        var vertical = torch.nn.functional.conv2d(colsPadded, kernel.reshape(1, 1, size, 1));
        return vertical.reshape(n, ch, h, w);
    }

    /// <summary>How much smaller than CIFAR's 32×32 the images are: <c>min(H, W) / 32</c>.</summary>
    private static double SizeScale(long h, long w) => Math.Min(h, w) / 32.0;

    /// <summary>Uniform [0, 1) draws from <paramref name="generator"/> (float32 on the CPU), in the dtype and on the device of <paramref name="like"/>.</summary>
    private static Tensor Uniform(long[] shape, Generator generator, Tensor like) =>
        rand(shape, dtype: ScalarType.Float32, generator: generator).to(like.dtype, like.device);

    /// <summary>Standard normal draws from <paramref name="generator"/> (float32 on the CPU), in the dtype and on the device of <paramref name="like"/>.</summary>
    private static Tensor Normal(long[] shape, Generator generator, Tensor like) =>
        randn(shape, dtype: ScalarType.Float32, generator: generator).to(like.dtype, like.device);
}

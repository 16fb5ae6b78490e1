using System.Text;
using System.Text.Json.Nodes;
using FusionBench.Cli;
using FusionBench.Core.Checkpoints;
using FusionBench.Core.Tests.TestSupport;
using Xunit;

namespace FusionBench.Cli.Tests.Commands;

/// <summary>
/// A seeded fuzz run over mutated safetensors headers of a real checkpoint (truncations, huge or negative lengths,
/// offsets past the end or overlapping, bad dtypes and shapes, invalid UTF-8, deep nesting, duplicate names). Every
/// case must end in a clear error naming the file — from the library and from <c>fusionbench merge</c>, with no stack
/// trace and no output left behind — or in a correct merge; never a crash or a hang.
/// </summary>
public class SafeTensorsFuzzTests
{
    private const int Seed = 20261202;

    public static TheoryData<int> Cases()
    {
        var data = new TheoryData<int>();
        for (int i = 0; i < 48; i++) data.Add(i);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void MutatedHeader_EndsInAClearErrorOrACorrectMerge(int index)
    {
        using var dir = TestData.NewTempDir();
        string mutated = dir.File("task_b.safetensors");
        var (kind, bytes) = Mutate(File.ReadAllBytes(TestData.GoldenModel("task_b")), index);
        File.WriteAllBytes(mutated, bytes);

        // The library: open and read every tensor, or a CheckpointFormatException that names the file.
        Exception? libraryError = null;
        var run = new Thread(() =>
        {
            try
            {
                using var f = SafeTensorsFile.Open(mutated);
                foreach (var n in f.TensorNames) f.Read(n).Dispose();
            }
            catch (Exception e) { libraryError = e; }
        }) { IsBackground = true };
        run.Start();
        Assert.True(run.Join(TimeSpan.FromSeconds(30)), $"case {index} ({kind}): reading hangs");
        if (libraryError is not null)
        {
            Assert.True(libraryError is CheckpointFormatException, $"case {index} ({kind}): {libraryError.GetType().Name}: {libraryError.Message}");
            Assert.Contains(mutated, libraryError.Message);
        }

        // The CLI: one line naming the file and nothing written, or a merge equal to the library's on the same files.
        string output = dir.File("out/merged.safetensors");
        var o = new StringWriter();
        var e = new StringWriter();
        int code = CliApp.Run(new[] { "merge", "--method", "simple_average", "--pretrained", TestData.GoldenModel("pretrained"),
            "--model", $"a={TestData.GoldenModel("task_a")}", "--model", $"b={mutated}", "--output", output }, o, e);
        string stderr = e.ToString();
        Assert.DoesNotContain("   at ", stderr);
        if (libraryError is not null)
        {
            Assert.True(code == 1, $"case {index} ({kind}): exit code {code}: {stderr}");
            Assert.Contains(mutated, stderr);
            Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.False(File.Exists(output), $"case {index} ({kind}): partial output");
            Assert.False(Directory.Exists(dir.File("out")) && Directory.EnumerateFileSystemEntries(dir.File("out")).Any(), $"case {index} ({kind}): leftovers");
        }
        else
        {
            Assert.True(code == 0, $"case {index} ({kind}): the file reads but the merge failed: {stderr}");
            using var pool = FusionBench.Core.ModelPools.ModelPool.FromCheckpoints(TestData.GoldenModel("pretrained"),
                new[] { new KeyValuePair<string, string>("a", TestData.GoldenModel("task_a")), new KeyValuePair<string, string>("b", mutated) });
            using var expected = new FusionBench.Core.Algorithms.Merging.SimpleAverage.SimpleAverageAlgorithm(new()).Fuse(pool);
            using var merged = SafeTensorsFile.Open(output);
            TestData.AssertClose(expected.Weights, merged, atol: 0, rtol: 0);
        }
    }

    [Fact]
    public void Mutations_CoverEveryKind_AndBothOutcomes()
    {
        var original = File.ReadAllBytes(TestData.GoldenModel("task_b"));
        var kinds = Enumerable.Range(0, 48).Select(i => Mutate(original, i).Kind).ToHashSet();
        Assert.Superset(new HashSet<string> { "truncate", "length", "offsets", "dtype", "shape", "utf8", "nesting", "duplicate", "benign" }, kinds);
    }

    /// <summary>Case <paramref name="index"/>'s mutation of a safetensors file: its kind and the new bytes.</summary>
    private static (string Kind, byte[] Bytes) Mutate(byte[] file, int index)
    {
        var rng = new Random(Seed + index);
        long headerLength = BitConverter.ToInt64(file, 0);
        string header = Encoding.UTF8.GetString(file, 8, (int)headerLength);
        byte[] data = file[(8 + (int)headerLength)..];
        var table = JsonNode.Parse(header)!.AsObject();
        var names = table.Select(kv => kv.Key).Where(k => k != "__metadata__").ToList();
        string victim = names[rng.Next(names.Count)];
        var entry = table[victim]!.AsObject();

        switch (index % 9)
        {
            case 0:
                return ("truncate", file[..rng.Next(0, file.Length - 1)]);
            case 1:
            {
                var copy = (byte[])file.Clone();
                ulong[] lengths = { ulong.MaxValue, 1UL << 63, (ulong)file.Length, (ulong)rng.Next(1, (int)headerLength), 0, 200_000_000 };
                BitConverter.GetBytes(lengths[rng.Next(lengths.Length)]).CopyTo(copy, 0);
                return ("length", copy);
            }
            case 2:
            {
                var offsets = entry["data_offsets"]!.AsArray();
                long begin = offsets[0]!.GetValue<long>(), end = offsets[1]!.GetValue<long>();
                JsonNode replacement = rng.Next(6) switch
                {
                    0 => new JsonArray(begin, data.Length + 8L),                     // past the end
                    1 => new JsonArray(end, begin),                                  // reversed
                    2 => new JsonArray(-8L, end - begin - 8),                        // negative
                    3 => new JsonArray("0", "8"),                                    // strings
                    4 => new JsonArray(begin, end, end),                              // three numbers
                    _ => new JsonArray(0L, end - begin),                             // overlaps the first tensor
                };
                entry["data_offsets"] = replacement;
                return ("offsets", Pack(table.ToJsonString(), data));
            }
            case 3:
            {
                JsonNode?[] dtypes = { "F33", "", 5, null, "bf16", "F8_E4M3" };
                entry["dtype"] = dtypes[rng.Next(dtypes.Length)]?.DeepClone();
                return ("dtype", Pack(table.ToJsonString(), data));
            }
            case 4:
            {
                JsonNode[] shapes = { new JsonArray("4", 6), new JsonArray(-1, 4), new JsonArray(1L << 40, 1L << 40), new JsonArray(2.5),
                    new JsonArray(new JsonArray(6), 4), JsonValue.Create("6x4")! };
                entry["shape"] = shapes[rng.Next(shapes.Length)].DeepClone();
                return ("shape", Pack(table.ToJsonString(), data));
            }
            case 5:
            {
                // An invalid UTF-8 byte inside a tensor name (or a lone lead byte), the header length kept.
                var copy = (byte[])file.Clone();
                int at = header.IndexOf(victim, StringComparison.Ordinal) + 8 + rng.Next(victim.Length);
                copy[at] = rng.Next(2) == 0 ? (byte)0xFF : (byte)0xC3;
                return ("utf8", copy);
            }
            case 6:
            {
                int depth = rng.Next(2) == 0 ? 70 : 5000;
                string nested = new string('[', depth) + new string(']', depth);
                string text = table.ToJsonString().TrimEnd('}') + $",\"__metadata__\":{{\"x\":{nested}}}}}";
                return ("nesting", Pack(text, data));
            }
            case 7:
            {
                // The same name twice (JsonNode cannot hold that, so splice the text).
                string json = table.ToJsonString();
                string first = $"\"{victim}\":{entry.ToJsonString()}";
                return ("duplicate", Pack(json.TrimEnd('}') + "," + first + "}", data));
            }
            default:
            {
                // Valid variations: keys in another order, metadata, padding with spaces.
                var reordered = new JsonObject();
                foreach (var n in names.OrderBy(_ => rng.Next())) reordered[n] = table[n]!.DeepClone();
                reordered["__metadata__"] = new JsonObject { ["format"] = "pt", ["fuzz"] = index.ToString() };
                return ("benign", Pack(reordered.ToJsonString() + new string(' ', rng.Next(0, 16)), data));
            }
        }
    }

    private static byte[] Pack(string header, byte[] data)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var result = new byte[8 + h.Length + data.Length];
        BitConverter.GetBytes((ulong)h.Length).CopyTo(result, 0);
        h.CopyTo(result, 8);
        data.CopyTo(result, 8 + h.Length);
        return result;
    }
}

using TorchSharp;

namespace FusionBench.Core.Checkpoints;

/// <summary>Maps safetensors dtype names to TorchSharp scalar types.</summary>
internal static class SafeTensorsDType
{
    private static readonly (string Name, torch.ScalarType Type, int Size)[] Table =
    {
        ("F64", torch.ScalarType.Float64, 8),
        ("F32", torch.ScalarType.Float32, 4),
        ("F16", torch.ScalarType.Float16, 2),
        ("BF16", torch.ScalarType.BFloat16, 2),
        ("I64", torch.ScalarType.Int64, 8),
        ("I32", torch.ScalarType.Int32, 4),
        ("I16", torch.ScalarType.Int16, 2),
        ("I8", torch.ScalarType.Int8, 1),
        ("U8", torch.ScalarType.Byte, 1),
        ("BOOL", torch.ScalarType.Bool, 1),
    };

    /// <summary>The supported dtype names, for error messages.</summary>
    public static string SupportedNames => string.Join(", ", Table.Select(t => t.Name));

    public static bool TryParse(string name, out torch.ScalarType type, out int elementSize)
    {
        foreach (var row in Table)
        {
            if (row.Name == name)
            {
                type = row.Type;
                elementSize = row.Size;
                return true;
            }
        }
        type = default;
        elementSize = 0;
        return false;
    }

    public static string NameOf(torch.ScalarType type)
    {
        foreach (var row in Table)
            if (row.Type == type) return row.Name;
        throw new NotSupportedException($"dtype {type} cannot be stored in safetensors by FusionBench.Core (supported: {SupportedNames}).");
    }

    public static int SizeOf(torch.ScalarType type)
    {
        foreach (var row in Table)
            if (row.Type == type) return row.Size;
        throw new NotSupportedException($"dtype {type} is not supported (supported: {SupportedNames}).");
    }
}

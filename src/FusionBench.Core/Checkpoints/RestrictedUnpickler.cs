using System.Buffers.Binary;
using System.Text;
using TorchSharp;

namespace FusionBench.Core.Checkpoints;

/// <summary>
/// The subset of Python's pickle machine that <c>torch.save</c> uses for a state dict (protocols 2–5), building plain
/// values only: dicts, lists, tuples, strings, numbers, and tensor references. Globals are looked up in an allow list of
/// the tensor-rebuild functions and typed storages; <c>REDUCE</c> runs only those, never arbitrary callables.
/// </summary>
internal sealed class RestrictedUnpickler(string path, byte[] data)
{
    internal sealed class PickledDict
    {
        public List<(object? Key, object? Value)> Items { get; } = new();
    }

    private sealed record Global(string Module, string Name);

    private sealed class Mark;

    private static readonly Dictionary<string, torch.ScalarType> Storages = new(StringComparer.Ordinal)
    {
        ["FloatStorage"] = torch.ScalarType.Float32, ["DoubleStorage"] = torch.ScalarType.Float64, ["HalfStorage"] = torch.ScalarType.Float16,
        ["BFloat16Storage"] = torch.ScalarType.BFloat16, ["LongStorage"] = torch.ScalarType.Int64, ["IntStorage"] = torch.ScalarType.Int32,
        ["ShortStorage"] = torch.ScalarType.Int16, ["CharStorage"] = torch.ScalarType.Int8, ["ByteStorage"] = torch.ScalarType.Byte,
        ["BoolStorage"] = torch.ScalarType.Bool,
    };

    private static readonly HashSet<string> Allowed = new(StringComparer.Ordinal)
    {
        "collections.OrderedDict", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter", "torch.device",
    };

    private readonly List<object?> _stack = new();
    private readonly Dictionary<long, object?> _memo = new();
    private int _pos;

    public static string Describe(object? value) => value switch
    {
        null => "None",
        string => "string",
        PickledDict => "dict",
        List<object?> => "list",
        object?[] => "tuple",
        TorchZipCheckpoint.TensorRef => "tensor",
        _ => value.GetType().Name,
    };

    public object? Load()
    {
        while (true)
        {
            if (_pos >= data.Length) throw Error("the pickle ends without STOP");
            byte op = data[_pos++];
            switch (op)
            {
                case 0x80: _pos++; break;                                   // PROTO
                case 0x95: _pos += 8; break;                                // FRAME
                case (byte)'}': Push(new PickledDict()); break;            // EMPTY_DICT
                case (byte)']': Push(new List<object?>()); break;          // EMPTY_LIST
                case (byte)')': Push(Array.Empty<object?>()); break;      // EMPTY_TUPLE
                case (byte)'(': Push(new Mark()); break;                   // MARK
                case (byte)'N': Push(null); break;
                case 0x88: Push(true); break;
                case 0x89: Push(false); break;
                case (byte)'K': Push((long)data[_pos++]); break;           // BININT1
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Take(2))); break;
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Take(4))); break;
                case 0x8a:                                                  // LONG1
                {
                    int n = data[_pos++];
                    var b = Take(n);
                    long v = 0;
                    for (int i = n - 1; i >= 0; i--) v = (v << 8) | b[i];
                    if (n > 0 && n < 8 && (b[n - 1] & 0x80) != 0) v -= 1L << (8 * n);
                    Push(v);
                    break;
                }
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Take(8))); break;
                case (byte)'X': { int n = BinaryPrimitives.ReadInt32LittleEndian(Take(4)); Push(Encoding.UTF8.GetString(Take(n))); break; }
                case 0x8c: { int n = data[_pos++]; Push(Encoding.UTF8.GetString(Take(n))); break; }
                case (byte)'U': { int n = data[_pos++]; Push(Encoding.Latin1.GetString(Take(n))); break; }
                case (byte)'T': { int n = BinaryPrimitives.ReadInt32LittleEndian(Take(4)); Push(Encoding.Latin1.GetString(Take(n))); break; }
                case (byte)'q': _memo[data[_pos++]] = Top(); break;        // BINPUT
                case (byte)'r': _memo[BinaryPrimitives.ReadUInt32LittleEndian(Take(4))] = Top(); break;
                case 0x94: _memo[_memo.Count] = Top(); break;              // MEMOIZE
                case (byte)'h': Push(Memo(data[_pos++])); break;           // BINGET
                case (byte)'j': Push(Memo(BinaryPrimitives.ReadUInt32LittleEndian(Take(4)))); break;
                case (byte)'t': Push(PopMark().ToArray()); break;          // TUPLE
                case 0x85: Push(new[] { Pop() }); break;
                case 0x86: { var b = Pop(); var a = Pop(); Push(new[] { a, b }); break; }
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new[] { a, b, c }); break; }
                case (byte)'a': { var v = Pop(); AsList(Top()).Add(v); break; }
                case (byte)'e': { var items = PopMark(); AsList(Top()).AddRange(items); break; }
                case (byte)'s': { var v = Pop(); var k = Pop(); AsDict(Top()).Items.Add((k, v)); break; }
                case (byte)'u':
                {
                    var items = PopMark();
                    var d = AsDict(Top());
                    for (int i = 0; i + 1 < items.Count; i += 2) d.Items.Add((items[i], items[i + 1]));
                    break;
                }
                case (byte)'c':                                             // GLOBAL module\nname\n
                {
                    string module = Line(), name = Line();
                    Push(Resolve(module, name));
                    break;
                }
                case 0x93: { var name = (string)Pop()!; var module = (string)Pop()!; Push(Resolve(module, name)); break; } // STACK_GLOBAL
                case (byte)'Q': Push(Persistent(Pop())); break;            // BINPERSID
                case (byte)'R': { var args = Pop() as object?[] ?? throw Error("REDUCE without an argument tuple"); Push(Reduce(Pop(), args)); break; }
                case 0x81: { var args = Pop() as object?[] ?? throw Error("NEWOBJ without an argument tuple"); Push(Reduce(Pop(), args)); break; }
                case (byte)'b': Pop(); break;                               // BUILD: a state dict's _metadata; not needed
                case (byte)'.': return Pop();                               // STOP
                default:
                    throw Error($"pickle opcode 0x{op:x2} is not one torch.save writes for a state dict");
            }
        }
    }

    private object Resolve(string module, string name)
    {
        if (module == "torch" && Storages.ContainsKey(name)) return new Global(module, name);
        if (Allowed.Contains(module + "." + name)) return new Global(module, name);
        throw Error($"the pickle refers to {module}.{name}, which is not a tensor-rebuild function or storage type (refusing to run pickled code)");
    }

    private object? Persistent(object? pid)
    {
        // ('storage', storage_type, key, location, numel)
        if (pid is not object?[] { Length: 5 } t || t[0] as string != "storage" || t[1] is not Global g || !Storages.TryGetValue(g.Name, out var dtype))
            throw Error("a persistent id that is not a typed storage");
        return new TorchZipCheckpoint.StorageRef(t[2]?.ToString() ?? throw Error("a storage without a key"), dtype, Convert.ToInt64(t[4]));
    }

    private object? Reduce(object? callable, object?[] args)
    {
        if (callable is not Global g) throw Error($"REDUCE on a {Describe(callable)}");
        switch (g.Module + "." + g.Name)
        {
            case "collections.OrderedDict":
                return new PickledDict();
            case "torch._utils._rebuild_tensor_v2":
                if (args.Length < 4 || args[0] is not TorchZipCheckpoint.StorageRef storage) throw Error("_rebuild_tensor_v2 without a storage");
                return new TorchZipCheckpoint.TensorRef(storage, Convert.ToInt64(args[1]), Longs(args[2]), Longs(args[3]));
            case "torch._utils._rebuild_parameter":
                return args.Length > 0 ? args[0] : throw Error("_rebuild_parameter without data");
            case "torch.device":
                return args.Length > 0 ? args[0] : null;
            default:
                throw Error($"REDUCE on {g.Module}.{g.Name}");
        }
    }

    private long[] Longs(object? value) => value is object?[] t ? t.Select(Convert.ToInt64).ToArray() : throw Error("a tensor size or stride that is not a tuple");

    private object? Memo(long key) => _memo.TryGetValue(key, out var v) ? v : throw Error($"memo key {key} is not set");

    private static List<object?> AsList(object? o) => o as List<object?> ?? throw new InvalidOperationException("APPEND to a non-list");

    private PickledDict AsDict(object? o) => o as PickledDict ?? throw Error("SETITEM on a non-dict");

    private ReadOnlySpan<byte> Take(int n)
    {
        if (_pos + n > data.Length) throw Error("the pickle is truncated");
        var s = new ReadOnlySpan<byte>(data, _pos, n);
        _pos += n;
        return s;
    }

    private string Line()
    {
        int end = Array.IndexOf(data, (byte)'\n', _pos);
        if (end < 0) throw Error("the pickle is truncated");
        string s = Encoding.ASCII.GetString(data, _pos, end - _pos);
        _pos = end + 1;
        return s;
    }

    private void Push(object? v) => _stack.Add(v);

    private object? Top() => _stack.Count > 0 ? _stack[^1] : throw Error("stack underflow");

    private object? Pop()
    {
        var v = Top();
        _stack.RemoveAt(_stack.Count - 1);
        return v;
    }

    private List<object?> PopMark()
    {
        int i = _stack.FindLastIndex(v => v is Mark);
        if (i < 0) throw Error("no MARK on the stack");
        var items = _stack.GetRange(i + 1, _stack.Count - i - 1);
        _stack.RemoveRange(i, _stack.Count - i);
        return items;
    }

    private CheckpointFormatException Error(string message) => new(path, null, message + ".");
}

"""Stand-ins for the packages MergeKit imports that Debian bookworm does not ship (or ships too old), so that MergeKit's
own files can be imported unchanged from MERGEKIT_SRC. Nothing here does merging arithmetic.

install() registers, in sys.modules:

* pydantic / pydantic_core (MergeKit wants pydantic 2; bookworm has 1.10): a small BaseModel that does what MergeKit's
  data classes rely on -- fields from annotations with defaults / Field(default, default_factory, alias), `frozen=True`
  (no assignment; hash of the field values, as pydantic 2's frozen models), equality by type and field values,
  model_validator(mode="before"/"after"), model_validate / model_validate_json, model_dump (exclude, exclude_unset,
  exclude_none, mode="json"), create_model, extra fields ignored. Values are coerced by annotation the way pydantic 2's
  default ("smart") mode does for the types MergeKit uses: a Union tries an exact match first, then each member in
  order; nested models validate from dicts (and from strings through their own before-validators, e.g.
  ModelReference); int -> float; 0/1 and 0.0/1.0 -> bool; list -> tuple; lax bool -> float for a float member of a
  Union (so a YAML `normalize: true` under `parameters:` becomes 1.0, as pydantic 2 makes it -- harmless, MergeKit only
  tests its truth). A class with __get_pydantic_core_schema__ (MergeKit's ImmutableMap) accepts its own instances, and
  a mapping becomes an immutables.Map, as that schema says.
* immutables: Map, an immutable hashable mapping.
* transformers: PretrainedConfig (attributes from config.json), AutoConfig.from_pretrained (reads config.json),
  type-only classes, and the submodules MergeKit imports names from (initialization.no_init_weights,
  conversion_mapping.get_checkpoint_conversion_mapping -> no conversions, core_model_loading.WeightRenaming).
* safetensors: safe_open (read-only, from the file header) and safetensors.torch.save_file / load_file.
* tokenizers, huggingface_hub, peft, accelerate: empty modules (only used by code paths these golden files never take:
  tokenizer building, hub downloads, LoRA merging, lazy unpickling).
* typing_extensions.Generic / Callable (graph.py and easy_define.py import them; bookworm's typing_extensions 4.4 lacks
  them): typing's.
"""
import contextlib
import copy
import enum
import json
import os
import struct
import sys
import types
import typing
from collections.abc import Mapping

import torch

_MISSING = object()


# ---------------------------------------------------------------------------------------------------------------------
# pydantic
# ---------------------------------------------------------------------------------------------------------------------

class ValidationError(ValueError):
    pass


class FieldInfo:
    def __init__(self, default=_MISSING, *, default_factory=None, alias=None, **_kwargs):
        self.default = _MISSING if default is Ellipsis else default
        self.default_factory = default_factory
        self.alias = alias


def Field(default=_MISSING, **kwargs):
    return FieldInfo(default, **kwargs)


class _PrivateAttr:
    def __init__(self, default=None):
        self.default = default


def PrivateAttr(default=None, **_kwargs):
    return _PrivateAttr(default)


def model_validator(*, mode):
    def deco(f):
        f = getattr(f, "__func__", f)
        f.__pyd_validator__ = mode
        return f
    return deco


def model_serializer(*args, **_kwargs):
    def deco(f):
        f.__pyd_serializer__ = True
        return f
    if args and callable(args[0]):
        return deco(args[0])
    return deco


def _is_classvar(tp):
    return tp is typing.ClassVar or typing.get_origin(tp) is typing.ClassVar


class BaseModel:
    __pyd_frozen__ = False

    def __init_subclass__(cls, frozen=None, arbitrary_types_allowed=None, **kwargs):
        super().__init_subclass__()
        if frozen is not None:
            cls.__pyd_frozen__ = frozen
        cls.__pyd_hints__ = None

    # -- class-level metadata -----------------------------------------------------------------------------------------
    @classmethod
    def _pyd_fields(cls):
        if cls.__dict__.get("__pyd_hints__") is not None:
            return cls.__pyd_hints__
        fields = {}
        for klass in reversed(cls.__mro__):
            ann = klass.__dict__.get("__annotations__", {})
            if not ann:
                continue
            module = sys.modules.get(klass.__module__)
            globalns = dict(vars(module)) if module else {}
            localns = dict(vars(klass))
            for name, raw in ann.items():
                if name.startswith("_"):
                    continue
                tp = raw
                if isinstance(raw, str):
                    tp = eval(raw, globalns, localns)  # forward references, as typing.get_type_hints
                if _is_classvar(tp):
                    continue
                default = klass.__dict__.get(name, _MISSING)
                if isinstance(default, FieldInfo):
                    info = default
                else:
                    info = FieldInfo(default)
                if callable(default) and not isinstance(default, FieldInfo) and isinstance(default, types.FunctionType):
                    continue  # a method shadowing an annotation
                fields[name] = (tp, info)
        cls.__pyd_hints__ = fields
        return fields

    @classmethod
    def _pyd_validators(cls, mode):
        seen, res = set(), []
        for klass in reversed(cls.__mro__):
            for name, f in klass.__dict__.items():
                if getattr(f, "__pyd_validator__", None) == mode and name not in seen:
                    seen.add(name)
                    res.append(name)
        return [getattr(cls, n) for n in res] if mode == "after" else [cls.__dict__.get(n) or _lookup(cls, n) for n in res]

    @property
    def model_fields(self):
        return {k: v[1] for k, v in type(self)._pyd_fields().items()}

    # -- construction -------------------------------------------------------------------------------------------------
    def __init__(self, **data):
        cls = type(self)
        for v in cls._pyd_validators("before"):
            data = v(cls, data)
        fields_set = set()
        for name, (tp, info) in cls._pyd_fields().items():
            if info.alias is not None and info.alias in data:
                value, present = data[info.alias], True
            elif name in data:
                value, present = data[name], True
            else:
                present = False
            if present:
                value = _coerce(value, tp, f"{cls.__name__}.{name}")
                fields_set.add(name)
            elif info.default_factory is not None:
                value = info.default_factory()
            elif info.default is not _MISSING:
                value = copy.deepcopy(info.default) if isinstance(info.default, (list, dict, set)) else info.default
            else:
                raise ValidationError(f"{cls.__name__}.{name}: field required")
            object.__setattr__(self, name, value)
        object.__setattr__(self, "__pydantic_fields_set__", fields_set)
        for klass in cls.__mro__:
            for name, attr in klass.__dict__.items():
                if isinstance(attr, _PrivateAttr) and name not in self.__dict__:
                    object.__setattr__(self, name, attr.default)
        for v in cls._pyd_validators("after"):
            res = v(self)
            if res is not None and res is not self:
                raise ValidationError("after-validator returned another object (unsupported by the stub)")

    @classmethod
    def model_validate(cls, obj):
        if isinstance(obj, cls):
            return obj
        value = obj
        for v in cls._pyd_validators("before"):
            value = v(cls, value)
        if isinstance(value, cls):
            return value
        if isinstance(value, BaseModel):
            value = {k: getattr(value, k) for k in value._pyd_fields()}
        if not isinstance(value, Mapping):
            raise ValidationError(f"{cls.__name__}: cannot validate {value!r}")
        return cls(**dict(value))

    @classmethod
    def model_validate_json(cls, text):
        return cls.model_validate(json.loads(text))

    @classmethod
    def model_rebuild(cls, *args, **kwargs):
        cls.__pyd_hints__ = None
        return None

    def model_copy(self, update=None, deep=False):
        data = {k: getattr(self, k) for k in self._pyd_fields()}
        if deep:
            data = copy.deepcopy(data)
        data.update(update or {})
        res = object.__new__(type(self))
        for k, v in data.items():
            object.__setattr__(res, k, v)
        object.__setattr__(res, "__pydantic_fields_set__", set(self.__pydantic_fields_set__) | set(update or {}))
        return res

    # -- serialisation ------------------------------------------------------------------------------------------------
    def model_dump(self, *, mode="python", exclude=None, exclude_unset=False, exclude_defaults=False,
                   exclude_none=False, by_alias=False, round_trip=False, **_kwargs):
        exclude = set(exclude or ())
        res = {}
        for name, (tp, info) in type(self)._pyd_fields().items():
            if name in exclude:
                continue
            if exclude_unset and name not in self.__pydantic_fields_set__:
                continue
            value = getattr(self, name)
            if exclude_none and value is None:
                continue
            if exclude_defaults and info.default is not _MISSING and value == info.default:
                continue
            key = info.alias if (by_alias and info.alias) else name
            res[key] = _dump(value, mode, exclude_none=exclude_none, exclude_defaults=exclude_defaults)
        return res

    def model_dump_json(self, **kwargs):
        return json.dumps(_dump(self, "json", **{k: v for k, v in kwargs.items() if k in ("exclude_none", "exclude_defaults")}))

    # -- identity -----------------------------------------------------------------------------------------------------
    def __setattr__(self, name, value):
        if type(self).__pyd_frozen__ and name in type(self)._pyd_fields():
            raise ValidationError(f"{type(self).__name__} is frozen")
        object.__setattr__(self, name, value)

    def __eq__(self, other):
        if type(self) is not type(other):
            return NotImplemented
        return all(getattr(self, k) == getattr(other, k) for k in type(self)._pyd_fields())

    def __hash__(self):
        if not type(self).__pyd_frozen__:
            raise TypeError(f"unhashable type: {type(self).__name__}")
        return hash((type(self),) + tuple(getattr(self, k) for k in type(self)._pyd_fields()))

    def __repr__(self):
        return f"{type(self).__name__}(" + ", ".join(f"{k}={getattr(self, k)!r}" for k in type(self)._pyd_fields()) + ")"


def _lookup(cls, name):
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass.__dict__[name]
    raise AttributeError(name)


def _dump(value, mode, **kwargs):
    if isinstance(value, BaseModel):
        for klass in type(value).__mro__:
            for f in klass.__dict__.values():
                if getattr(f, "__pyd_serializer__", False):
                    return _dump(f(value), mode, **kwargs)
        return value.model_dump(mode=mode, **kwargs)
    if isinstance(value, enum.Enum):
        return value.value if mode == "json" else value
    if isinstance(value, (list, tuple)):
        seq = [_dump(v, mode, **kwargs) for v in value]
        return seq if (mode == "json" or isinstance(value, list)) else tuple(seq)
    if isinstance(value, Mapping):
        return {(_dump(k, mode, **kwargs) if mode != "json" else str(_dump(k, mode, **kwargs))): _dump(v, mode, **kwargs)
                for k, v in value.items()}
    return value


def _exact(value, tp):
    """pydantic's strict pass of a Union: the value already is of the member type."""
    origin = typing.get_origin(tp)
    if tp is typing.Any:
        return True
    if tp is type(None):
        return value is None
    if origin in (list, typing.List):
        return isinstance(value, list) and all(_exact(e, typing.get_args(tp)[0]) for e in value) if typing.get_args(tp) else isinstance(value, list)
    if origin is typing.Union:
        return any(_exact(value, a) for a in typing.get_args(tp))
    if origin is typing.Literal:
        return value in typing.get_args(tp)
    if origin is not None:
        return False
    if tp is float:
        return isinstance(value, (float, int)) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(tp, type):
        return isinstance(value, tp)
    return False


def _coerce(value, tp, where):
    if tp is typing.Any or isinstance(tp, typing.TypeVar):
        return value
    if tp is type(None):
        if value is None:
            return None
        raise ValidationError(f"{where}: expected None")
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is typing.Union:
        if value is None and type(None) in args:
            return None
        members = [a for a in args if a is not type(None)]
        for a in members:
            if _exact(value, a):
                return _coerce(value, a, where)
        errors = []
        for a in members:
            try:
                return _coerce(value, a, where)
            except (ValidationError, TypeError, ValueError) as e:
                errors.append(str(e))
        raise ValidationError(f"{where}: {value!r} matches no member of {tp}: {errors}")
    if origin is typing.Literal:
        if value in args:
            return value
        raise ValidationError(f"{where}: {value!r} not in {args}")
    if origin in (list, typing.List, typing.Sequence) or tp in (list, typing.List):
        if not isinstance(value, (list, tuple)):
            raise ValidationError(f"{where}: expected a list, got {value!r}")
        return [_coerce(e, args[0], where) for e in value] if args else list(value)
    if origin in (tuple, typing.Tuple) or tp in (tuple, typing.Tuple):
        if not isinstance(value, (list, tuple)):
            raise ValidationError(f"{where}: expected a tuple, got {value!r}")
        if not args:
            return tuple(value)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_coerce(e, args[0], where) for e in value)
        if len(args) != len(value):
            raise ValidationError(f"{where}: expected {len(args)} items, got {value!r}")
        return tuple(_coerce(e, a, where) for e, a in zip(value, args))
    if origin in (dict, typing.Dict, Mapping) or tp in (dict, typing.Dict):
        if not isinstance(value, Mapping):
            raise ValidationError(f"{where}: expected a mapping, got {value!r}")
        if not args:
            return dict(value)
        return {_coerce(k, args[0], where): _coerce(v, args[1], where) for k, v in value.items()}
    if origin is not None and isinstance(origin, type):
        tp = origin  # a parametrised generic class: Task[...], ImmutableMap[...]
    if not isinstance(tp, type):
        return value
    if hasattr(tp, "__get_pydantic_core_schema__"):
        if isinstance(value, tp):
            return value
        if isinstance(value, Mapping):
            return sys.modules["immutables"].Map(value)
        raise ValidationError(f"{where}: expected {tp.__name__}")
    if issubclass(tp, BaseModel):
        return tp.model_validate(value)
    if issubclass(tp, enum.Enum):
        return tp(value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)) and value in (0, 1):
            return bool(value)
        raise ValidationError(f"{where}: expected bool, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ValidationError(f"{where}: expected int, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)):
            return float(value)
        raise ValidationError(f"{where}: expected float, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise ValidationError(f"{where}: expected str, got {value!r}")
    if isinstance(value, tp):
        return value
    raise ValidationError(f"{where}: expected {tp}, got {type(value)}")


def create_model(name, __base__=BaseModel, **fields):
    ns = {"__annotations__": {}, "__module__": getattr(__base__, "__module__", __name__)}
    for k, v in fields.items():
        if isinstance(v, tuple):
            ns["__annotations__"][k] = v[0]
            ns[k] = v[1]
        else:
            ns[k] = v
    bases = (__base__,) if isinstance(__base__, type) else (typing.get_origin(__base__) or __base__,)
    if not isinstance(__base__, type):
        bases = (__base__,)
    return types.new_class(name, bases, {}, lambda d: d.update(ns))


# ---------------------------------------------------------------------------------------------------------------------
# immutables
# ---------------------------------------------------------------------------------------------------------------------

class ImmutableMapping(Mapping):
    def __init__(self, data=None, **kwargs):
        self._d = dict(data or {}, **kwargs)

    def __getitem__(self, k):
        return self._d[k]

    def __iter__(self):
        return iter(self._d)

    def __len__(self):
        return len(self._d)

    def __hash__(self):
        return hash(frozenset(self._d.items()))

    def __repr__(self):
        return f"immutables.Map({self._d!r})"


# ---------------------------------------------------------------------------------------------------------------------
# transformers
# ---------------------------------------------------------------------------------------------------------------------

class PretrainedConfig:
    def __init__(self, **kwargs):
        self.__dict__.update(kwargs)

    @classmethod
    def from_pretrained(cls, path, revision=None, trust_remote_code=False, **_kwargs):
        with open(os.path.join(path, "config.json")) as f:
            return cls(**json.load(f))

    def to_dict(self):
        return dict(self.__dict__)

    def save_pretrained(self, path):
        with open(os.path.join(path, "config.json"), "w") as f:
            json.dump(self.to_dict(), f, indent=2)


class _TypeOnly:
    """transformers classes MergeKit only names in type hints or isinstance checks."""


class _WeightRenaming:
    pass


# ---------------------------------------------------------------------------------------------------------------------
# safetensors
# ---------------------------------------------------------------------------------------------------------------------

_ST_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64,
              "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
              "BOOL": torch.bool}
_ST_NAMES = {v: k for k, v in _ST_DTYPES.items()}


def _read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    header.pop("__metadata__", None)
    out = {}
    for name, h in header.items():
        a, b = h["data_offsets"]
        dt = _ST_DTYPES[h["dtype"]]
        raw = bytearray(data[a:b])
        if dt == torch.bfloat16:
            t = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16) if raw else torch.empty(0, dtype=dt)
        else:
            t = torch.frombuffer(raw, dtype=dt) if raw else torch.empty(0, dtype=dt)
        out[name] = t.reshape(h["shape"]).clone()
    return out


class _SafeOpen:
    def __init__(self, path, framework="pt", device="cpu"):
        self._tensors = _read_safetensors(path)
        self._device = device or "cpu"

    def keys(self):
        return list(self._tensors)

    def get_tensor(self, key):
        return self._tensors[key].to(self._device)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def safetensors_bytes(tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        raw = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()
        header[name] = {"dtype": _ST_NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def _save_file(tensors, path, metadata=None):
    with open(path, "wb") as f:
        f.write(safetensors_bytes(tensors, metadata))


# ---------------------------------------------------------------------------------------------------------------------

def _module(name, **attrs):
    m = types.ModuleType(name)
    m.__path__ = []  # a package: importing an unregistered submodule fails with ModuleNotFoundError
    m.__dict__.update(attrs)
    sys.modules[name] = m
    parent, _, leaf = name.rpartition(".")
    if parent and parent in sys.modules:
        setattr(sys.modules[parent], leaf, m)
    return m


def install():
    _module("pydantic", BaseModel=BaseModel, Field=Field, PrivateAttr=PrivateAttr, model_validator=model_validator,
            model_serializer=model_serializer, create_model=create_model, ValidationError=ValidationError,
            ConfigDict=dict, VERSION="2-stub")
    _module("pydantic_core", core_schema=types.SimpleNamespace(
        is_instance_schema=lambda *a, **k: None, with_info_after_validator_function=lambda *a, **k: None,
        union_schema=lambda *a, **k: None, CoreSchema=dict))
    _module("immutables", Map=ImmutableMapping)
    auto_config = type("AutoConfig", (), {"from_pretrained": staticmethod(PretrainedConfig.from_pretrained)})
    _module("transformers", PretrainedConfig=PretrainedConfig, AutoConfig=auto_config,
            PreTrainedModel=type("PreTrainedModel", (_TypeOnly,), {}),
            PreTrainedTokenizerBase=type("PreTrainedTokenizerBase", (_TypeOnly,), {}),
            PreTrainedTokenizerFast=type("PreTrainedTokenizerFast", (_TypeOnly,), {}))
    _module("transformers.initialization", no_init_weights=contextlib.nullcontext)
    _module("transformers.conversion_mapping", get_checkpoint_conversion_mapping=lambda model_type: None)
    _module("transformers.core_model_loading", WeightRenaming=_WeightRenaming)
    _module("safetensors", safe_open=_SafeOpen)
    _module("safetensors.torch", save_file=_save_file, load_file=lambda path, device="cpu": _read_safetensors(path))
    _module("tokenizers")
    _module("tokenizers.models")
    _module("huggingface_hub")
    _module("huggingface_hub.utils", HFValidationError=type("HFValidationError", (ValueError,), {}))
    _module("peft")
    _module("accelerate")
    import typing_extensions
    for name in ("Generic", "Callable"):  # re-exported by newer typing_extensions; bookworm's 4.4 lacks them
        if not hasattr(typing_extensions, name):
            setattr(typing_extensions, name, getattr(typing, name))

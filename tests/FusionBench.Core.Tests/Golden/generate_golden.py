#!/usr/bin/python3
"""Golden files for FusionBench.Core's data-free merging methods, computed by FusionBench's own code.

Run with Debian's interpreter (python3-torch, numpy, omegaconf, tqdm) and a FusionBench source tree:

    FUSIONBENCH_SRC=/path/to/fusion_bench /usr/bin/python3 generate_golden.py

(FUSIONBENCH_SRC is the directory that holds fusion_bench/ and config/; the files were made from tanganke/fusion_bench
at commit 54c9e8c9d9621620c720452cd8533332a32d3689.) It writes

* models/*.safetensors (+ models/pretrained.bin): a tiny pretrained model and three fine-tuned ones (F32, BF16, F16,
  F64 and an I64 buffer). These are inputs, made here with a fixed seed, independent of FusionBench.
* expected/<case>.safetensors: each case's merged model, produced by running the FusionBench algorithm class named by
  the method's own config file (config/method/...yaml, its `_target_` and defaults, overridden by the case's
  parameters) on a model pool of nn.Modules.
* cases.json: case, method, parameters (FusionBench's config names), expected file; `models` (and `pretrained`) where
  the pool is not pretrained + task_a, task_b, task_c.
* vit/: an unrelated CLIP vision forward reference (clip_vision_reference, unchanged).

How FusionBench is used, and what is *not* FusionBench's:

* FusionBench is never copied: its files are loaded from FUSIONBENCH_SRC one by one with
  importlib.util.spec_from_file_location, under their real module names. The package `__init__`s (which pull in
  lightning, transformers, hydra, ...) are replaced by stub modules in sys.modules that provide only the plumbing the
  loaded files import: BaseAlgorithm / auto_register_config (keep the constructor arguments as attributes and a
  `config`), SimpleProfilerMixin (no-op profiling), BaseModelPool / to_modelpool (a dict of instantiated nn.Modules,
  `_pretrained_` being special, as in fusion_bench.modelpool), LazyStateDict / transformers.PreTrainedModel (types only
  used in isinstance checks). No merging arithmetic is re-implemented or ported. The one torch 1.13 gap is
  load_state_dict's `assign` argument (torch >= 2.1), which fusion_bench.models.utils passes with its default False:
  TinyModel.load_state_dict accepts it (False only).
* Compute dtype. FusionBench computes in the models' dtypes; FusionBench.Core computes in float32 (float64 for F64
  tensors) and casts each result back to the tensor's dtype. So the modules handed to FusionBench hold float32
  parameters (float64 for F64), and the merged parameters are cast back to the pretrained dtypes here. DARE's masks
  are therefore drawn by torch.rand_like on float32 (float64 for head.weight) parameters, and TIES' flattened vector
  (torch.cat promotes) is float64 as soon as one tensor is.
* The model. The state dicts are loaded into TinyModel, whose module types match the names (embed = nn.Embedding,
  layer.0 / layer.1 / head = nn.Linear), because FusionBench's algorithms take nn.Modules (DARE walks named_modules
  and named_parameters). position_ids is a non-persistent buffer, as in Hugging Face's CLIP, so it is not in
  state_dict() and FusionBench never merges it; in the expected files it is the pretrained model's. (Were it
  persistent, TIES would flatten its zero task vector too and count it in the top-k cut.)
* Exceptions to "run the algorithm as is", both deliberate and local:
  - DARE draws its masks from torch's global RNG. To make them reproducible by FusionBench.Core, FusionBench's own
    param_random_drop_ is wrapped so that torch.manual_seed(fnv_seed(seed, i, name)) runs right before each tensor's
    draw (i = fine-tuned model index, name = parameter name). `seed` is a FusionBench.Core parameter, not
    FusionBench's. On CPU the global generator reseeded this way gives the same stream as
    torch.Generator().manual_seed(...) (check_rng_equivalence).
  - TiesMergingAlgorithm.run loads vector_to_state_dict's output, which omits remove_keys, with a strict
    load_state_dict; on an nn.Module that raises for any removed key (only T5's tied transformer.shared.weight is
    put back). For the remove_keys case the pretrained module accepts exactly those missing keys, which then keep
    their pretrained values (the module run loads into is the pretrained model).
"""
import contextlib
import importlib.util
import inspect
import io
import json
import logging
import os
import struct
import sys
import tempfile
import types
from collections import OrderedDict

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
FUSIONBENCH_COMMIT = "54c9e8c9d9621620c720452cd8533332a32d3689"
DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64", torch.int64: "I64"}


def safetensors_bytes(tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.contiguous()
        raw = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def save_safetensors(path, tensors):
    with open(path, "wb") as f:
        f.write(safetensors_bytes(tensors))


def make_models():
    g = torch.Generator().manual_seed(1234)
    pre = {
        "embed.weight": torch.randn(6, 4, generator=g),
        "layer.0.weight": torch.randn(4, 4, generator=g),
        "layer.0.bias": torch.randn(4, generator=g),
        "layer.1.weight": torch.randn(3, 4, generator=g).to(torch.bfloat16),
        "layer.1.bias": torch.randn(3, generator=g).to(torch.float16),
        "head.weight": torch.randn(2, 3, generator=g, dtype=torch.float64),
        "position_ids": torch.arange(6, dtype=torch.int64).unsqueeze(0),
    }
    # An exact sign cancellation that survives trimming: task_a +0.5, task_b -0.5, task_c 0 at layer.0.bias[0].
    pre["layer.0.bias"][0] = 0.25
    models = {}
    for i, task in enumerate(["task_a", "task_b", "task_c"]):
        ft = {}
        for k, v in pre.items():
            if not v.is_floating_point():
                ft[k] = v.clone()
                continue
            delta = 0.1 * torch.randn(v.shape, generator=g, dtype=torch.float32)
            ft[k] = (v.float() + delta).to(v.dtype) if v.dtype != torch.float64 else v + delta.double()
        ft["layer.0.bias"][0] = [0.75, -0.25, 0.25][i]
        models[task] = ft
    return pre, models


def fnv_seed(seed, i, name):
    """FusionBench.Core's per-tensor DARE seed: FNV-1a 64 of "seed/i/name", top bit cleared."""
    h = 14695981039346656037
    for b in f"{seed}/{i}/{name}".encode():
        h ^= b
        h = (h * 1099511628211) % (1 << 64)
    return h & 0x7FFFFFFFFFFFFFFF


# --------------------------------------------------------------------------------------------------------------------
# Loading FusionBench file by file, with stubs for the plumbing its package __init__s would import.
# --------------------------------------------------------------------------------------------------------------------

class _LazyStateDict:
    """Stub of fusion_bench.utils.LazyStateDict: only used in isinstance checks, our models are never lazy."""


class _PreTrainedModel(nn.Module):
    """Stub of transformers.PreTrainedModel: only used in type hints and isinstance checks."""


def _auto_register_config(cls):
    """Stub of fusion_bench.mixins.auto_register_config: record the __init__ parameters in _config_mapping and set them
    (positional, keyword or default) as attributes before the original __init__ runs, as the real decorator does."""
    original_init = cls.__init__
    sig = inspect.signature(original_init)
    names = [n for n, p in list(sig.parameters.items())[1:] if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    cls._config_mapping = {**getattr(cls, "_config_mapping", {}), **{n: n for n in names}}

    def __init__(self, *args, **kwargs):
        bound = dict(zip(names, args))
        for n in names:
            if n in kwargs:
                bound[n] = kwargs[n]
            elif n not in bound and sig.parameters[n].default is not inspect.Parameter.empty:
                bound[n] = sig.parameters[n].default
        for n, v in bound.items():
            setattr(self, n, v)
        original_init(self, *args, **kwargs)

    cls.__init__ = __init__
    return cls


class _BaseAlgorithm:
    """Stub of fusion_bench.method.BaseAlgorithm (YAML serialisation plumbing): `config` is a DictConfig of the
    registered attributes, as YAMLSerializationMixin.config builds it."""
    _config_mapping = {}

    def __init__(self, **kwargs):
        if kwargs:
            raise TypeError(f"unused algorithm arguments: {sorted(kwargs)}")

    @property
    def config(self):
        from omegaconf import OmegaConf
        return OmegaConf.create({key: getattr(self, attr) for attr, key in self._config_mapping.items() if hasattr(self, attr)})


class _SimpleProfilerMixin:
    """Stub of fusion_bench.mixins.SimpleProfilerMixin (lightning's profiler): no-op."""

    @contextlib.contextmanager
    def profile(self, action_name):
        yield

    def print_profile_summary(self, *args, **kwargs):
        pass


class _BaseModelPool:
    """Stub of fusion_bench.modelpool.BaseModelPool for instantiated models: names in insertion order, `_x_` names are
    special (`_pretrained_`), load_model returns the instance itself (as the real pool does for nn.Modules)."""

    def __init__(self, models):
        self._models = dict(models)

    @staticmethod
    def is_special_model(name):
        return name.startswith("_") and name.endswith("_")

    @property
    def all_model_names(self):
        return list(self._models)

    @property
    def model_names(self):
        return [n for n in self._models if not self.is_special_model(n)]

    @property
    def has_pretrained(self):
        return "_pretrained_" in self._models

    @property
    def has_instance_models(self):
        return any(isinstance(m, nn.Module) for m in self._models.values())

    def __len__(self):
        return len(self.model_names)

    def load_model(self, name, *args, **kwargs):
        return self._models[name]

    def load_pretrained_model(self, *args, **kwargs):
        assert self.has_pretrained, "No pretrained model available."
        return self.load_model("_pretrained_")


def _to_modelpool(pool):
    return pool if isinstance(pool, _BaseModelPool) else _BaseModelPool(pool)


def load_fusionbench():
    """Load the FusionBench files the data-free merging methods need; returns {algorithm class name: class} plus the
    loaded modules under their file names."""
    src = os.environ.get("FUSIONBENCH_SRC")
    if not src:
        sys.exit("generate_golden.py: set FUSIONBENCH_SRC to a FusionBench source tree (the directory holding "
                 f"fusion_bench/ and config/, tanganke/fusion_bench at {FUSIONBENCH_COMMIT}).")
    if not os.path.isfile(os.path.join(src, "fusion_bench", "utils", "state_dict_arithmetic.py")):
        sys.exit(f"generate_golden.py: FUSIONBENCH_SRC={src} has no fusion_bench/utils/state_dict_arithmetic.py.")

    def package(name, **attrs):
        # An empty __path__: importing anything not registered here fails loudly instead of reaching the real __init__.
        m = types.ModuleType(name)
        m.__path__ = []
        m.__dict__.update(attrs)
        sys.modules[name] = m
        return m

    def load(name):
        path = os.path.join(src, *name.split(".")) + ".py"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module

    package("transformers", PreTrainedModel=_PreTrainedModel)
    fb = package("fusion_bench")
    package("fusion_bench.utils", LazyStateDict=_LazyStateDict, timeit_context=contextlib.nullcontext)
    typ = load("fusion_bench.utils.type")
    load("fusion_bench.utils.dict")
    sda = load("fusion_bench.utils.state_dict_arithmetic")
    load("fusion_bench.utils.parameters")
    package("fusion_bench.models")
    load("fusion_bench.models.utils")
    fb.__dict__.update(BaseAlgorithm=_BaseAlgorithm, BaseModelPool=_BaseModelPool, auto_register_config=_auto_register_config,
                       LazyStateDict=_LazyStateDict, timeit_context=contextlib.nullcontext,
                       create_default_model_card=lambda *a, **k: "", StateDictType=typ.StateDictType,
                       TorchModelType=typ.TorchModelType)
    package("fusion_bench.mixins", SimpleProfilerMixin=_SimpleProfilerMixin, auto_register_config=_auto_register_config)
    package("fusion_bench.modelpool", BaseModelPool=_BaseModelPool, CausalLMPool=_BaseModelPool)
    package("fusion_bench.compat")
    package("fusion_bench.compat.modelpool", to_modelpool=_to_modelpool)
    package("fusion_bench.method", BaseAlgorithm=_BaseAlgorithm)
    package("fusion_bench.method.base_algorithm", BaseAlgorithm=_BaseAlgorithm)
    for p in ["task_arithmetic", "weighted_average", "ties_merging", "dare", "slerp"]:
        package(f"fusion_bench.method.{p}")

    modules = {
        "state_dict_arithmetic": sda,
        "simple_average": load("fusion_bench.method.simple_average"),
        "weighted_average": load("fusion_bench.method.weighted_average.weighted_average"),
        "task_arithmetic": load("fusion_bench.method.task_arithmetic.task_arithmetic"),
        "ties_merging_utils": load("fusion_bench.method.ties_merging.ties_merging_utils"),
        "ties_merging": load("fusion_bench.method.ties_merging.ties_merging"),
        "dare_utils": load("fusion_bench.method.dare.utils"),
        "dare_task_arithmetic": load("fusion_bench.method.dare.task_arithmetic"),
        "dare_ties_merging": load("fusion_bench.method.dare.ties_merging"),
        "slerp_utils": load("fusion_bench.method.slerp.slerp_utils"),
        "slerp": load("fusion_bench.method.slerp.slerp"),
    }
    classes = {name: obj for m in modules.values() for name, obj in vars(m).items()
               if inspect.isclass(obj) and issubclass(obj, _BaseAlgorithm) and obj is not _BaseAlgorithm}
    return src, classes, modules


# --------------------------------------------------------------------------------------------------------------------
# The model FusionBench merges, and the cases.
# --------------------------------------------------------------------------------------------------------------------

class TinyModel(nn.Module):
    """nn.Module whose module types match the golden state dict's names; parameters in FusionBench.Core's compute dtype
    (float32, float64 for F64). position_ids is non-persistent, as in Hugging Face's CLIP embeddings."""

    def __init__(self, sd):
        super().__init__()
        self.embed = nn.Embedding(6, 4)
        self.layer = nn.ModuleList([nn.Linear(4, 4), nn.Linear(4, 3)])
        self.head = nn.Linear(3, 2, bias=False)
        self.register_buffer("position_ids", sd["position_ids"].clone(), persistent=False)
        for name, _ in list(self.named_parameters()):
            owner, leaf = self.get_submodule(name.rpartition(".")[0]), name.rpartition(".")[2]
            v = sd[name]
            # A copy: FusionBench modifies pool models in place (inplace=True, DARE's module_sub_, load_state_dict).
            setattr(owner, leaf, nn.Parameter(v.to(torch.float64 if v.dtype == torch.float64 else torch.float32, copy=True)))
        assert set(self.state_dict()) | {"position_ids"} == set(sd), "TinyModel does not match the golden state dict"

    def load_state_dict(self, state_dict, strict=True, assign=False):
        # torch 1.13 compatibility: fusion_bench.models.utils passes `assign` (torch >= 2.1); FusionBench passes the
        # default False there, which is torch 1.13's only behaviour (copy into the existing parameters).
        assert not assign, "assign=True needs torch >= 2.1"
        return super().load_state_dict(state_dict, strict=strict)


def finish(pre, merged):
    """The merged module's float parameters cast back to the pretrained dtypes; non-float tensors are the pretrained's."""
    out = merged.state_dict()
    return {k: (out[k].detach().to(v.dtype) if v.is_floating_point() else v.clone()) for k, v in pre.items()}


# Method -> FusionBench config file (its `_target_` names the algorithm class; its values are the defaults).
CONFIGS = {
    "simple_average": "simple_average.yaml",
    "weighted_average": "linear/weighted_average.yaml",
    "task_arithmetic": "task_arithmetic.yaml",
    "ties_merging": "ties_merging.yaml",
    "dare_task_arithmetic": "dare/task_arithmetic.yaml",
    "dare_ties_merging": "dare/ties_merging.yaml",
    "slerp": "slerp/slerp.yaml",
}
# Parameters FusionBench.Core has and FusionBench does not: DARE's seed (see the module docstring).
LOCAL_PARAMETERS = {"seed"}
ALL = ["task_a", "task_b", "task_c"]

# (case, method, parameters, pool models, pool has the pretrained model)
CASES = [
    ("simple_average", "simple_average", {}, ALL, True),
    ("weighted_average", "weighted_average", {"weights": [0.2, 0.3, 0.5], "normalize": True}, ALL, True),
    ("weighted_average_unnormalized", "weighted_average", {"weights": [1.0, 2.0, -0.5], "normalize": False}, ALL, True),
    ("task_arithmetic", "task_arithmetic", {"scaling_factor": 0.3}, ALL, True),
    ("task_arithmetic_sum", "task_arithmetic", {"scaling_factor": 1.0}, ALL, True),
    ("ties_merging", "ties_merging", {"scaling_factor": 0.3, "threshold": 20, "merge_func": "sum"}, ALL, True),
    ("ties_merging_mean", "ties_merging", {"scaling_factor": 1.0, "threshold": 40, "merge_func": "mean"}, ALL, True),
    ("ties_merging_max", "ties_merging", {"scaling_factor": 0.5, "threshold": 30, "merge_func": "max"}, ALL, True),
    # threshold 100 (or 1, read as a fraction) makes FusionBench's topk_values_mask call kthvalue(0), which raises; 99
    # is the largest that runs: k = d - int(0.99 d) = 1 of the 65 entries, so the cut is the smallest magnitude and
    # every entry is kept.
    ("ties_merging_keep_all", "ties_merging", {"scaling_factor": 0.3, "threshold": 99, "merge_func": "sum"}, ALL, True),
    ("ties_merging_remove_keys", "ties_merging",
     {"scaling_factor": 0.3, "threshold": 20, "merge_func": "sum", "remove_keys": ["embed.weight"]}, ALL, True),
    ("dare_task_arithmetic", "dare_task_arithmetic",
     {"scaling_factor": 0.3, "sparsity_ratio": 0.5, "rescale": True, "seed": 7}, ALL, True),
    ("dare_task_arithmetic_linear_only", "dare_task_arithmetic",
     {"scaling_factor": 0.3, "sparsity_ratio": 0.5, "rescale": True, "seed": 7, "only_on_linear_weights": True}, ALL, True),
    ("dare_ties_merging", "dare_ties_merging",
     {"scaling_factor": 0.5, "sparsity_ratio": 0.3, "rescale": True, "seed": 11, "threshold": 20, "merge_func": "sum"}, ALL, True),
    # Slerp interpolates between the pool's only two models (all_model_names, which counts `_pretrained_`, must have
    # exactly two names): here task_a (primary, t = 0) and task_b (t = 1), without the pretrained model.
    ("slerp", "slerp", {"t": 0.5, "DOT_THRESHOLD": 0.9995, "epsilon": 1e-8}, ["task_a", "task_b"], False),
    ("slerp_t03", "slerp", {"t": 0.3, "DOT_THRESHOLD": 0.9995, "epsilon": 1e-8}, ["task_a", "task_b"], False),
    # A threshold between the tensors' cosines (task_a vs task_b: layer.0.bias 0.709, layer.0.weight 0.9834,
    # layer.1.bias 0.9843, embed.weight 0.9890, layer.1.weight 0.9897, head.weight 0.9926), so that embed.weight,
    # layer.1.weight and head.weight take the lerp branch and the other three slerp.
    ("slerp_lerp_fallback", "slerp", {"t": 0.3, "DOT_THRESHOLD": 0.988, "epsilon": 1e-8}, ["task_a", "task_b"], False),
]


@contextlib.contextmanager
def seeded_dare_drops(modules, owners, seed):
    """Reseed torch's global RNG with fnv_seed(seed, i, name) right before FusionBench's param_random_drop_ draws the
    mask of fine-tuned model i's parameter `name`. The wrapper is installed wherever the name is looked up:
    dare.utils (module_random_drop_) and the two DARE algorithms (the only_on_linear_weights loop)."""
    targets = [modules["dare_utils"], modules["dare_task_arithmetic"], modules["dare_ties_merging"]]
    original = modules["dare_utils"].param_random_drop_

    def param_random_drop_(param, sparsity_level, rescale):
        i, name = owners[id(param)]
        torch.manual_seed(fnv_seed(seed, i, name))
        return original(param, sparsity_level, rescale)

    for m in targets:
        m.param_random_drop_ = param_random_drop_
    try:
        yield
    finally:
        for m in targets:
            m.param_random_drop_ = original


def allow_missing_keys(module, keys):
    """Let `module.load_state_dict` accept a state dict lacking exactly `keys` (see the module docstring)."""
    strict_load = module.load_state_dict

    def load_state_dict(state_dict, strict=True):
        result = strict_load(state_dict, strict=False)
        if set(result.missing_keys) != set(keys) or result.unexpected_keys:
            raise RuntimeError(f"unexpected load_state_dict mismatch: {result}")
        return result

    module.load_state_dict = load_state_dict


def run_case(src, classes, modules, pre, models, method, params, pool_models, with_pretrained):
    from omegaconf import OmegaConf
    cfg = OmegaConf.merge(OmegaConf.load(os.path.join(src, "config", "method", CONFIGS[method])),
                          {k: v for k, v in params.items() if k not in LOCAL_PARAMETERS})
    cfg = OmegaConf.to_container(cfg)
    algorithm = classes[cfg.pop("_target_").rpartition(".")[2]](**cfg)

    pool = OrderedDict()
    if with_pretrained:
        pool["_pretrained_"] = TinyModel(pre)
    for name in pool_models:
        pool[name] = TinyModel(models[name])
    if cfg.get("remove_keys"):
        allow_missing_keys(pool["_pretrained_"], cfg["remove_keys"])

    owners = {id(p): (i, n) for i, name in enumerate(pool_models) for n, p in pool[name].named_parameters()}
    seeding = seeded_dare_drops(modules, owners, params["seed"]) if "seed" in params else contextlib.nullcontext()
    with seeding, torch.no_grad(), contextlib.redirect_stdout(io.StringIO()):  # FusionBench prints progress
        merged = algorithm.run(_BaseModelPool(pool))
    return type(algorithm).__name__, finish(pre, merged)


def check_rng_equivalence():
    """The reseeded global RNG gives FusionBench's rand_like the stream of a fresh torch.Generator, in both dtypes."""
    for dtype in (torch.float32, torch.float64):
        torch.manual_seed(fnv_seed(7, 0, "embed.weight"))
        a = torch.rand_like(torch.empty(6, 4, dtype=dtype))
        b = torch.rand((6, 4), generator=torch.Generator().manual_seed(fnv_seed(7, 0, "embed.weight")), dtype=dtype)
        assert torch.equal(a, b), dtype


def write_if_changed(path, data):
    """Inputs are rewritten only if their bytes would change (they never should: make_models is seeded)."""
    if os.path.exists(path):
        with open(path, "rb") as f:
            if f.read() == data:
                return
        print(f"warning: {os.path.relpath(path, HERE)} changed")
    with open(path, "wb") as f:
        f.write(data)


def clip_vision_reference():
    """A CLIP vision transformer forward written from Hugging Face's CLIPVisionModel math (quick_gelu, pre_layrnorm,
    class-token pooling + post_layernorm), on a random tiny config. Every weight, LayerNorms included, is random."""
    cfg = {"image_size": 8, "patch_size": 4, "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 2,
           "num_attention_heads": 2, "num_channels": 1, "layer_norm_eps": 1e-5}
    g = torch.Generator().manual_seed(99)
    D, M, L, P, C = cfg["hidden_size"], cfg["intermediate_size"], cfg["num_hidden_layers"], cfg["patch_size"], cfg["num_channels"]
    T = (cfg["image_size"] // P) ** 2 + 1
    pre = "vision_model."
    w = {pre + "embeddings.class_embedding": torch.randn(D, generator=g),
         pre + "embeddings.patch_embedding.weight": torch.randn(D, C, P, P, generator=g) * 0.5,
         pre + "embeddings.position_embedding.weight": torch.randn(T, D, generator=g) * 0.5,
         pre + "embeddings.position_ids": torch.arange(T).unsqueeze(0),
         pre + "pre_layrnorm.weight": 1 + 0.1 * torch.randn(D, generator=g), pre + "pre_layrnorm.bias": 0.1 * torch.randn(D, generator=g)}
    for i in range(L):
        p = f"{pre}encoder.layers.{i}."
        for proj in ["k_proj", "v_proj", "q_proj", "out_proj"]:
            w[p + f"self_attn.{proj}.weight"] = torch.randn(D, D, generator=g) * 0.4
            w[p + f"self_attn.{proj}.bias"] = torch.randn(D, generator=g) * 0.1
        for ln in ["layer_norm1", "layer_norm2"]:
            w[p + f"{ln}.weight"] = 1 + 0.1 * torch.randn(D, generator=g)
            w[p + f"{ln}.bias"] = 0.1 * torch.randn(D, generator=g)
        w[p + "mlp.fc1.weight"] = torch.randn(M, D, generator=g) * 0.3
        w[p + "mlp.fc1.bias"] = torch.randn(M, generator=g) * 0.1
        w[p + "mlp.fc2.weight"] = torch.randn(D, M, generator=g) * 0.3
        w[p + "mlp.fc2.bias"] = torch.randn(D, generator=g) * 0.1
    w[pre + "post_layernorm.weight"] = 1 + 0.1 * torch.randn(D, generator=g)
    w[pre + "post_layernorm.bias"] = 0.1 * torch.randn(D, generator=g)
    x = torch.rand(3, C, cfg["image_size"], cfg["image_size"], generator=g)

    F = torch.nn.functional
    eps = cfg["layer_norm_eps"]
    with torch.no_grad():
        patches = F.conv2d(x, w[pre + "embeddings.patch_embedding.weight"], stride=P).flatten(2).transpose(1, 2)
        cls = w[pre + "embeddings.class_embedding"].expand(x.shape[0], 1, D)
        h = torch.cat([cls, patches], dim=1) + w[pre + "embeddings.position_embedding.weight"][w[pre + "embeddings.position_ids"][0]]
        h = F.layer_norm(h, (D,), w[pre + "pre_layrnorm.weight"], w[pre + "pre_layrnorm.bias"], eps)
        H = cfg["num_attention_heads"]
        hd = D // H
        for i in range(L):
            p = f"{pre}encoder.layers.{i}."
            r = h
            y = F.layer_norm(h, (D,), w[p + "layer_norm1.weight"], w[p + "layer_norm1.bias"], eps)
            def heads(t):
                return t.view(t.shape[0], t.shape[1], H, hd).transpose(1, 2)
            q = heads(F.linear(y, w[p + "self_attn.q_proj.weight"], w[p + "self_attn.q_proj.bias"]) * hd ** -0.5)
            k = heads(F.linear(y, w[p + "self_attn.k_proj.weight"], w[p + "self_attn.k_proj.bias"]))
            v = heads(F.linear(y, w[p + "self_attn.v_proj.weight"], w[p + "self_attn.v_proj.bias"]))
            a = torch.softmax(q @ k.transpose(-1, -2), dim=-1) @ v
            a = a.transpose(1, 2).reshape(y.shape[0], y.shape[1], D)
            h = r + F.linear(a, w[p + "self_attn.out_proj.weight"], w[p + "self_attn.out_proj.bias"])
            r = h
            y = F.layer_norm(h, (D,), w[p + "layer_norm2.weight"], w[p + "layer_norm2.bias"], eps)
            y = F.linear(y, w[p + "mlp.fc1.weight"], w[p + "mlp.fc1.bias"])
            y = y * torch.sigmoid(1.702 * y)
            h = r + F.linear(y, w[p + "mlp.fc2.weight"], w[p + "mlp.fc2.bias"])
        pooled = F.layer_norm(h[:, 0, :], (D,), w[pre + "post_layernorm.weight"], w[pre + "post_layernorm.bias"], eps)
    os.makedirs(os.path.join(HERE, "vit"), exist_ok=True)
    save_safetensors(os.path.join(HERE, "vit", "weights.safetensors"), w)
    save_safetensors(os.path.join(HERE, "vit", "io.safetensors"), {"input": x, "pooler_output": pooled, "last_hidden_state": h})
    with open(os.path.join(HERE, "vit", "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)


def main():
    src, classes, modules = load_fusionbench()
    logging.getLogger("fusion_bench").setLevel(logging.ERROR)  # e.g. "instance models are modified in place": intended
    check_rng_equivalence()
    clip_vision_reference()
    os.makedirs(os.path.join(HERE, "models"), exist_ok=True)
    os.makedirs(os.path.join(HERE, "expected"), exist_ok=True)
    pre, models = make_models()
    write_if_changed(os.path.join(HERE, "models", "pretrained.safetensors"), safetensors_bytes(pre))
    # The same weights as a real torch.save pickle, to test the PyTorch reader on a file PyTorch wrote.
    # (torch.save names the zip's records after the file, so it is saved under its real name, in a scratch directory.)
    with tempfile.TemporaryDirectory() as tmp:
        torch.save(OrderedDict(pre), os.path.join(tmp, "pretrained.bin"))
        with open(os.path.join(tmp, "pretrained.bin"), "rb") as f:
            write_if_changed(os.path.join(HERE, "models", "pretrained.bin"), f.read())
    for name, sd in models.items():
        write_if_changed(os.path.join(HERE, "models", f"{name}.safetensors"), safetensors_bytes(sd))
    cases = []
    for case, method, params, pool_models, with_pretrained in CASES:
        algorithm, merged = run_case(src, classes, modules, pre, models, method, params, pool_models, with_pretrained)
        save_safetensors(os.path.join(HERE, "expected", f"{case}.safetensors"), merged)
        entry = {"case": case, "method": method, "parameters": params, "expected": f"expected/{case}.safetensors",
                 "fusionbench": algorithm}
        if pool_models != ALL or not with_pretrained:
            entry["models"] = pool_models
            entry["pretrained"] = with_pretrained
        cases.append(entry)
    with open(os.path.join(HERE, "cases.json"), "w") as f:
        json.dump({"generator": "generate_golden.py (FusionBench's own algorithms, loaded from FUSIONBENCH_SRC)",
                   "fusionbench_commit": FUSIONBENCH_COMMIT, "torch": torch.__version__,
                   "models": ALL, "cases": cases}, f, indent=2)
    print(f"wrote {len(cases)} cases")


if __name__ == "__main__":
    main()

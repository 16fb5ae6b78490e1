#!/usr/bin/python3
"""Golden files for FusionBench.Core's data-free merging methods, computed by FusionBench's own code.

Run with Debian's interpreter (python3-torch, numpy, omegaconf, tqdm) and a FusionBench source tree:

    FUSIONBENCH_SRC=/path/to/fusion_bench /usr/bin/python3 generate_golden.py [--only CASE,CASE,...]

(--only regenerates just those cases' files, not vit/, and keeps the other entries of the existing cases.json.)

(FUSIONBENCH_SRC is the directory that holds fusion_bench/ and config/; the files were made from tanganke/fusion_bench
at commit 54c9e8c9d9621620c720452cd8533332a32d3689.) It writes

* models/*.safetensors (+ models/pretrained.bin): a tiny pretrained model and three fine-tuned ones (F32, BF16, F16,
  F64 and an I64 buffer). These are inputs, made here with a fixed seed, independent of FusionBench.
* expected/<case>.safetensors: each case's merged model, produced by running the FusionBench algorithm class named by
  the method's own config file (config/method/...yaml, its `_target_` and defaults, overridden by the case's
  parameters) on a model pool of nn.Modules.
* cases.json: case, method, parameters (FusionBench's config names), expected file; `models` (and `pretrained`) where
  the pool is not pretrained + task_a, task_b, task_c. Methods that give one model per task (TALL masks, EMR merging,
  TSV-M with return_single_task_models) also have `per_task: true` and `expected_tasks` {task: file}
  (expected/<case>.<task>.safetensors); `expected` is only present where there is a merged model. `extras` {name: file}
  are intermediate results in the compute dtype (expected/<case>.<name>.safetensors): TALL masks (`mask.<task>`,
  F32 0/1 as FusionBench makes them), the consensus mask (`consensus_mask`, BOOL), EMR's unified task vector
  (`unified`), masks (`mask.<task>`, BOOL) and rescalers (`rescalers`: one F32 tensor, in `models` order).
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
* The recent methods (RECENT_CASES: magmax, model_stock, task_singular_vector, iso_c, iso_cts, wudi,
  tall_mask_task_arithmetic, tall_mask_consensus, emr_merging) need a few more stubs: LightningFabricMixin (only
  `self.fabric.device`, the CPU), the pool's load_pretrained_model_and_task_vectors (as BaseModelPool's, which
  EMRMerging calls), fusion_bench.models.create_default_model_card (ModelStock imports it; it only writes a model card
  when saving), and the re-exports of fusion_bench.utils (state_dict_to_vector, vector_to_state_dict) and of
  task_singular_vector/utils/__init__.py. The one torch 1.13 gap is nn.Buffer (torch >= 2.5), used only in
  isinstance checks by EMR's modulators and ParameterDictModel: an empty Tensor subclass stands in (a plain tensor is
  not an nn.Buffer in either version). ModelStock's model_save_path (default ${path.log_dir}/checkpoint) is set to
  None (RUN_OVERRIDES), so it does not save. These runs are not wrapped in torch.no_grad(): FusionBench's program
  does not wrap them, and WUDI's Adam loop needs autograd; stdout/stderr (prints, tqdm) are swallowed.
* Per-task outputs: TallMaskTaskArithmeticAlgorithm returns {"models": {task: model}}; EMRMerging an
  EMRModulatedModel, whose task models are FusionBench's own set_task(task) on a fresh deep copy each (pretrained +
  one delta, without the add/sub round trip of switching tasks on one model); TaskSingularVectorMerging with
  return_single_task_models {task: model, "merged": model}.
* FusionBench has no consensus (TALL-masks "Consensus") algorithm, only tall_mask/utils.py construct_consensus_mask,
  whose load_tall_mask reads masks from disk. The tall_mask_consensus cases run TallMaskTaskArithmeticAlgorithm,
  capture the TALL masks its generate_task_masks returns, and call construct_consensus_mask with load_tall_mask
  replaced (for that call) by one returning those masks; the flat mask is put back into a state dict by FusionBench's
  vector_to_state_dict. There is no merged model for these cases (FusionBench never applies the mask), only extras.
* TallMaskTaskArithmeticAlgorithm does not run as is at this commit on any nn.Module with parameters: it passes
  state_dict(keep_vars=True) (nn.Parameters) and task vectors (plain tensors) to state_dict_sub, whose key validation
  requires isinstance(t, type(reference)) and raises "Tensor type mismatch". Its pool models therefore return plain
  tensors for keep_vars=True (PlainStateDictTinyModel; same values). Second, its float32 masks (value.float()) are
  multiplied by the task vectors with state_dict_hadamard_product, which rejects the float64 head.weight ("Dtype
  mismatch"); the captured generate_task_masks returns the mask cast to the vector's dtype (0/1, exact; float32
  tensors untouched). The saved mask extras are FusionBench's float32 masks.
* Exceptions to "run the algorithm as is" in the original cases, both deliberate and local:
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
import argparse
import contextlib
import copy
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
DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64", torch.int64: "I64",
          torch.bool: "BOOL"}


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

    def load_pretrained_model_and_task_vectors(self):
        """As fusion_bench.modelpool.BaseModelPool's (EMRMerging calls the pool's): task vectors by state_dict_sub."""
        state_dict_sub = sys.modules["fusion_bench.utils.state_dict_arithmetic"].state_dict_sub
        pretrained_model = self.load_pretrained_model()
        task_vectors = [state_dict_sub(self.load_model(n).state_dict(), pretrained_model.state_dict()) for n in self.model_names]
        return pretrained_model, task_vectors


class _LightningFabricMixin:
    """Stub of fusion_bench.mixins.LightningFabricMixin: the algorithms only read `self.fabric.device` (where SVDs and
    WUDI's optimisation run), which is the CPU here."""

    @property
    def fabric(self):
        return types.SimpleNamespace(device=torch.device("cpu"))


class _Buffer(torch.Tensor):
    """torch 1.13 has no nn.Buffer (torch >= 2.5); FusionBench only uses it in isinstance checks (EMR's modulators,
    ParameterDictModel), where a plain tensor is not a Buffer in either version."""


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
    # The recent data-free methods (magmax ... emr_merging) need a little more plumbing.
    if not hasattr(nn, "Buffer"):
        nn.Buffer = _Buffer
    params = sys.modules["fusion_bench.utils.parameters"]
    sys.modules["fusion_bench.utils"].__dict__.update(state_dict_to_vector=params.state_dict_to_vector,
                                                      vector_to_state_dict=params.vector_to_state_dict)
    sys.modules["fusion_bench.mixins"].LightningFabricMixin = _LightningFabricMixin
    sys.modules["fusion_bench.models"].create_default_model_card = lambda *a, **k: ""
    for p in ["magmax", "model_stock", "task_singular_vector", "isotropic_merging", "wudi", "tall_mask", "emr_merging"]:
        package(f"fusion_bench.method.{p}")
    package("fusion_bench.method.task_singular_vector.utils")
    package("fusion_bench.models.modulator")
    recent = {
        "magmax": load("fusion_bench.method.magmax.magmax"),
        "model_stock": load("fusion_bench.method.model_stock.model_stock"),
        "tsvm_utils": load("fusion_bench.method.task_singular_vector.utils.TSVM_utils"),
    }
    # task_singular_vector/utils/__init__.py re-exports these (and TSVC / interference helpers TSVM does not use).
    sys.modules["fusion_bench.method.task_singular_vector.utils"].__dict__.update(
        TSVM_utils=recent["tsvm_utils"], check_parameterNamesMatch=modules["ties_merging_utils"].check_parameterNamesMatch,
        check_state_dicts_equal=modules["ties_merging_utils"].check_state_dicts_equal,
        state_dict_to_vector=params.state_dict_to_vector, vector_to_state_dict=params.vector_to_state_dict)
    recent["tsvm"] = load("fusion_bench.method.task_singular_vector.TSVM")
    recent["iso_utils"] = load("fusion_bench.method.isotropic_merging.iso_utils")
    recent["iso"] = load("fusion_bench.method.isotropic_merging.iso")
    recent["wudi"] = load("fusion_bench.method.wudi.wudi")
    recent["tall_mask_utils"] = load("fusion_bench.method.tall_mask.utils")
    recent["tall_mask"] = load("fusion_bench.method.tall_mask.task_arithmetic")
    base = load("fusion_bench.models.modulator.base")
    sys.modules["fusion_bench.models.modulator"].__dict__.update(ModulatedModel=base.ModulatedModel, TaskModulator=base.TaskModulator)
    load("fusion_bench.models.parameter_dict")
    recent["emr_utils"] = load("fusion_bench.method.emr_merging.utils")
    recent["emr_merging"] = load("fusion_bench.method.emr_merging.emr_merging")
    modules.update(recent)
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


class PlainStateDictTinyModel(TinyModel):
    """TinyModel whose state_dict(keep_vars=True) holds plain tensors, as with keep_vars=False (same values); for
    TallMaskTaskArithmeticAlgorithm only. Its run mixes state_dict(keep_vars=True) (nn.Parameters) with task vectors
    (Parameter - Parameter = plain Tensor) in state_dict_sub, whose _validate_state_dict_same_keys requires
    isinstance(tensor, type(reference)): on any module with parameters it raises "Tensor type mismatch ... expected
    Parameter, got Tensor" at this commit."""

    def state_dict(self, *args, keep_vars=False, **kwargs):
        return super().state_dict(*args, keep_vars=False, **kwargs)


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
    "magmax": "magmax/magmax.yaml",
    "model_stock": "model_stock/model_stock.yaml",
    "task_singular_vector": "task_singular_vector/TaskSingularVectorMerging.yaml",
    "iso_c": "isotropic_merging/iso_c.yaml",
    "iso_cts": "isotropic_merging/iso_cts.yaml",
    "wudi": "wudi/wudi.yaml",
    "tall_mask_task_arithmetic": "tall_mask/task_arithmetic.yaml",
    "tall_mask_consensus": "tall_mask/task_arithmetic.yaml",  # + tall_mask/utils.py construct_consensus_mask
    "emr_merging": "emr_merging/emr_merging.yaml",
}
# Constructor arguments that are FusionBench plumbing, not part of the math, set for every run of the method and not
# listed in the cases' parameters: ModelStock would save the merged model to ${path.log_dir}/checkpoint.
RUN_OVERRIDES = {"model_stock": {"model_save_path": None}}
# Parameters FusionBench.Core has and FusionBench does not: DARE's seed (see the module docstring).
LOCAL_PARAMETERS = {"seed", "prun_thre_k"}  # prun_thre_k: construct_consensus_mask's argument, not the algorithm's
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

# The recent data-free methods; same tuple layout. Default cases pass no parameters, so that they also check the
# defaults (FusionBench's config values). Per-task methods write expected/<case>.<task>.safetensors, and their
# intermediate results (masks, unified vector, rescalers) as expected/<case>.<extra>.safetensors.
RECENT_CASES = [
    ("magmax", "magmax", {}, ALL, True),
    ("magmax_scaled", "magmax", {"scaling_factor": 1.0}, ALL, True),
    ("model_stock", "model_stock", {}, ALL, True),
    ("model_stock_ignore_keys", "model_stock", {"ignore_keys": ["embed.weight", "layer.0.bias"]}, ALL, True),
    # Two fine-tuned models take ModelStock's separate two-model branch (one angle, merge_weights).
    ("model_stock_two_models", "model_stock", {}, ["task_a", "task_b"], True),
    ("task_singular_vector", "task_singular_vector", {}, ALL, True),
    ("task_singular_vector_alpha_list", "task_singular_vector",
     {"alpha": [0.5, 1.0, 1.5], "exclude_keys": ["embed.weight"]}, ALL, True),
    ("task_singular_vector_single_task_models", "task_singular_vector",
     {"alpha": 0.7, "return_single_task_models": True}, ALL, True),
    ("iso_c", "iso_c", {}, ALL, True),
    ("iso_c_scaled_exclude", "iso_c", {"scaling_factor": 0.5, "exclude_keys": ["embed.weight"]}, ALL, True),
    ("iso_cts", "iso_cts", {}, ALL, True),
    ("iso_cts_half", "iso_cts", {"scaling_factor": 1.5, "common_space_fraction": 0.5}, ALL, True),
    ("wudi", "wudi", {}, ALL, True),
    ("wudi_short_exclude", "wudi", {"iter_num": 100, "exclude_keys": ["embed.weight"]}, ALL, True),
    ("tall_mask_task_arithmetic", "tall_mask_task_arithmetic", {}, ALL, True),
    ("tall_mask_task_arithmetic_lambda1", "tall_mask_task_arithmetic", {"tall_mask_lambda": 1.0}, ALL, True),
    # FusionBench has no consensus algorithm class: construct_consensus_mask (tall_mask/utils.py) on the TALL masks of
    # TallMaskTaskArithmeticAlgorithm. prun_thre_k has no default there (the TALL-masks paper uses 2).
    ("tall_mask_consensus", "tall_mask_consensus", {"prun_thre_k": 2}, ALL, True),
    ("tall_mask_consensus_k1", "tall_mask_consensus", {"tall_mask_lambda": 0.4, "prun_thre_k": 1}, ALL, True),
    ("emr_merging", "emr_merging", {}, ALL, True),
    ("emr_merging_two_models", "emr_merging", {}, ["task_a", "task_b"], True),
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


def compute_dtype_copy(sd):
    """A state dict's tensors detached and cloned, in their (compute) dtype: intermediate results are saved as is."""
    return OrderedDict((k, v.detach().clone()) for k, v in sd.items())


@contextlib.contextmanager
def captured_tall_masks(modules, masks):
    """Record the masks TallMaskTaskArithmeticAlgorithm.run gets from its module's generate_task_masks (called once
    per model, in model_names order); the run itself is unchanged."""
    module = modules["tall_mask"]
    original = module.generate_task_masks

    def generate_task_masks(multi_task_vector, *args, **kwargs):
        mask = original(multi_task_vector, *args, **kwargs)
        masks.append(OrderedDict((k, v.clone()) for k, v in mask.items()))
        # generate_task_masks returns float32 masks (value.float()); state_dict_hadamard_product(mask, multi_task_vector)
        # then rejects the float64 head.weight ("Dtype mismatch"). A 0/1 mask cast to the vector's dtype gives the
        # product torch's type promotion would (exact either way); float32 tensors are untouched.
        return OrderedDict((k, v.to(multi_task_vector[k].dtype)) for k, v in mask.items())

    module.generate_task_masks = generate_task_masks
    try:
        yield
    finally:
        module.generate_task_masks = original


def consensus_mask(modules, pre_sd, tall_masks, prun_thre_k):
    """FusionBench's construct_consensus_mask on in-memory TALL masks. Its load_tall_mask reads the masks from disk
    (config.model_location, np.packbits files written by find_optimal_mask); it is replaced, for this call only, by one
    returning {task: mask state dict}, which is what load_tall_mask returns. The flat boolean vector (keys sorted) is
    turned back into a state dict by FusionBench's vector_to_state_dict, on a copy of the pretrained state dict."""
    utils = modules["tall_mask_utils"]
    original = utils.load_tall_mask
    utils.load_tall_mask = lambda remove_keys, ptm_check, config: dict(tall_masks)
    try:
        vector = utils.construct_consensus_mask(pre_sd, prun_thre_k, config=None, remove_keys=[])
    finally:
        utils.load_tall_mask = original
    reference = OrderedDict((k, v.detach().clone()) for k, v in pre_sd.items())
    return OrderedDict(utils.vector_to_state_dict(vector, reference, remove_keys=[]))


def run_recent_case(src, classes, modules, pre, models, method, params, pool_models, with_pretrained):
    """Like run_case, for RECENT_CASES; returns (class name, merged state dict or None, {task: state dict},
    {extra: state dict}). Unlike run_case, the run is not wrapped in torch.no_grad(): FusionBench's program does not
    wrap it either, and WUDIMerging's Adam loop needs autograd (the others use no_grad themselves or never need it)."""
    from omegaconf import OmegaConf
    cfg = OmegaConf.merge(OmegaConf.load(os.path.join(src, "config", "method", CONFIGS[method])),
                          RUN_OVERRIDES.get(method, {}),
                          {k: v for k, v in params.items() if k not in LOCAL_PARAMETERS})
    cfg = OmegaConf.to_container(cfg)
    algorithm = classes[cfg.pop("_target_").rpartition(".")[2]](**cfg)

    model_type = PlainStateDictTinyModel if method.startswith("tall_mask") else TinyModel
    pool = OrderedDict()
    if with_pretrained:
        pool["_pretrained_"] = model_type(pre)
    for name in pool_models:
        pool[name] = model_type(models[name])
    pre_sd = compute_dtype_copy(pool["_pretrained_"].state_dict())

    tall_masks = []
    capture = captured_tall_masks(modules, tall_masks) if method.startswith("tall_mask") else contextlib.nullcontext()
    with capture, contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        result = algorithm.run(_BaseModelPool(pool))

    merged, tasks, extras = None, {}, {}
    if method == "emr_merging":
        # The EMRModulatedModel: backbone = the pretrained model, unified task vector, one modulator per task. Each
        # task's model is FusionBench's set_task on a fresh deep copy (so it is the pretrained weights + one delta,
        # without the add/sub round trip of switching tasks on one model).
        for name in pool_models:
            task_model = copy.deepcopy(result)
            task_model.set_task(name)
            tasks[name] = finish(pre, task_model.backbone)
        extras["unified"] = compute_dtype_copy(result.unified_task_vector.state_dict())
        for name in pool_models:
            extras[f"mask.{name}"] = compute_dtype_copy(result.modulators[name].mask.state_dict())
        extras["rescalers"] = {"rescalers": torch.stack([result.modulators[n].rescaler.detach().clone() for n in pool_models])}
    elif method.startswith("tall_mask"):
        models_out = result["models"]
        masks = {name: compute_dtype_copy(m) for name, m in zip(pool_models, tall_masks)}
        for name in pool_models:
            extras[f"mask.{name}"] = masks[name]
        if method == "tall_mask_consensus":
            with contextlib.redirect_stdout(io.StringIO()):
                extras["consensus_mask"] = consensus_mask(modules, pre_sd, masks, params["prun_thre_k"])
        else:
            for name in pool_models:
                tasks[name] = finish(pre, models_out[name])
    elif isinstance(result, dict):  # TaskSingularVectorMerging with return_single_task_models
        merged = finish(pre, result["merged"])
        for name in pool_models:
            tasks[name] = finish(pre, result[name])
    else:
        merged = finish(pre, result)
    return type(algorithm).__name__, merged, tasks, extras


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
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", help="comma-separated case names: regenerate only these cases' files (and not vit/); "
                        "cases.json keeps the other cases' entries from the existing file")
    args = parser.parse_args()
    all_names = [c[0] for c in CASES + RECENT_CASES]
    only = None if args.only is None else args.only.split(",")
    if only is not None:
        unknown = sorted(set(only) - set(all_names))
        if unknown:
            sys.exit(f"generate_golden.py: unknown cases {unknown}")
        with open(os.path.join(HERE, "cases.json")) as f:
            previous = {c["case"]: c for c in json.load(f)["cases"]}

    src, classes, modules = load_fusionbench()
    logging.getLogger("fusion_bench").setLevel(logging.ERROR)  # e.g. "instance models are modified in place": intended
    check_rng_equivalence()
    if only is None:
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
        if only is not None and case not in only:
            cases.append(previous[case])
            continue
        algorithm, merged = run_case(src, classes, modules, pre, models, method, params, pool_models, with_pretrained)
        save_safetensors(os.path.join(HERE, "expected", f"{case}.safetensors"), merged)
        entry = {"case": case, "method": method, "parameters": params, "expected": f"expected/{case}.safetensors",
                 "fusionbench": algorithm}
        if pool_models != ALL or not with_pretrained:
            entry["models"] = pool_models
            entry["pretrained"] = with_pretrained
        cases.append(entry)
    for case, method, params, pool_models, with_pretrained in RECENT_CASES:
        if only is not None and case not in only:
            if case in previous:
                cases.append(previous[case])
            else:
                print(f"warning: {case} is neither regenerated nor in the existing cases.json; left out")
            continue
        algorithm, merged, tasks, extras = run_recent_case(src, classes, modules, pre, models, method, params,
                                                           pool_models, with_pretrained)
        entry = {"case": case, "method": method, "parameters": params}
        if merged is not None:
            entry["expected"] = f"expected/{case}.safetensors"
            save_safetensors(os.path.join(HERE, entry["expected"]), merged)
        entry["fusionbench"] = algorithm + ("+construct_consensus_mask" if method == "tall_mask_consensus" else "")
        if pool_models != ALL or not with_pretrained:
            entry["models"] = pool_models
            entry["pretrained"] = with_pretrained
        if tasks:
            entry["per_task"] = True
            entry["expected_tasks"] = {t: f"expected/{case}.{t}.safetensors" for t in tasks}
            for t, sd in tasks.items():
                save_safetensors(os.path.join(HERE, entry["expected_tasks"][t]), sd)
        if extras:
            entry["extras"] = {x: f"expected/{case}.{x}.safetensors" for x in extras}
            for x, sd in extras.items():
                save_safetensors(os.path.join(HERE, entry["extras"][x]), sd)
        cases.append(entry)
    with open(os.path.join(HERE, "cases.json"), "w") as f:
        json.dump({"generator": "generate_golden.py (FusionBench's own algorithms, loaded from FUSIONBENCH_SRC)",
                   "fusionbench_commit": FUSIONBENCH_COMMIT, "torch": torch.__version__,
                   "models": ALL, "cases": cases}, f, indent=2)
    print(f"wrote {len(cases) if only is None else len(only)} cases ({len(cases)} in cases.json)")


if __name__ == "__main__":
    main()

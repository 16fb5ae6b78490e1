#!/usr/bin/python3
"""Golden files for FusionBench.Core's data-driven and mixing methods, produced by FusionBench's OWN functions.

Run with Debian's interpreter (python3-torch 1.13, numpy, omegaconf, tqdm):

    FUSIONBENCH_SRC=/path/to/fusion_bench /usr/bin/python3 generate_fusionbench_golden.py

FUSIONBENCH_SRC is the root of a FusionBench checkout (the folder holding the `fusion_bench` package); the expected
commit is FUSIONBENCH_COMMIT below (override with the env var of that name). Nothing of FusionBench is copied here:
each FusionBench source file we need is executed in place with importlib (spec_from_file_location), with small stub
modules standing in for the heavy imports at the top of those files (lightning, transformers, hydra-instantiated
model pools, FusionBench's own mixins). The stubs only satisfy imports and supply the `self` attributes a method reads;
every number in the goldens comes out of FusionBench's code. cases.json records a sha256 of every FusionBench file run.

Stubs that change behaviour, and why (each is named again in the affected case's description):
  * torch.func.functional_call -> torch.nn.utils.stateless.functional_call (torch 1.13 has no torch.func). The
    `tie_weights` / `strict` keyword arguments added in torch 2.x are dropped: the tiny models have no tied weights and
    always receive every key, so both would be no-ops.
  * The stub Lightning Fabric's setup_dataloaders() rebuilds the loader unshuffled over the same dataset with the same
    batch size. Only RegMeanAlgorithmForCLIP hard-codes shuffle=True; with num_regmean_examples equal to the dataset
    size the same rows are used either way, so the change fixes the batch order (float rounding only) for C#.

Ported (not FusionBench code): the routing of transformers' MixtralSparseMoeBlock (softmax in float32 -> top-k ->
renormalise -> weighted sum of SwiGLU experts), see mixtral_sparse_moe_block(). FusionBench's mixtral upscaling and
merging build a transformers MixtralModel and never touch the gate; transformers itself is not available here.

Everything is float32 (torch.inverse inside RegMean included, exactly as FusionBench runs it). torch runs on one thread,
so two runs write identical bytes.
"""
import contextlib
import functools
import hashlib
import importlib.util
import io
import json
import os
import platform
import random
import struct
import sys
import types
from copy import deepcopy

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

HERE = os.path.dirname(os.path.abspath(__file__))
FUSIONBENCH_COMMIT = os.environ.get("FUSIONBENCH_COMMIT", "54c9e8c9d9621620c720452cd8533332a32d3689")
TASKS = ["task_a", "task_b", "task_c"]
DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}
FB_FILES = {}  # repo-relative path -> sha256, filled as files are loaded


# ---------------------------------------------------------------------------------------------------------------------
# safetensors writer (stdlib + torch; same style as ../generate_golden.py)
# ---------------------------------------------------------------------------------------------------------------------
def save_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous()
        raw = t.numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


# ---------------------------------------------------------------------------------------------------------------------
# Loading single FusionBench files with stubbed imports
# ---------------------------------------------------------------------------------------------------------------------
def fusionbench_root():
    root = os.environ.get("FUSIONBENCH_SRC")
    if not root:
        sys.exit("error: set FUSIONBENCH_SRC to the root of a FusionBench checkout (the folder holding fusion_bench/), "
                 f"commit {FUSIONBENCH_COMMIT}")
    probe = os.path.join(root, "fusion_bench", "method", "fisher_merging", "fisher_merging.py")
    if not os.path.isfile(probe):
        sys.exit(f"error: FUSIONBENCH_SRC={root!r} does not look like a FusionBench checkout (missing {probe})")
    return root


def _package(name):
    """An empty package module (so relative imports inside loaded files resolve against sys.modules)."""
    if name in sys.modules:
        return sys.modules[name]
    mod = types.ModuleType(name)
    mod.__path__ = []
    sys.modules[name] = mod
    if "." in name:
        parent, _, leaf = name.rpartition(".")
        setattr(_package(parent), leaf, mod)
    return mod


def _stub(name, **attrs):
    mod = _package(name)
    for k, v in attrs.items():
        setattr(mod, k, v)
    return mod


def load_fb(root, dotted):
    """Executes FusionBench's file for module `dotted` (e.g. fusion_bench.method.regmean.regmean) in place."""
    rel = dotted.replace(".", "/") + ".py"
    path = os.path.join(root, rel)
    with open(path, "rb") as f:
        FB_FILES[rel] = hashlib.sha256(f.read()).hexdigest()
    parent, _, leaf = dotted.rpartition(".")
    _package(parent)
    spec = importlib.util.spec_from_file_location(dotted, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[dotted] = mod
    spec.loader.exec_module(mod)
    setattr(sys.modules[parent], leaf, mod)
    return mod


class StubModelPool:
    """Stands in for fusion_bench.modelpool.BaseModelPool: the subset its algorithms call. Like the real pool, a
    pre-instantiated nn.Module is returned as is by load_model, and special names (_x_) are not model_names."""

    def __init__(self, models, *, train_datasets=None, test_datasets=None, **_):
        self._models = dict(models)
        self._train_datasets = train_datasets or {}
        self._test_datasets = test_datasets or {}

    @staticmethod
    def is_special_model(name):
        return name.startswith("_") and name.endswith("_")

    @property
    def model_names(self):
        return [n for n in self._models if not self.is_special_model(n)]

    @property
    def has_pretrained(self):
        return "_pretrained_" in self._models

    def __len__(self):
        return len(self.model_names)

    def load_model(self, name, *args, **kwargs):
        return self._models[name]

    def named_models(self):
        for n in self.model_names:
            yield n, self.load_model(n)

    def load_train_dataset(self, name):
        return self._train_datasets[name]

    def load_test_dataset(self, name):
        return self._test_datasets[name]


class StubCLIPDataset(torch.utils.data.Dataset):
    """fusion_bench.dataset.CLIPDataset runs the CLIP processor on images; our inputs are already vectors."""

    def __init__(self, dataset, processor=None):
        self.dataset = dataset

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, i):
        return self.dataset[i]


def install_stubs_and_load(root):
    class BaseAlgorithm:
        _config_mapping = {}

    class SimpleProfilerMixin:
        pass

    class CLIPClassificationMixin:
        pass

    class LightningFabricMixin:
        pass

    class ModelFusionAlgorithm:
        pass

    class Fabric:
        pass

    def identity(x=None, *a, **k):
        return x

    def functional_call(module, parameters_and_buffers, args=(), kwargs=None, *, tie_weights=True, strict=False):
        # torch 1.13: no tie_weights/strict (no-ops for these tiny models, see the module docstring)
        return torch.nn.utils.stateless.functional_call(module, parameters_and_buffers, args, kwargs)

    # Quiet progress bars (FusionBench wraps its loops in tqdm.autonotebook.tqdm).
    import tqdm.autonotebook as tqa
    tqa.tqdm = functools.partial(tqa.tqdm, disable=True)

    _stub("torch.func", functional_call=functional_call)
    torch.func = sys.modules["torch.func"]
    _stub("lightning", Fabric=Fabric)
    _stub("lightning.fabric")
    _stub("lightning.fabric.wrappers")
    _stub("lightning.fabric.utilities")
    _stub("lightning.fabric.utilities.rank_zero", rank_zero_only=identity)
    _stub("transformers", CLIPProcessor=object, CLIPModel=object)
    _stub("fusion_bench", BaseAlgorithm=BaseAlgorithm, BaseModelPool=StubModelPool, auto_register_config=identity)
    _stub("fusion_bench.method", BaseAlgorithm=BaseAlgorithm)
    _stub("fusion_bench.mixins", SimpleProfilerMixin=SimpleProfilerMixin, auto_register_config=identity,
          CLIPClassificationMixin=CLIPClassificationMixin, LightningFabricMixin=LightningFabricMixin)
    _stub("fusion_bench.mixins.simple_profiler", SimpleProfilerMixin=SimpleProfilerMixin)
    _stub("fusion_bench.mixins.lightning_fabric", LightningFabricMixin=LightningFabricMixin)
    _stub("fusion_bench.modelpool", BaseModelPool=StubModelPool)
    _stub("fusion_bench.dataset", CLIPDataset=StubCLIPDataset)
    _stub("fusion_bench.dataset.clip_dataset", CLIPDataset=StubCLIPDataset)
    _stub("fusion_bench.compat")
    _stub("fusion_bench.compat.method", ModelFusionAlgorithm=ModelFusionAlgorithm)
    _stub("fusion_bench.compat.modelpool", ModelPool=StubModelPool)
    _stub("fusion_bench.utils.data", load_tensor_from_file=None)  # layer-wise run() reads weights files; unused here

    fb = types.SimpleNamespace()
    load_fb(root, "fusion_bench.utils.type")          # real: type aliases only
    load_fb(root, "fusion_bench.utils.dict")          # real: imported by models/utils.py
    load_fb(root, "fusion_bench.models.utils")        # real: get_attr / set_attr / del_attr
    fb.fisher = load_fb(root, "fusion_bench.method.fisher_merging.fisher_merging")
    fb.clip_fisher = load_fb(root, "fusion_bench.method.fisher_merging.clip_fisher_merging")
    load_fb(root, "fusion_bench.method.regmean.utils")
    fb.regmean = load_fb(root, "fusion_bench.method.regmean.regmean")
    fb.clip_regmean = load_fb(root, "fusion_bench.method.regmean.clip_regmean")
    fb.layer_wise_fusion = load_fb(root, "fusion_bench.models.wrappers.layer_wise_fusion")
    fb.task_wise_fusion = load_fb(root, "fusion_bench.models.wrappers.task_wise_fusion")
    fb.entropy = load_fb(root, "fusion_bench.method.adamerging.entropy_loss")
    load_fb(root, "fusion_bench.method.adamerging.utils")
    fb.task_wise_ada = load_fb(root, "fusion_bench.method.adamerging.task_wise_adamerging")
    fb.layer_wise_ada = load_fb(root, "fusion_bench.method.adamerging.layer_wise_adamerging")
    fb.we_moe = load_fb(root, "fusion_bench.models.we_moe")
    fb.depth_upscaling = load_fb(root, "fusion_bench.method.depth_upscaling.depth_upscaling")
    fb.recombination = load_fb(root, "fusion_bench.method.model_recombination")
    for rel in ["fusion_bench/method/mixture_of_experts/mixtral_upcycling.py",
                "fusion_bench/method/mixture_of_experts/mixtral_merging.py",
                "fusion_bench/method/we_moe/clip_we_moe.py",
                "config/method/fisher_merging/clip_fisher_merging.yaml",
                "config/method/regmean/clip_regmean.yaml",
                "config/method/adamerging/clip.yaml",
                "config/method/wemoe/weight_ensembling_moe.yaml",
                "config/method/mixtral_moe_upscaling.yaml",
                "config/method/depth_upscaling.yaml",
                "config/method/model_recombination.yaml"]:
        # read (not run) to derive semantics recorded in the descriptions; hashed so a source change is visible
        with open(os.path.join(root, rel), "rb") as f:
            FB_FILES[rel] = hashlib.sha256(f.read()).hexdigest()
    return fb


# ---------------------------------------------------------------------------------------------------------------------
# Stub "self" helpers shared by the hosts
# ---------------------------------------------------------------------------------------------------------------------
class RecordingOptimizer:
    """What the stub Fabric's setup() returns for an optimizer: records the gradients step() sees (FusionBench calls
    optimizer.zero_grad() right after step(), so they are gone once test_time_adaptation returns)."""

    def __init__(self, optimizer):
        self.optimizer = optimizer
        self.grads = None

    def step(self):
        self.grads = [p.grad.detach().clone() for g in self.optimizer.param_groups for p in g["params"]]
        self.optimizer.step()

    def zero_grad(self):
        self.optimizer.zero_grad()


class StubFabric:
    """Lightning Fabric on one CPU: setup() passes things through, backward() calls loss.backward (and records the
    loss), setup_dataloaders() rebuilds the loader unshuffled (see the module docstring)."""

    def __init__(self):
        self.losses = []
        self.optimizer = None
        self.is_global_zero = True

    def setup(self, module, *optimizers):
        if not optimizers:
            return module
        self.optimizer = RecordingOptimizer(optimizers[0])
        return module, self.optimizer

    def setup_dataloaders(self, loader):
        return DataLoader(loader.dataset, batch_size=loader.batch_size, shuffle=False)

    def backward(self, loss, **kwargs):
        self.losses.append(loss.detach().clone())
        loss.backward(**kwargs)

    def log_dict(self, *args, **kwargs):
        pass


class ProfilerFree:
    def profile(self, name):
        return contextlib.nullcontext()

    def print_profile_summary(self, *args, **kwargs):
        pass


# ---------------------------------------------------------------------------------------------------------------------
# The shared tiny model: MLP encoder + fixed per-task heads
# ---------------------------------------------------------------------------------------------------------------------
class TinyEncoder(nn.Module):
    """features = fc2(gelu(fc1(x))), exact (erf) GELU."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 8)
        self.fc2 = nn.Linear(8, 5)

    def forward(self, x):
        return self.fc2(F.gelu(self.fc1(x)))


ENCODER_KEYS = ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]


def make_shared_model():
    g = torch.Generator().manual_seed(20250601)
    t = {}
    t["pretrained.fc1.weight"] = 0.6 * torch.randn(8, 6, generator=g)
    t["pretrained.fc1.bias"] = 0.2 * torch.randn(8, generator=g)
    t["pretrained.fc2.weight"] = 0.6 * torch.randn(5, 8, generator=g)
    t["pretrained.fc2.bias"] = 0.2 * torch.randn(5, generator=g)
    for task in TASKS:
        for k in ENCODER_KEYS:
            p = t["pretrained." + k]
            t[f"{task}.{k}"] = p + 0.1 * torch.randn(p.shape, generator=g)
    for task in TASKS:
        t[f"head.{task}"] = torch.randn(3, 5, generator=g)
    for task in TASKS:
        t[f"train.{task}"] = torch.randn(24, 6, generator=g)
        t[f"test.{task}"] = torch.randn(16, 6, generator=g)
    return t


def encoder(shared, who):
    m = TinyEncoder()
    m.load_state_dict({k: shared[f"{who}.{k}"].clone() for k in ENCODER_KEYS})
    return m


def encoder_pool(shared):
    """A fresh pool: _pretrained_ plus the three fine-tuned encoders, with unlabeled-looking train sets (labels 0:
    FusionBench's Fisher/RegMean never read them)."""
    models = {"_pretrained_": encoder(shared, "pretrained")}
    models.update({t: encoder(shared, t) for t in TASKS})
    train = {t: TensorDataset(shared[f"train.{t}"], torch.zeros(24, dtype=torch.long)) for t in TASKS}
    test = {t: TensorDataset(shared[f"test.{t}"], torch.zeros(16, dtype=torch.long)) for t in TASKS}
    return StubModelPool(models, train_datasets=train, test_datasets=test)


def head_logits(shared, features, task):
    """Our logits rule (in place of CLIP's normalised-cosine head): features @ head_task.T."""
    return features @ shared[f"head.{task}"].t()


def sd_out(prefix, module_or_sd):
    sd = module_or_sd.state_dict() if isinstance(module_or_sd, nn.Module) else module_or_sd
    return {f"{prefix}{k}": v.detach().clone() for k, v in sd.items()}


# ---------------------------------------------------------------------------------------------------------------------
# 1. Fisher merging
# ---------------------------------------------------------------------------------------------------------------------
def fisher_cases(fb, shared):
    from omegaconf import OmegaConf

    class FisherHost(ProfilerFree):
        # FusionBench's own methods, borrowed onto a stub self
        run = fb.fisher.FisherMergingAlgorithm.run
        _get_fisher_weights = fb.clip_fisher.FisherMergingForCLIPVisionModel.get_fisher_weights

        def __init__(self, config):
            self.config = OmegaConf.create(config)
            self.dataloader_kwargs = {"batch_size": 8, "num_workers": 0}  # clip_fisher_merging.yaml: no shuffle key
            self.fabric = None
            self.clip_processor = None
            self.fishers = {}

        def on_fisher_merging_start(self):
            pass

        def compute_logits(self, module, batch, task):
            images, _ = batch
            return head_logits(shared, module(images), task)

        def get_fisher_weights(self, model_name, model, train_dataset, param_names_to_merge):
            w = self._get_fisher_weights(model_name, model, train_dataset, param_names_to_merge)
            self.fishers[model_name] = {k: v.clone() for k, v in w.items()}
            return w

    common = ("F_i[p] = (1/n_i) * sum over batches b of (d/dp S_b)^2, where S_b = sum over the batch rows x and classes c "
              "of sqrt(p_c(x)).detach() * log p_c(x), p = softmax(logits) and logits = encoder(x) @ head_task.T; only "
              "the log_softmax factor carries gradient (the sqrt(softmax) factor is detached). The DataLoader iterates "
              "train.task in dataset order (clip_fisher_merging.yaml's dataloader_kwargs has no shuffle, so "
              "DataLoader's default shuffle=False), batch_size 8; before each batch the loop breaks once "
              "num_computed_examples >= num_fisher_examples, so whole batches are used (ceil(num/batch) of them, "
              "limited by the dataset) and n_i = the number of rows actually used (here 24 = all, 3 batches). "
              "Merge (merging_with_fisher_weights, fisher_scaling_coefficients = ones(N)/N): for each merged "
              "parameter p, theta*[p] = sum_i c_i (F_i[p] + eps) theta_i[p] / sum_i c_i (F_i[p] + eps), eps = "
              "minimal_fisher_weight added to F element-wise. normalize_fisher_weight: norm_i = L2 norm of ALL of "
              "model i's Fisher entries over the merged parameters (L2 over per-parameter L2 norms, eps not added), "
              "c_i = (1/N) * (1/(norm_i + eps)) / sum_j (1/(norm_j + eps)); otherwise c_i = 1/N. "
              "FisherMergingAlgorithm.run then loads the merged parameters into the PRETRAINED model with strict=False, so any "
              "parameter not merged keeps the pretrained value. out.fisher.<task>.<param> = F_i (only merged "
              "parameters), out.fisher_norm = norm_i (get_models_fisher_norm), out.merged.* = the returned model's "
              "state dict. All float32.")
    specs = [
        ("fisher_merging_default", {"exclude_param_names_regex": [], "normalize_fisher_weight": True,
                                    "minimal_fisher_weight": 1e-6, "num_fisher_examples": 24}, ""),
        ("fisher_merging_unnormalized", {"exclude_param_names_regex": [], "normalize_fisher_weight": False,
                                         "minimal_fisher_weight": 1e-6, "num_fisher_examples": 24},
         " Here normalize_fisher_weight is false: c_i = 1/N, so theta* = sum_i (F_i+eps) theta_i / sum_i (F_i+eps)."),
        ("fisher_merging_exclude", {"exclude_param_names_regex": ["fc2", "bias"], "normalize_fisher_weight": True,
                                    "minimal_fisher_weight": 1e-6, "num_fisher_examples": 24},
         " Exclusion uses Python re.match (anchored at the START of the name, not a search): 'fc2' excludes fc2.weight "
         "and fc2.bias, 'bias' excludes nothing (no name starts with 'bias'). Excluded parameters get no Fisher "
         "(get_param_squared_gradients only keeps merged names), are left out of norm_i, and are not merged: "
         "out.merged.fc2.* equal pretrained.fc2.* exactly (not the average of the fine-tuned models)."),
    ]
    cases = []
    for name, params, extra in specs:
        pool = encoder_pool(shared)
        host = FisherHost(params)
        merged = host.run(pool)
        out = {}
        for t in TASKS:
            out.update({f"out.fisher.{t}.{k}": v for k, v in host.fishers[t].items()})
        merged_names = list(host.fishers[TASKS[0]].keys())
        norm = fb.fisher.get_models_fisher_norm(
            {k: None for k in merged_names}, [host.fishers[t] for t in TASKS])
        out["out.fisher_norm"] = norm
        out.update(sd_out("out.merged.", merged))
        if "fc2" in params["exclude_param_names_regex"]:
            assert merged_names == ["fc1.weight", "fc1.bias"], merged_names
            for k in ["fc2.weight", "fc2.bias"]:
                assert torch.equal(out[f"out.merged.{k}"], shared[f"pretrained.{k}"]), k
        cases.append(dict(
            name=name, method="fisher_merging",
            fusionbench=["fusion_bench/method/fisher_merging/fisher_merging.py::FisherMergingAlgorithm.run",
                         "fusion_bench/method/fisher_merging/clip_fisher_merging.py::FisherMergingForCLIPVisionModel.get_fisher_weights",
                         "fusion_bench/method/fisher_merging/fisher_merging.py::get_param_names_to_merge, "
                         "get_param_squared_gradients, get_models_fisher_norm, merging_with_fisher_weights"],
            parameters=dict(params, dataloader_kwargs={"batch_size": 8, "num_workers": 0}),
            model_file="model.safetensors",
            description=common + extra,
            tensors=({}, out)))
    return cases


# ---------------------------------------------------------------------------------------------------------------------
# 2. RegMean
# ---------------------------------------------------------------------------------------------------------------------
def regmean_cases(fb, shared):
    from omegaconf import OmegaConf

    class RegMeanHost(ProfilerFree):
        run = fb.regmean.RegMeanAlgorithm.run
        _get_regmean_weights = fb.clip_regmean.RegMeanAlgorithmForCLIP.get_regmean_weights
        _include_module_type = fb.regmean.RegMeanAlgorithm._include_module_type

        def __init__(self, config):
            self.config = OmegaConf.create(config)
            self.num_regmean_examples = config["num_regmean_examples"]
            self.reduce_non_diagonal_ratio = config["reduce_non_diagonal_ratio"]
            self.dataloader_kwargs = {"batch_size": 8, "num_workers": 0}
            self.fabric = StubFabric()
            self.clip_processor = None
            self.grams = {}

        def on_regmean_start(self):
            pass

        def compute_logits(self, module, batch, task):
            images, _ = batch
            return head_logits(shared, module(images), task)

        def get_regmean_weights(self, model_name, model, train_dataset, linear_modules_to_merge):
            w = self._get_regmean_weights(model_name, model, train_dataset, linear_modules_to_merge)
            self.grams[model_name] = {k: v.clone() for k, v in w.items()}
            return w

    common = ("Gram (forward hooks on every nn.Linear, here fc1 and fc2, registered by get_regmean_weights): for each "
              "linear module m, X = its input reshaped to [-1, in] (fc1: x, fc2: gelu(fc1 x)), accumulated as a running "
              "mean over ROWS: first batch G = X^T X / rows; then G = (G * n + X^T X) / (n + rows), n += rows (float32). "
              "Batches: train.task in dataset order, batch_size 8; before each batch the loop breaks once the number of "
              "examples seen by the first hooked module >= num_regmean_examples (whole batches; here 3 batches = all 24 "
              "rows). FusionBench's RegMeanAlgorithmForCLIP builds its DataLoader with shuffle=True; the stub Fabric "
              "rebuilt it unshuffled, which with 24 of 24 rows only changes float rounding. "
              "Merge (merging_with_regmean_weights): for a parameter named <m>.weight whose module m has a Gram: "
              "G~_i = reduce_non_diagonal_elements(G_i, r) = G_i * (r * ones + (1 - r) * I), i.e. off-diagonal entries "
              "times r, diagonal unchanged; with weight_transpose true (nn.Linear stores W as [out, in]) "
              "W* = ( inverse(sum_i G~_i) @ sum_i (G~_i @ W_i^T) )^T, using torch.inverse in float32 (weight_transpose "
              "false would skip both transposes, for weights already stored [in, out] like GPT-2's Conv1D). Every "
              "other merged parameter (biases, and weights of modules without a Gram) = mean over the models "
              "(torch.stack(...).mean(0)). run() loads the merged parameters into the PRETRAINED model with "
              "strict=False. out.gram.<task>.<module> = G_i before reduction, out.merged.* = the returned model.")
    specs = [
        ("regmean_default", {"exclude_param_names_regex": [], "num_regmean_examples": 24, "weight_transpose": True,
                             "reduce_non_diagonal_ratio": 0.95}, ""),
        ("regmean_ratio_0_5", {"exclude_param_names_regex": [], "num_regmean_examples": 24, "weight_transpose": True,
                               "reduce_non_diagonal_ratio": 0.5}, ""),
        ("regmean_exclude", {"exclude_param_names_regex": ["fc2"], "num_regmean_examples": 24, "weight_transpose": True,
                             "reduce_non_diagonal_ratio": 0.95},
         " exclude_param_names_regex uses re.match (anchored at the start): 'fc2' excludes fc2.weight and fc2.bias from "
         "merging, so they keep the PRETRAINED values (out.merged.fc2.* == pretrained.fc2.*). The fc2 Gram is still "
         "computed (hooks are on every Linear regardless of exclusion) and is recorded in out.gram.*.fc2."),
    ]
    cases = []
    for name, params, extra in specs:
        pool = encoder_pool(shared)
        host = RegMeanHost(params)
        merged = host.run(pool)
        out = {}
        for t in TASKS:
            out.update({f"out.gram.{t}.{k}": v for k, v in host.grams[t].items()})
        out.update(sd_out("out.merged.", merged))
        if params["exclude_param_names_regex"]:
            for k in ["fc2.weight", "fc2.bias"]:
                assert torch.equal(out[f"out.merged.{k}"], shared[f"pretrained.{k}"]), k
        cases.append(dict(
            name=name, method="regmean",
            fusionbench=["fusion_bench/method/regmean/regmean.py::RegMeanAlgorithm.run",
                         "fusion_bench/method/regmean/clip_regmean.py::RegMeanAlgorithmForCLIP.get_regmean_weights",
                         "fusion_bench/method/regmean/regmean.py::reduce_non_diagonal_elements, merging_with_regmean_weights",
                         "fusion_bench/method/regmean/utils.py::get_param_names_to_merge, get_modules_to_merge"],
            parameters=dict(params, dataloader_kwargs={"batch_size": 8, "num_workers": 0}),
            model_file="model.safetensors",
            description=common + extra,
            tensors=({}, out)))
    return cases


# ---------------------------------------------------------------------------------------------------------------------
# 3. AdaMerging
# ---------------------------------------------------------------------------------------------------------------------
def adamerging_cases(fb, shared):
    from omegaconf import OmegaConf
    TaskWise = fb.task_wise_ada.TaskWiseAdaMergingAlgorithm
    LayerWise = fb.layer_wise_ada.LayerWiseAdaMergingAlgorithm
    cases = []

    merge_common = ("merged = pretrained + sum_i w_i * tau_i, tau_i = finetuned_i - pretrained (computed in the wrapper's "
                    "constructor), accumulated task by task in pool order (state_dict[p] = state_dict[p] + tau_i[p] * "
                    "w_i). If clamp_weights, w = merge_weight.clamp(0, 1) INSIDE merge_weights (the stored parameter "
                    "merge_weight stays raw: that is what save_merging_weights saves and what the optimizer updates); "
                    "otherwise w = merge_weight. out.merged.* = state dict of merge_and_unload().")

    # (a) task-wise: FusionBench's own run() with `weights` given (it skips test-time adaptation)
    for clamp in [False, True]:
        lam = [0.3, 0.5, -0.2]
        cfg = {"weights": lam, "init_values": 0.3, "clamp_weights": clamp, "tie_weights": True, "strict": False}
        host = types.SimpleNamespace(config=OmegaConf.create(cfg))
        host.construct_task_wise_merged_model = functools.partial(TaskWise.construct_task_wise_merged_model, host)
        merged = TaskWise.run(host, encoder_pool(shared))
        cases.append(dict(
            name="adamerging_task_wise_merge" + ("_clamped" if clamp else ""), method="task_wise_adamerging",
            fusionbench=["fusion_bench/method/adamerging/task_wise_adamerging.py::TaskWiseAdaMergingAlgorithm.run, "
                         "construct_task_wise_merged_model",
                         "fusion_bench/models/wrappers/task_wise_fusion.py::TaskWiseMergedModel.merge_weights, merge_and_unload"],
            parameters=cfg, model_file="model.safetensors",
            description=("Task-wise: one weight per fine-tuned model, merge_weight shape [3] = in.merge_weight. "
                         + merge_common + (" clamp_weights true: effective w = [0.3, 0.5, 0.0]." if clamp else
                                           " clamp_weights false: the negative weight is used as is.")),
            tensors=({"in.merge_weight": torch.tensor(lam)}, sd_out("out.merged.", merged))))

    # (a) layer-wise: LayerWiseAdaMergingAlgorithm.run only accepts `weights` as a file path; it then does exactly this
    lam_lw = torch.tensor([[0.3, 1.2, -0.1, 0.5],
                           [0.25, -0.4, 0.8, 1.5],
                           [0.6, 0.2, 1.1, -0.3]])
    for clamp in [False, True]:
        module = fb.layer_wise_fusion.LayerWiseMergedModel(
            layer_wise_weight=lam_lw.clone(), pretrained_model=encoder(shared, "pretrained"),
            finetuned_models=[encoder(shared, t) for t in TASKS], clamp_weights=clamp, tie_weights=True, strict=False)
        merged = module.merge_and_unload()
        cfg = {"clamp_weights": clamp, "tie_weights": True, "strict": False, "weights": "<file holding in.merge_weight>"}
        cases.append(dict(
            name="adamerging_layer_wise_merge" + ("_clamped" if clamp else ""), method="layer_wise_adamerging",
            fusionbench=["fusion_bench/models/wrappers/layer_wise_fusion.py::LayerWiseMergedModel.__init__, "
                         "merge_weights, merge_and_unload"],
            parameters=cfg, model_file="model.safetensors",
            description=("Layer-wise: merge_weight shape [num_models=3, num_layers=4], one column per parameter tensor "
                         "of the pretrained model that requires grad, in named_parameters order (fc1.weight, fc1.bias, "
                         "fc2.weight, fc2.bias); row i is model i (pool order task_a, task_b, task_c). "
                         + merge_common),
            tensors=({"in.merge_weight": lam_lw.clone()}, sd_out("out.merged.", merged))))

    # (b) one test-time adaptation step with FusionBench's test_time_adaptation loop (max_steps 1)
    tta_common = ("One step of FusionBench's test_time_adaptation (lr 1e-3 = config/method/adamerging/clip.yaml, torch "
                  "Adam defaults betas (0.9, 0.999), eps 1e-8, no weight decay): merge_weights() once with the initial "
                  "weights; for each task in pool order: logits = merged_encoder(test.task[:8]) @ head_task.T, loss_t = "
                  "entropy_loss(logits) = mean over rows of -sum_c p_c log(p_c + 1e-8) (p = softmax), backward (grads "
                  "accumulate, so grad = d(sum_t loss_t)/d merge_weight); then optimizer.step(), zero_grad(), "
                  "merge_weights() with the new weights. With clamp_weights the clamp is inside merge_weights, so "
                  "d/dw of clamp(w,0,1) is 0 where w < 0 or w > 1 (torch passes the gradient for 0 <= w <= 1): those "
                  "entries get grad exactly 0 and Adam leaves them unchanged (update 0/(0+eps) = 0); the weights are "
                  "never clamped in place. FusionBench draws the batch from a shuffled DataLoader; here the batch is "
                  "fixed to the first 8 test rows of each task. out.loss = [loss_task_a, loss_task_b, loss_task_c] at "
                  "the initial weights, out.grad = summed gradient, out.merge_weight = raw weights after the step, "
                  "out.merged_before.* / out.merged_after.* = merged encoder at the initial / updated weights (clamped "
                  "if clamp_weights), i.e. what the forward used / what merge_and_unload() would return.")
    inits = {"task_wise": torch.tensor([0.3, 1.2, -0.1]), "layer_wise": lam_lw.clone()}
    batches = {t: (shared[f"test.{t}"][:8].clone(), torch.zeros(8, dtype=torch.long)) for t in TASKS}

    class TTAHost(ProfilerFree):
        def __init__(self, config, layer_wise):
            self.config = OmegaConf.create(config)
            self.modelpool = StubModelPool({t: None for t in TASKS})
            self._fabric = self.fabric = StubFabric()
            self.is_debug_mode = False
            self.layer_wise = layer_wise

        def on_test_time_adaptation_start(self):
            pass

        def get_shuffled_test_loader_iter(self, task):
            return iter([batches[task]])

        def compute_logits(self, module, batch, task):
            # task-wise passes the whole batch, layer-wise passes batch[0] (the images)
            images = batch if self.layer_wise else batch[0]
            return head_logits(shared, module(images), task)

    for kind in ["task_wise", "layer_wise"]:
        for clamp in [False, True]:
            cfg = {"optimizer": "adam", "lr": 1e-3, "max_steps": 1, "fast_dev_run": False, "clamp_weights": clamp,
                   "tie_weights": True, "strict": False, "batch_size": 8}
            host = TTAHost(cfg, kind == "layer_wise")
            Wrapper = fb.task_wise_fusion.TaskWiseMergedModel if kind == "task_wise" else fb.layer_wise_fusion.LayerWiseMergedModel
            arg = "task_wise_weight" if kind == "task_wise" else "layer_wise_weight"
            module = Wrapper(**{arg: inits[kind].clone()}, pretrained_model=encoder(shared, "pretrained"),
                             finetuned_models=[encoder(shared, t) for t in TASKS], clamp_weights=clamp,
                             tie_weights=True, strict=False)
            with torch.no_grad():
                module.merge_weights()
                before = {k: v.detach().clone() for k, v in module._merged_state_dict.items()}
            algo = TaskWise if kind == "task_wise" else LayerWise
            with contextlib.redirect_stdout(io.StringIO()):  # layer-wise prints the optimizer
                module = algo.test_time_adaptation(host, module)
            out = {"out.loss": torch.stack(host.fabric.losses), "out.grad": host.fabric.optimizer.grads[0],
                   "out.merge_weight": module.merge_weight.detach().clone()}
            out.update(sd_out("out.merged_before.", before))
            out.update(sd_out("out.merged_after.", module._merged_state_dict))
            if clamp:
                outside = (inits[kind] < 0) | (inits[kind] > 1)
                assert torch.all(out["out.grad"][outside] == 0)
                assert torch.equal(out["out.merge_weight"][outside], inits[kind][outside])
            fn = "task_wise_adamerging.py::TaskWiseAdaMergingAlgorithm" if kind == "task_wise" else \
                "layer_wise_adamerging.py::LayerWiseAdaMergingAlgorithm"
            wrap = "task_wise_fusion.py::TaskWiseMergedModel" if kind == "task_wise" else "layer_wise_fusion.py::LayerWiseMergedModel"
            cases.append(dict(
                name=f"adamerging_{kind}_step" + ("_clamped" if clamp else ""), method=f"{kind}_adamerging",
                fusionbench=[f"fusion_bench/method/adamerging/{fn}.test_time_adaptation",
                             "fusion_bench/method/adamerging/entropy_loss.py::entropy_loss",
                             f"fusion_bench/models/wrappers/{wrap}.merge_weights, forward"],
                parameters=dict(cfg, init_merge_weight="in.merge_weight"), model_file="model.safetensors",
                description=(("Task-wise, merge_weight [3]. " if kind == "task_wise" else
                              "Layer-wise, merge_weight [3, 4] (columns fc1.weight, fc1.bias, fc2.weight, fc2.bias). ")
                             + tta_common),
                tensors=({"in.merge_weight": inits[kind].clone()}, out)))
    return cases


# ---------------------------------------------------------------------------------------------------------------------
# 4. Weight-Ensembling MoE
# ---------------------------------------------------------------------------------------------------------------------
class TinyClipMlp(nn.Module):
    """CLIP's MLP shape: fc2(quick_gelu(fc1(x))), quick_gelu(x) = x * sigmoid(1.702 x); hidden 5 -> 7 -> 5."""

    def __init__(self, d=5, m=7):
        super().__init__()
        self.fc1 = nn.Linear(d, m)
        self.fc2 = nn.Linear(m, d)

    def forward(self, x):
        x = self.fc1(x)
        return self.fc2(x * torch.sigmoid(1.702 * x))


def wemoe_cases(fb):
    g = torch.Generator().manual_seed(777)
    base = TinyClipMlp()
    with torch.no_grad():
        for p in base.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=g))
    experts = []
    for _ in TASKS:
        e = deepcopy(base)
        with torch.no_grad():
            for p in e.parameters():
                p.add_(0.1 * torch.randn(p.shape, generator=g))
        experts.append(e)
    hidden = torch.randn(2, 3, 5, generator=g)
    router = {  # "given" router weights, large enough that routing differs per token and sample
        2: {"fc1.weight": 0.5 * torch.randn(5, 5, generator=g), "fc1.bias": 0.1 * torch.randn(5, generator=g),
            "fc2.weight": 0.5 * torch.randn(3, 5, generator=g), "fc2.bias": 0.3 + 0.1 * torch.randn(3, generator=g)},
        1: {"fc.weight": 0.5 * torch.randn(3, 5, generator=g), "fc.bias": 0.3 + 0.1 * torch.randn(3, generator=g)},
        0: {"weight": torch.tensor([0.4, -0.2, 0.7])},
    }
    router_zero = {"fc1.weight": torch.zeros(5, 5), "fc1.bias": torch.zeros(5),
                   "fc2.weight": torch.zeros(3, 5), "fc2.bias": torch.full((3,), 0.3)}
    specs = [
        ("weight_ensembling_moe_batch_reduce", 2, True, router[2], ""),
        ("weight_ensembling_moe_per_sample", 2, False, router[2],
         " batch_reduce false: one merged MLP per sample b from gate_weights[b], applied to hidden_states[b:b+1]."),
        ("weight_ensembling_moe_zero_router", 2, True, router_zero,
         " Router weights zero and biases as FusionBench's init leaves them (fc1.bias 0, fc2.bias = init_lambda): the "
         "limit of the N(0, 0.01^2) init, so every routing weight is exactly init_lambda = 0.3 and the MLP equals task "
         "arithmetic with scaling 0.3: pretrained + 0.3 * sum_i tau_i."),
        ("weight_ensembling_moe_depth1", 1, True, router[1],
         " router_hidden_layers 1 (Depth_1_Gate): r(h) = fc(h), fc [3, 5] + bias."),
        ("weight_ensembling_moe_depth0", 0, True, router[0],
         " router_hidden_layers 0 (Depth_0_Gate): the gate ignores its input and returns its weight vector [3] "
         "(no token or batch mean; batch_reduce is not consulted); one merged MLP for the batch."),
    ]
    common = ("WeightEnsemblingMoE(hidden_size=5, base_model=in.base (the PRETRAINED MLP: clip_we_moe.construct_moe_model "
              "passes the pretrained layer's mlp, while only the non-MLP parts of the model are task-arithmetic merged "
              "with scaling_factor=init_lambda), expert_models=in.<task> (full fine-tuned MLPs), init_lambda=0.3, "
              "batch_first=True (as clip_we_moe.py), router_hidden_layers, batch_reduce). tau_i = expert_i - base per "
              "parameter. Gate (Depth_2_Gate): r(h) = fc2(relu(fc1(h))) applied to each token of hidden_states "
              "[B=2, T=3, 5], fc1 [5, 5] + bias, fc2 [3, 5] + bias: raw outputs, NO softmax or normalisation. Routing "
              "weights: gate_weights = r(h).mean(dim=1) (mean over tokens, batch_first) -> [B, 3]; if batch_reduce, "
              "w = gate_weights.mean(dim=0) -> [3] and ONE merged MLP theta = base + sum_i w_i tau_i (accumulated in "
              "expert order) serves the whole batch. Router init in FusionBench (construct_weight_ensembling_gate -> "
              "init_weight): depth 2: fc1.weight ~ N(0, 0.01^2), fc1.bias = 0, fc2.weight ~ N(0, 0.01^2), fc2.bias = "
              "init_lambda; depth 1: fc.weight ~ N(0, 0.01^2), fc.bias = init_lambda; depth 0: weight = init_lambda "
              "(here they are overwritten with in.gate.*). The MLP is CLIP-shaped: fc2(quick_gelu(fc1 h)), quick_gelu(x) "
              "= x*sigmoid(1.702x). out.gate_output = gate(h) per token (depth 1/2) or the gate vector (depth 0), "
              "out.routing_weights = the expert_weights of each merge_weights call ([1, 3] batch-reduced or depth 0, "
              "[B, 3] per sample), out.merged.<call>.* = merged MLP of each call, out.output = module output [2, 3, 5].")
    cases = []
    for name, depth, reduce, gate_values, extra in specs:
        torch.manual_seed(0)  # FusionBench's init draws from the global RNG; overwritten below anyway
        moe = fb.we_moe.WeightEnsemblingMoE(hidden_size=5, base_model=deepcopy(base),
                                            expert_models=[deepcopy(e) for e in experts], init_lambda=0.3,
                                            batch_first=True, router_hidden_layers=depth, batch_reduce=reduce)
        with torch.no_grad():
            for k, v in gate_values.items():
                moe.gate.get_parameter(k).copy_(v)
        calls, gate_out = [], []
        real_merge = moe.merge_weights

        def recording_merge(expert_weights, _real=real_merge, _calls=calls):
            sd = _real(expert_weights)
            _calls.append((expert_weights.detach().clone(), {k: v.detach().clone() for k, v in sd.items()}))
            return sd

        moe.merge_weights = recording_merge
        moe.gate.register_forward_hook(lambda mod, inp, outp: gate_out.append(outp.detach().clone()))
        with torch.no_grad():
            output = moe(hidden.clone())
        ins = {"in.hidden_states": hidden.clone()}
        ins.update(sd_out("in.base.", base))
        for t, e in zip(TASKS, experts):
            ins.update(sd_out(f"in.{t}.", e))
        ins.update({f"in.gate.{k}": v.clone() for k, v in gate_values.items()})
        out = {"out.gate_output": gate_out[0], "out.routing_weights": torch.stack([c[0] for c in calls]),
               "out.output": output}
        for i, (_, sd) in enumerate(calls):
            out.update(sd_out(f"out.merged.{i}.", sd))
        if name.endswith("zero_router"):
            assert torch.allclose(out["out.routing_weights"], torch.full((1, 3), 0.3))
        cases.append(dict(
            name=name, method="weight_ensembling_moe",
            fusionbench=["fusion_bench/models/we_moe.py::WeightEnsemblingMoE.__init__, forward, merge_weights",
                         "fusion_bench/models/we_moe.py::construct_weight_ensembling_gate, Depth_0_Gate, Depth_1_Gate, "
                         "Depth_2_Gate"],
            parameters={"init_lambda": 0.3, "router_hidden_layers": depth, "batch_reduce": reduce, "batch_first": True},
            description=common + extra,
            tensors=(ins, out)))
    return cases


# ---------------------------------------------------------------------------------------------------------------------
# 5. Mixtral top-k gate (PORTED: transformers' MixtralSparseMoeBlock routing, see module docstring)
# ---------------------------------------------------------------------------------------------------------------------
def mixtral_sparse_moe_block(hidden_states, gate_weight, experts, top_k):
    """Port of transformers.models.mixtral.modeling_mixtral.MixtralSparseMoeBlock.forward (eval mode, no jitter), its
    experts being MixtralBlockSparseTop2MLP: w2(silu(w1 x) * w3 x), all bias-free. Returns everything C# checks."""
    b, s, d = hidden_states.shape
    x = hidden_states.reshape(-1, d)
    router_logits = x @ gate_weight.t()
    probs = F.softmax(router_logits, dim=1, dtype=torch.float)
    weights, selected = torch.topk(probs, top_k, dim=-1)
    weights = weights / weights.sum(dim=-1, keepdim=True)
    weights = weights.to(x.dtype)
    final = torch.zeros(b * s, d, dtype=x.dtype)
    mask = F.one_hot(selected, num_classes=gate_weight.shape[0]).permute(2, 1, 0)  # [E, k, tokens]
    for e in range(gate_weight.shape[0]):
        slot, tok = torch.where(mask[e])
        if tok.numel() == 0:
            continue
        w1, w2, w3 = experts[e]
        xe = x[tok]
        ye = (F.silu(xe @ w1.t()) * (xe @ w3.t())) @ w2.t()
        final.index_add_(0, tok, ye * weights[tok, slot, None])
    dense = torch.zeros_like(probs).scatter(-1, selected, weights)
    return router_logits, probs, selected, weights, dense, final.reshape(b, s, d)


def mixtral_cases():
    g = torch.Generator().manual_seed(4242)
    hidden = torch.randn(2, 3, 5, generator=g)
    gate = torch.randn(4, 5, generator=g)
    experts = [(0.5 * torch.randn(7, 5, generator=g), 0.5 * torch.randn(5, 7, generator=g),
                0.5 * torch.randn(7, 5, generator=g)) for _ in range(4)]
    logits, probs, selected, weights, dense, output = mixtral_sparse_moe_block(hidden, gate, experts, 2)
    srt = probs.sort(dim=-1, descending=True).values
    assert torch.all(srt[:, 1] - srt[:, 2] > 1e-3), "top-2 boundary too close to a tie"
    ins = {"in.hidden_states": hidden, "in.gate.weight": gate}
    for e, (w1, w2, w3) in enumerate(experts):
        ins[f"in.experts.{e}.w1.weight"] = w1
        ins[f"in.experts.{e}.w2.weight"] = w2
        ins[f"in.experts.{e}.w3.weight"] = w3
    out = {"out.router_logits": logits, "out.routing_probs": probs, "out.selected_experts": selected,
           "out.routing_weights": weights, "out.routing_weights_dense": dense, "out.output": output}
    return [dict(
        name="mixtral_moe_gate", method="mixtral_moe_upscaling / mixtral_moe_merging (block_sparse_moe routing)",
        fusionbench=["PORTED (transformers is not installed): MixtralSparseMoeBlock.forward routing as in "
                     "huggingface/transformers src/transformers/models/mixtral/modeling_mixtral.py, the block "
                     "FusionBench's MixtralUpscalingAlgorithm / MixtralMoEMergingAlgorithm build",
                     "read: fusion_bench/method/mixture_of_experts/mixtral_upcycling.py, mixtral_merging.py"],
        parameters={"num_experts": 4, "experts_per_token": 2},
        description=("Tokens x = hidden_states.view(-1, 5) (6 tokens). router_logits = x @ gate.weight^T [6, 4] (gate "
                     "bias-free); probs = softmax(router_logits, dim=1) computed in float32; (w, selected) = topk(probs, "
                     "k=2) (descending); w = w / w.sum(-1) (Mixtral always renormalises; equivalently softmax over the "
                     "k selected logits); output[token] = sum_j w[token, j] * expert_{selected[token, j]}(x[token]), "
                     "expert_e(x) = w2_e(silu(w1_e x) * w3_e x), all Linear without bias (Mixtral/Llama SwiGLU MLP: "
                     "w1 = gate_proj, w3 = up_proj, w2 = down_proj in _convert_mlp), accumulated with index_add_ "
                     "expert by expert. out.routing_weights_dense scatters w into [6, 4] (0 for unselected experts). "
                     "No tie is within 1e-3 at the top-2 boundary. FusionBench's gate initialisation: NONE. "
                     "MixtralUpscalingAlgorithm._run builds MixtralModel(config) inside transformers' "
                     "no_init_weights(...) and upscale_to_mixtral_model copies embed_tokens, norm, input/post-attention "
                     "layernorms and every expert's w1/w2/w3 (all experts = the dense MLP) but never block_sparse_moe.gate; "
                     "MixtralMoEMergingAlgorithm (num_experts = len(modelpool)) then overwrites expert e of every layer "
                     "with model e's MLP, gate again untouched; attention weights are not copied either in the code read. "
                     "Under no_init_weights recent transformers replace torch.nn.init functions by no-ops, so the gate "
                     "(and anything not copied) holds whatever torch.empty allocated: undefined values, meant to be "
                     "trained afterwards. There is therefore no FusionBench gate value to match; a C# seeded init is a "
                     "necessary deviation."),
        tensors=(ins, out))]


# ---------------------------------------------------------------------------------------------------------------------
# 6. Depth upscaling
# ---------------------------------------------------------------------------------------------------------------------
def depth_upscaling_cases(fb):
    g = torch.Generator().manual_seed(99)
    layers = nn.ModuleList([nn.Linear(3, 3) for _ in range(4)])
    with torch.no_grad():
        for i, layer in enumerate(layers):
            layer.weight.copy_(torch.randn(3, 3, generator=g) + 10 * i)  # distinct per layer
            layer.bias.copy_(torch.randn(3, generator=g))
    spec = [0, 1, 1, "range(2,4)", 3]
    host = types.SimpleNamespace(layer_indices=spec)
    new = fb.depth_upscaling.DepthUpscalingAlgorithm.run(host, layers)
    source = []
    for j, layer in enumerate(new):
        src = [i for i, old in enumerate(layers) if torch.equal(old.weight, layer.weight) and torch.equal(old.bias, layer.bias)]
        assert len(src) == 1 and layer is not layers[src[0]]
        source.append(src[0])
    assert new[1] is not new[2]
    ins = sd_out("in.layers.", layers)
    out = sd_out("out.layers.", new)
    out["out.source_index"] = torch.tensor(source, dtype=torch.int64)
    return [dict(
        name="depth_upscaling", method="depth_upscaling",
        fusionbench=["fusion_bench/method/depth_upscaling/depth_upscaling.py::DepthUpscalingAlgorithm.run"],
        parameters={"layer_indices": spec},
        description=("Input: an nn.ModuleList of 4 Linear(3, 3) layers (in.layers.<i>.weight/bias). layer_indices entries: "
                     "an int is appended as is; a str is Python-eval'ed and the resulting iterable extended "
                     "(here 'range(2,4)' -> 2, 3); anything else raises ValueError. Output: nn.ModuleList([deepcopy("
                     "model[i]) for i in parsed]) -> source indices [0, 1, 1, 2, 3, 3] (out.source_index). Every output "
                     "layer is a deep copy (no sharing with the input nor between duplicates). No bounds check of its "
                     "own: indexing is nn.ModuleList's (negative indices count from the end; out of range raises "
                     "IndexError). The algorithm works on a bare ModuleList (the layer stack), not on a whole model."),
        tensors=(ins, out))]


# ---------------------------------------------------------------------------------------------------------------------
# 7. Model recombination
# ---------------------------------------------------------------------------------------------------------------------
class TracingRandom(random.Random):
    """random.Random that logs getrandbits calls (overriding getrandbits makes Random use _randbelow_with_getrandbits
    through it), to replay FusionBench's shuffle calls step by step."""

    def __init__(self, seed):
        self.trace = []
        super().__init__(seed)

    def getrandbits(self, k):
        v = super().getrandbits(k)
        self.trace.append((k, v))
        return v


def rng_trace(seed, units, n_models):
    """Replays, on a private generator, the shuffle calls FusionBench makes on the global one after random.seed(seed):
    one random.shuffle of an n_models-list per unit, in unit order."""
    rng = TracingRandom(seed)
    perms = []
    for _ in range(units):
        perm = list(range(n_models))
        rng.shuffle(perm)
        perms.append(perm)
    raw = random.Random(seed)
    first = [raw.getrandbits(32) for _ in range(8)]
    return perms, rng.trace, first


def recombination_cases(fb):
    from omegaconf import OmegaConf
    Algo = fb.recombination.ModelRecombinationAlgorithm
    n_models, cases = 3, []
    rng_text = ("RNG: FusionBench does not seed here; the program's seed (fabric_fusion_program: L.seed_everything(seed) "
                "-> random.seed(seed), among others) seeds Python's global `random`, and nothing else draws from it "
                "before the algorithm in this harness: random.seed(seed) is called right before run(). Python's "
                "random.seed(int): MT19937 init_by_array with key = 32-bit little-endian words of abs(seed) ([0] for 0, "
                "[42] for 42). For each unit in order, random.shuffle(list of the 3 models' units) = Fisher-Yates from "
                "the end: for i in (2, 1): j = _randbelow(i + 1); swap(x[i], x[j]); _randbelow(n): k = n.bit_length() "
                "(NOT (n-1).bit_length(): n=3 -> k=2, n=2 -> k=2), r = getrandbits(k) = genrand_uint32() >> (32 - k), "
                "redrawn while r >= n. out.rng.getrandbits_k / out.rng.getrandbits_value list every getrandbits call "
                "in order; out.rng.mt_uint32_first8 = the first 8 genrand_uint32 outputs after random.seed(seed); "
                "out.rng.perm[u] = the shuffled [0, 1, 2] for unit u (recombined model m takes unit u from model "
                "perm[u][m]). ")
    for seed in [0, 42]:
        # --- nn.ModuleList path: 3 models x 4 layers, units = layers
        def modulelists():
            g = torch.Generator().manual_seed(5)
            ms = []
            for m in range(n_models):
                ml = nn.ModuleList([nn.Linear(2, 2) for _ in range(4)])
                with torch.no_grad():
                    for l, layer in enumerate(ml):
                        layer.weight.copy_(torch.randn(2, 2, generator=g))
                        layer.bias.fill_(10 * m + l)  # identifies the source
                ms.append(ml)
            return ms

        models = modulelists()
        ins = {}
        for m, ml in enumerate(models):
            ins.update(sd_out(f"in.model_{m}.", ml))
        results = {}
        for return_modelpool in [True, False]:
            src_models = modulelists() if not return_modelpool else models
            host = types.SimpleNamespace(config=OmegaConf.create({"return_modelpool": return_modelpool}))
            random.seed(seed)
            results[return_modelpool] = (src_models, Algo.run(host, StubModelPool(
                {f"model_{m}": ml for m, ml in enumerate(src_models)})))
        src_models, pool = results[True]
        source = torch.tensor([[next(k for k in range(n_models) if pool.load_model(f"model_{m}")[l] is src_models[k][l])
                                for l in range(4)] for m in range(n_models)], dtype=torch.int64)
        perms, trace, first = rng_trace(seed, 4, n_models)
        assert torch.equal(source, torch.tensor(perms).t()), (source, perms)
        first_src_models, first_model = results[False]
        first_source = [next(k for k in range(n_models) if first_model[l] is first_src_models[k][l]) for l in range(4)]
        assert first_source == source[0].tolist()
        out = {"out.source_index": source, "out.returned_source_index": torch.tensor(first_source, dtype=torch.int64),
               "out.rng.perm": torch.tensor(perms, dtype=torch.int64),
               "out.rng.getrandbits_k": torch.tensor([k for k, _ in trace], dtype=torch.int64),
               "out.rng.getrandbits_value": torch.tensor([v for _, v in trace], dtype=torch.int64),
               "out.rng.mt_uint32_first8": torch.tensor(first, dtype=torch.int64)}
        for m in range(n_models):
            out.update(sd_out(f"out.pool.model_{m}.", pool.load_model(f"model_{m}")))
        cases.append(dict(
            name=f"model_recombination_modulelist_seed{seed}", method="model_recombination",
            fusionbench=["fusion_bench/method/model_recombination.py::ModelRecombinationAlgorithm.run, recombine_modellist"],
            parameters={"return_modelpool": [True, False], "seed": seed},
            description=("nn.ModuleList path (recombine_modellist): 3 models (model_0..model_2, pool order) x 4 layers "
                         "(Linear(2, 2); bias filled with 10*model + layer to identify the source). For layer_idx 0..3: "
                         "shuffled = [m[layer_idx] for m in models]; random.shuffle(shuffled); new model m gets "
                         "shuffled[m]. out.source_index[m, l] = source model of new model m's layer l (= perm[l][m]); "
                         "layers are SHARED by reference with the input models (no copy). return_modelpool true returns "
                         "the new pool (names kept: model_0..); false returns only new model_0 "
                         "(out.returned_source_index, from a separate run with the same seed: identical to row 0). "
                         + rng_text),
            tensors=(ins, out)))

        # --- nn.Module path: 3 tiny MLPs, units = state-dict keys
        def mlps():
            g = torch.Generator().manual_seed(6)
            ms = []
            for m in range(n_models):
                mod = TinyClipMlp(3, 4)
                with torch.no_grad():
                    for p in mod.parameters():
                        p.copy_(torch.randn(p.shape, generator=g))
                ms.append(mod)
            return ms

        originals = mlps()
        keys = list(originals[0].state_dict().keys())
        ins = {}
        for m, mod in enumerate(originals):
            ins.update(sd_out(f"in.model_{m}.", mod))
        random.seed(seed)
        host = types.SimpleNamespace(config=OmegaConf.create({"return_modelpool": True}))
        pool = Algo.run(host, StubModelPool({f"model_{m}": mod for m, mod in enumerate(mlps())}))
        random.seed(seed)
        host = types.SimpleNamespace(config=OmegaConf.create({"return_modelpool": False}))
        first = Algo.run(host, StubModelPool({f"model_{m}": mod for m, mod in enumerate(mlps())}))
        perms, trace, first8 = rng_trace(seed, len(keys), n_models)
        effective = torch.zeros(n_models, len(keys), dtype=torch.int64)
        for m in range(n_models):
            sd = pool.load_model(f"model_{m}").state_dict()
            for u, k in enumerate(keys):
                effective[m, u] = next(j for j in range(n_models) if torch.equal(sd[k], originals[j].state_dict()[k]))
        # the in-place aliasing rule: for m in order, value[m] = CURRENT value[perm[m]]
        expect = torch.zeros_like(effective)
        for u in range(len(keys)):
            cur = list(range(n_models))
            for m in range(n_models):
                cur[m] = cur[perms[u][m]]
            expect[:, u] = torch.tensor(cur)
        assert torch.equal(effective, expect), (effective, expect)
        out = {"out.intended_source_index": torch.tensor(perms, dtype=torch.int64).t().contiguous(),
               "out.effective_source_index": effective,
               "out.rng.perm": torch.tensor(perms, dtype=torch.int64),
               "out.rng.getrandbits_k": torch.tensor([k for k, _ in trace], dtype=torch.int64),
               "out.rng.getrandbits_value": torch.tensor([v for _, v in trace], dtype=torch.int64),
               "out.rng.mt_uint32_first8": torch.tensor(first8, dtype=torch.int64)}
        for m in range(n_models):
            out.update(sd_out(f"out.pool.model_{m}.", pool.load_model(f"model_{m}")))
        out.update(sd_out("out.returned.", first))
        assert all(torch.equal(first.state_dict()[k], pool.load_model("model_0").state_dict()[k]) for k in keys)
        cases.append(dict(
            name=f"model_recombination_module_seed{seed}", method="model_recombination",
            fusionbench=["fusion_bench/method/model_recombination.py::ModelRecombinationAlgorithm.run, recombine_state_dict"],
            parameters={"return_modelpool": [True, False], "seed": seed},
            description=("nn.Module path (recombine_state_dict): 3 MLPs fc1 [4, 3] + bias, fc2 [3, 4] + bias; units = "
                         f"state-dict keys in order {keys}. state_dicts = [m.state_dict() for m in models] (tensors "
                         "SHARING storage with the models' parameters); for each key: shuffled = [sd[key] for sd in "
                         "state_dicts]; random.shuffle(shuffled); new_state_dict[m][key] = shuffled[m]; then for m = "
                         "0, 1, 2 in order models[m].load_state_dict(new_state_dict[m]), which copies IN PLACE. Because "
                         "the shuffled tensors alias the parameters being overwritten, the result is not the intended "
                         "permutation: per key, for m in order, value[m] = CURRENT value[perm[m]] (a source already "
                         "overwritten yields its new value). out.intended_source_index[m, u] = perm[u][m]; "
                         "out.effective_source_index[m, u] = which original model's values new model m really holds "
                         "(row 0 always equals the intended one; rows 1, 2 can repeat a source and lose another). "
                         "out.pool.* = tensors of the returned pool (return_modelpool true); out.returned.* = the model "
                         "returned with return_modelpool false (new model_0, separate run, same seed). " + rng_text),
            tensors=(ins, out)))
    return cases


# ---------------------------------------------------------------------------------------------------------------------
def main():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    root = fusionbench_root()
    fb = install_stubs_and_load(root)
    shared = make_shared_model()
    save_safetensors(os.path.join(HERE, "model.safetensors"), shared)

    cases = []
    cases += fisher_cases(fb, shared)
    cases += regmean_cases(fb, shared)
    cases += adamerging_cases(fb, shared)
    cases += wemoe_cases(fb)
    cases += mixtral_cases()
    cases += depth_upscaling_cases(fb)
    cases += recombination_cases(fb)

    entries = []
    for c in cases:
        ins, outs = c.pop("tensors")
        tensors = {**ins, **outs}
        file = c["name"] + ".safetensors"
        save_safetensors(os.path.join(HERE, file), tensors)
        entry = {"name": c["name"], "method": c["method"], "file": file}
        if "model_file" in c:
            entry["model_file"] = c["model_file"]
        entry.update(parameters=c["parameters"], fusionbench=c["fusionbench"], description=c["description"],
                     inputs=sorted(ins), outputs=sorted(outs))
        entries.append(entry)

    manifest = {
        "generator": "generate_fusionbench_golden.py",
        "fusionbench_commit": FUSIONBENCH_COMMIT,
        "fusionbench_files_sha256": dict(sorted(FB_FILES.items())),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "dtype": "float32 (indices int64)",
        "model": {
            "file": "model.safetensors",
            "description": ("Encoder: features = fc2(gelu(fc1(x))) with exact (erf) GELU, fc1.weight [8, 6], fc1.bias [8], "
                            "fc2.weight [5, 8], fc2.bias [5]; tensors '<who>.<param>' for who in pretrained, task_a, "
                            "task_b, task_c (fine-tuned = pretrained + 0.1*randn). Task t's logits = features @ "
                            "head.<t>^T, head [3, 5] fixed (not merged). train.<t> [24, 6], test.<t> [16, 6]. Pool "
                            "order: task_a, task_b, task_c."),
        },
        "cases": entries,
    }
    with open(os.path.join(HERE, "cases.json"), "w") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
    print(f"wrote model.safetensors, {len(entries)} cases and cases.json to {HERE}")


if __name__ == "__main__":
    main()

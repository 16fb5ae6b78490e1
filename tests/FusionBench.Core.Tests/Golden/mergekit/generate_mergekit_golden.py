#!/usr/bin/python3
"""Golden files for FusionBench.Core's MergeKit-compatible merging, computed by MergeKit's own code.

Run with Debian's interpreter (python3-torch, python3-numpy, python3-yaml, python3-networkx, python3-tqdm,
python3-click) and a MergeKit source tree:

    MERGEKIT_SRC=/path/to/mergekit /usr/bin/python3 generate_mergekit_golden.py

(MERGEKIT_SRC is the directory that holds mergekit/ and examples/; the files were made from arcee-ai/mergekit at
commit a6e402884ba9bc30da7f23e8304a35f19485de95.) It writes, next to this file:

* models/{base,model_a,model_b,model_c}/: config.json (LlamaForCausalLM, 4 layers, hidden 16, intermediate 32, 4
  heads, vocab 48) and model.safetensors with Hugging Face Llama tensor names. These are inputs, made here with a
  fixed seed, independent of MergeKit: base, and three fine-tunes (base + deltas of different scales and signs;
  model_a and model_b have ~15% of their entries exactly equal to base, model_a's model.layers.1.input_layernorm.weight
  is base's exactly; model_c is stored in BF16, the others in F32).
* configs/methods/<case>.yml: one MergeKit YAML config per method case (written here).
* configs/<example>.yml: MergeKit's own examples/<example>.yml with only the model names replaced by the tiny models
  and layer_range scaled to 4 layers; configs/<example>.float32.yml: the same with `dtype: float32`.
* expected/<case>/model.safetensors + config.json: the merged model, as MergeKit writes it; expected/<case>/
  parameters.json: for every output tensor, the global and per-model parameter values MergeKit's planner evaluated
  for it (gradients and filters resolved), in planning order.
* cases.json: mergekit_commit, torch version, and the cases.

How MergeKit is used, and what is *not* MergeKit's:

* MergeKit is never copied. MERGEKIT_SRC is put first on sys.path and its modules are imported under their real names
  (mergekit.merge, mergekit.config, ...). Packages Debian lacks (pydantic 2, immutables, transformers, safetensors,
  tokenizers, huggingface_hub, peft, accelerate) are replaced by the stand-ins of _mergekit_stubs.py (its docstring
  says exactly what each does); none of them does merging arithmetic. Nothing is ported: torch 1.13 has every
  function MergeKit's merge methods call.
* Every case runs MergeKit's whole pipeline: MergeConfiguration.model_validate(yaml) -> mergekit.merge.run_merge with
  MergeOptions(device="cpu", copy_tokenizer=False, write_model_card=False, quiet=True). That is MergeKit's config
  parsing, architecture lookup (mergekit/_data/architectures/llama.json), MergePlanner (ConfigReader /
  evaluate_setting for gradients and filters), its task graph Executor, the merge methods' Task.execute, and its
  TensorWriter (whose safetensors.torch.save_file is the stub's writer). Paths in the configs are relative to this
  folder; the generator chdirs here.
* Observation only: each merge method class's make_task is wrapped to record the parameters the planner passes it
  (parameters.json). The values are MergeKit's; the wrapper changes nothing.
* The one deliberate exception, for reproducible randomness (dare_linear, dare_ties, della, della_linear): MergeKit
  draws its masks with torch.bernoulli from torch's global RNG, never reseeded. Here mergekit.merge_methods.
  generalized_task_arithmetic's get_task_vectors and sparsify are wrapped (module globals) so that right before the
  sparsifier of task vector i of tensor `name` runs, torch.manual_seed(fnv_seed(seed, i, name)) is called:
  i = the task vector's index in MergeKit's own order (the config's models in order, the base model skipped),
  name = the output tensor name, seed = the case's `local_parameters.seed` (FusionBench.Core's parameter, not
  MergeKit's). fnv_seed is FusionBench.Core's DareSeed: FNV-1a 64 of f"{seed}/{i}/{name}" (UTF-8), top bit cleared.
  check_bernoulli() verifies, in this torch, that torch.bernoulli(p) then equals (torch.rand(p.shape) < p) drawn after
  the same manual_seed, for float32 p (constant, as DARE's, and per-entry, as DELLA's).
* Compute dtype: the method cases say `dtype: float32`, so MergeKit's LoadTensor casts every input (model_c's BF16
  too) to float32 and the merge runs in float32 (slerp computes in numpy float32, as MergeKit does). The example
  configs keep their own dtype (float16 in all five) and also come as *.float32 variants.
"""
import contextlib
import io
import json
import logging
import os
import shutil
import struct
import sys
import tempfile

import torch
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import _mergekit_stubs  # noqa: E402

MERGEKIT_COMMIT = "a6e402884ba9bc30da7f23e8304a35f19485de95"
MODELS = ["base", "model_a", "model_b", "model_c"]
LAYERS, HIDDEN, INTER, HEADS, VOCAB = 4, 16, 32, 4, 48


# --------------------------------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------------------------------

def llama_config(dtype):
    return {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": HIDDEN,
            "intermediate_size": INTER, "num_hidden_layers": LAYERS, "num_attention_heads": HEADS,
            "num_key_value_heads": HEADS, "vocab_size": VOCAB, "max_position_embeddings": 64, "rms_norm_eps": 1e-6,
            "hidden_act": "silu", "tie_word_embeddings": False, "torch_dtype": dtype}


def llama_shapes():
    shapes = {"model.embed_tokens.weight": (VOCAB, HIDDEN)}
    for i in range(LAYERS):
        p = f"model.layers.{i}."
        for proj in ["q_proj", "k_proj", "v_proj", "o_proj"]:
            shapes[p + f"self_attn.{proj}.weight"] = (HIDDEN, HIDDEN)
        shapes[p + "mlp.gate_proj.weight"] = (INTER, HIDDEN)
        shapes[p + "mlp.up_proj.weight"] = (INTER, HIDDEN)
        shapes[p + "mlp.down_proj.weight"] = (HIDDEN, INTER)
        shapes[p + "input_layernorm.weight"] = (HIDDEN,)
        shapes[p + "post_attention_layernorm.weight"] = (HIDDEN,)
    shapes["model.norm.weight"] = (HIDDEN,)
    shapes["lm_head.weight"] = (VOCAB, HIDDEN)
    return shapes


def make_models():
    g = torch.Generator().manual_seed(20240617)
    base = {}
    for name, shape in llama_shapes().items():
        if name.endswith("layernorm.weight") or name == "model.norm.weight":
            base[name] = 1 + 0.1 * torch.randn(shape, generator=g)
        else:
            base[name] = (0.5 if "embed" in name or "lm_head" in name else 0.25) * torch.randn(shape, generator=g)
    a, b, c = {}, {}, {}
    for name, v in base.items():
        da = 0.02 * torch.randn(v.shape, generator=g)
        # model_b: partly anti-correlated with model_a (sign conflicts for TIES), larger scale.
        db = -0.6 * da + 0.03 * torch.randn(v.shape, generator=g)
        dc = 0.05 * torch.randn(v.shape, generator=g)
        da[torch.rand(v.shape, generator=g) < 0.15] = 0
        db[torch.rand(v.shape, generator=g) < 0.15] = 0
        if name == "model.layers.1.input_layernorm.weight":
            da.zero_()
        a[name], b[name] = v + da, v + db
        c[name] = (v + dc).to(torch.bfloat16)
    return {"base": base, "model_a": a, "model_b": b, "model_c": c}


def write_if_changed(path, data):
    """Inputs are rewritten only if their bytes would change (they never should: make_models is seeded)."""
    if os.path.exists(path):
        with open(path, "rb") as f:
            if f.read() == data:
                return
        print(f"warning: {os.path.relpath(path, HERE)} changed")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def write_models(models):
    for name, sd in models.items():
        dtype = "bfloat16" if name == "model_c" else "float32"
        write_if_changed(os.path.join(HERE, "models", name, "config.json"),
                         (json.dumps(llama_config(dtype), indent=2) + "\n").encode())
        write_if_changed(os.path.join(HERE, "models", name, "model.safetensors"), _mergekit_stubs.safetensors_bytes(sd))


def fnv_seed(seed, i, name):
    """FusionBench.Core's per-tensor seed (DareSeed): FNV-1a 64 of "seed/i/name", top bit cleared."""
    h = 14695981039346656037
    for byte in f"{seed}/{i}/{name}".encode():
        h ^= byte
        h = (h * 1099511628211) % (1 << 64)
    return h & 0x7FFFFFFFFFFFFFFF


# --------------------------------------------------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------------------------------------------------

def m(name, **params):
    return {"model": f"models/{name}", **({"parameters": params} if params else {})}


ABC = ["model_a", "model_b", "model_c"]

# (case, config dict without dtype, local parameters)
METHOD_CASES = [
    ("linear", {"merge_method": "linear", "models": [m("model_a", weight=0.5), m("model_b", weight=0.3), m("model_c", weight=0.2)]}, {}),
    ("linear_unnormalized", {"merge_method": "linear", "parameters": {"normalize": False},
                             "models": [m("model_a", weight=1.0), m("model_b", weight=-0.5), m("model_c", weight=0.7)]}, {}),
    ("task_arithmetic", {"merge_method": "task_arithmetic", "base_model": "models/base",
                         "models": [m("model_a", weight=0.5), m("model_b", weight=0.3), m("model_c", weight=-0.2)]}, {}),
    ("task_arithmetic_normalize_lambda", {"merge_method": "task_arithmetic", "base_model": "models/base",
                                          "parameters": {"normalize": True, "lambda": 0.8},
                                          "models": [m("model_a", weight=0.6), m("model_b", weight=0.9), m("model_c", weight=0.5)]}, {}),
    ("ties", {"merge_method": "ties", "base_model": "models/base",
              "models": [m("model_a", weight=1.0, density=0.7), m("model_b", weight=0.8, density=0.5), m("model_c", weight=0.5, density=0.3)]}, {}),
    ("ties_int8_mask_unnormalized", {"merge_method": "ties", "base_model": "models/base",
                                     "parameters": {"normalize": False, "int8_mask": True, "lambda": 1.2},
                                     "models": [m("model_a", weight=0.7, density=0.6), m("model_b", weight=1.0, density=0.4), m("model_c", weight=0.3, density=0.9)]}, {}),
    ("ties_rescale", {"merge_method": "ties", "base_model": "models/base", "parameters": {"rescale": True},
                      "models": [m("model_a", weight=1.0, density=0.5), m("model_b", weight=0.5, density=0.3), m("model_c", weight=0.8, density=0.6)]}, {}),
    ("dare_linear", {"merge_method": "dare_linear", "base_model": "models/base",
                     "models": [m("model_a", weight=0.6, density=0.6), m("model_b", weight=0.4, density=0.5), m("model_c", weight=0.3, density=0.8)]}, {"seed": 7}),
    ("dare_ties", {"merge_method": "dare_ties", "base_model": "models/base",
                   "models": [m("model_a", weight=1.0, density=0.6), m("model_b", weight=0.7, density=0.4), m("model_c", weight=0.5, density=0.7)]}, {"seed": 11}),
    ("dare_ties_no_rescale_normalize", {"merge_method": "dare_ties", "base_model": "models/base",
                                        "parameters": {"rescale": False, "normalize": True},
                                        "models": [m("model_a", weight=0.9, density=0.5), m("model_b", weight=0.6, density=0.5), m("model_c", weight=0.4, density=0.3)]}, {"seed": 3}),
    # gamma * numel < 1 for the 16-entry norms (0.05 * 16 = 0.8): n_top = 0, and MergeKit's indices[n_bot:-0] is empty,
    # so those task vectors become all zero (see the spec).
    ("breadcrumbs", {"merge_method": "breadcrumbs", "base_model": "models/base",
                     "models": [m("model_a", weight=1.0, density=0.8, gamma=0.05), m("model_b", weight=0.6, density=0.7, gamma=0.1),
                                m("model_c", weight=0.4, density=0.9, gamma=0.01)]}, {}),
    ("breadcrumbs_ties", {"merge_method": "breadcrumbs_ties", "base_model": "models/base", "parameters": {"normalize": True, "rescale": True},
                          "models": [m("model_a", weight=1.0, density=0.6, gamma=0.1), m("model_b", weight=0.8, density=0.8, gamma=0.07),
                                     m("model_c", weight=0.5, density=0.5, gamma=0.0625)]}, {}),
    ("della", {"merge_method": "della", "base_model": "models/base", "parameters": {"lambda": 1.1},
               "models": [m("model_a", weight=1.0, density=0.6, epsilon=0.1), m("model_b", weight=0.7, density=0.5, epsilon=0.2),
                          m("model_c", weight=0.5, density=0.7, epsilon=0.15)]}, {"seed": 5}),
    ("della_linear", {"merge_method": "della_linear", "base_model": "models/base",
                      "models": [m("model_a", weight=0.5, density=0.4, epsilon=0.3), m("model_b", weight=0.3, density=0.6, epsilon=0.1),
                                 m("model_c", weight=0.2, density=0.5)]}, {"seed": 9}),
    ("model_stock", {"merge_method": "model_stock", "base_model": "models/base", "models": [m(n) for n in ABC]}, {}),
    ("model_stock_filter_wise", {"merge_method": "model_stock", "base_model": "models/base", "parameters": {"filter_wise": True},
                                 "models": [m(n) for n in ABC]}, {}),
    ("nuslerp", {"merge_method": "nuslerp", "models": [m("model_a", weight=0.3), m("model_b", weight=0.7)]}, {}),
    ("nuslerp_rows", {"merge_method": "nuslerp", "parameters": {"nuslerp_flatten": False},
                      "models": [m("model_a", weight=0.6), m("model_b", weight=0.4)]}, {}),
    ("nuslerp_row_wise", {"merge_method": "nuslerp", "parameters": {"nuslerp_flatten": False, "nuslerp_row_wise": True},
                          "models": [m("model_a", weight=0.6), m("model_b", weight=0.4)]}, {}),
    ("nuslerp_base", {"merge_method": "nuslerp", "base_model": "models/base",
                      "models": [m("model_a", weight=1.0), m("model_c", weight=3.0)]}, {}),
    ("nuslerp_base_row_wise", {"merge_method": "nuslerp", "base_model": "models/base",
                               "parameters": {"nuslerp_flatten": False, "nuslerp_row_wise": True},
                               "models": [m("model_b", weight=0.25), m("model_c", weight=0.75)]}, {}),
    ("karcher", {"merge_method": "karcher", "models": [m(n) for n in ABC]}, {}),
    # With a base_model, MergeKit's planner adds the base to the inputs, so karcher averages four models.
    ("karcher_with_base", {"merge_method": "karcher", "base_model": "models/base", "parameters": {"max_iter": 20, "tol": 1e-6},
                           "models": [m(n) for n in ABC]}, {}),
    ("slerp", {"merge_method": "slerp", "base_model": "models/model_a", "parameters": {"t": 0.3},
               "models": [m("model_a"), m("model_b")]}, {}),
    ("slerp_gradient", {"merge_method": "slerp", "base_model": "models/model_a",
                        "parameters": {"t": [{"filter": "self_attn", "value": [0, 0.5, 0.3, 0.7, 1]},
                                             {"filter": "mlp", "value": [1, 0.5, 0.7, 0.3, 0]}, {"value": 0.5}]},
                        "models": [m("model_a"), m("model_c")]}, {}),
]

# MergeKit example -> replacements of its model names (and layer ranges) for the tiny models.
EXAMPLES = {
    "linear": [("psmathur/orca_mini_v3_13b", "models/model_a"), ("WizardLM/WizardLM-13B-V1.2", "models/model_b"),
               ("garage-bAInd/Platypus2-13B", "models/model_c")],
    "ties": [("psmathur/orca_mini_v3_13b", "models/model_a"), ("garage-bAInd/Platypus2-13B", "models/model_b"),
             ("WizardLM/WizardMath-13B-V1.0", "models/model_c"), ("TheBloke/Llama-2-13B-fp16", "models/base")],
    "bio-merge": [("mistralai/Mistral-7B-Instruct-v0.2", "models/model_a"), ("BioMistral/BioMistral-7B", "models/model_b"),
                  ("mistralai/Mistral-7B-v0.1", "models/base")],
    "gradient-slerp": [("psmathur/orca_mini_v3_13b", "models/model_a"), ("garage-bAInd/Platypus2-13B", "models/model_b"),
                       ("layer_range: [0, 40]", "layer_range: [0, 4]")],
    # 40 layers -> 4: [0, 24] + [20, 40] (44 layers, 4 overlapping) becomes [0, 3] + [2, 4] (5 layers, 1 overlapping).
    "orcamini-platy-44layer": [("psmathur/orca_mini_v3_13b", "models/model_a"), ("garage-bAInd/Platypus2-13B", "models/model_b"),
                               ("layer_range: [0, 24]", "layer_range: [0, 3]"), ("layer_range: [20, 40]", "layer_range: [2, 4]")],
}


def check_bernoulli():
    """torch.bernoulli(p) after manual_seed(s) == (torch.rand(p.shape) < p) after manual_seed(s), float32 CPU."""
    results = {}
    for label, p in [("constant_0.6_48x16", torch.full((48, 16), 0.6)), ("constant_0.3_1000x37", torch.full((1000, 37), 0.3)),
                     ("per_entry_32x16", torch.rand(32, 16, generator=torch.Generator().manual_seed(1)) * 0.6 + 0.2),
                     ("per_entry_1x16", torch.linspace(0.1, 0.9, 16).unsqueeze(0))]:
        same = True
        for s in [0, 1, 7, fnv_seed(7, 0, "model.embed_tokens.weight"), fnv_seed(5, 2, "lm_head.weight")]:
            torch.manual_seed(s)
            a = torch.bernoulli(p)
            torch.manual_seed(s)
            b = (torch.rand(p.shape) < p).to(p.dtype)
            torch.manual_seed(s)
            c = (torch.rand_like(p) < p).to(p.dtype)
            g = torch.Generator().manual_seed(s)
            d = torch.bernoulli(p, generator=g)
            same = same and torch.equal(a, b) and torch.equal(a, c) and torch.equal(a, d)
        results[label] = same
    return results


@contextlib.contextmanager
def seeded_sparsification(gta, seed):
    orig_get, orig_sparsify = gta.get_task_vectors, gta.sparsify
    owners = {}

    def get_task_vectors(weight_info, base_model, tensors, tensor_parameters):
        tvs, base = orig_get(weight_info, base_model, tensors, tensor_parameters)
        for i, tv in enumerate(tvs):
            owners[id(tv["delta"])] = (i, weight_info.name)
        return tvs, base

    def sparsify(tensor, *args, **kwargs):
        i, name = owners.pop(id(tensor))
        torch.manual_seed(fnv_seed(seed, i, name))
        return orig_sparsify(tensor, *args, **kwargs)

    gta.get_task_vectors, gta.sparsify = get_task_vectors, sparsify
    try:
        yield
    finally:
        gta.get_task_vectors, gta.sparsify = orig_get, orig_sparsify


@contextlib.contextmanager
def recording_parameters(registry, log):
    """Wrap each merge method class's make_task to log the parameters MergeKit's planner evaluated (observation only)."""
    originals = {}
    for method in registry.values():
        cls = type(method)
        if cls in originals:
            continue
        originals[cls] = cls.__dict__["make_task"]

        def make_task(self, *args, __orig=originals[cls], **kwargs):
            w = kwargs["output_weight"]
            tp = kwargs.get("tensor_parameters")
            log.append({
                "tensor": w.name,
                "base_model": model_name(kwargs.get("base_model")),
                "parameters": plain(dict(kwargs["parameters"].data)) if kwargs.get("parameters") is not None else {},
                "model_parameters": {model_name(k): plain(dict(tp[k].data)) for k in tp} if tp is not None else {},
            })
            return __orig(self, *args, **kwargs)

        cls.make_task = make_task
    try:
        yield
    finally:
        for cls, f in originals.items():
            cls.make_task = f


def model_name(ref):
    return None if ref is None else os.path.basename(str(ref))


def plain(d):
    return {k: (v.value if hasattr(v, "value") else v) for k, v in d.items()}


def read_safetensors(path):
    return _mergekit_stubs._read_safetensors(path)


def run_case(mk, config_text, out_dir, seed=None):
    config = mk["config"].MergeConfiguration.model_validate(yaml.safe_load(config_text))
    options = mk["options"].MergeOptions(device="cpu", copy_tokenizer=False, write_model_card=False, quiet=True)
    log = []
    seeding = seeded_sparsification(mk["gta"], seed) if seed is not None else contextlib.nullcontext()
    with tempfile.TemporaryDirectory() as tmp, seeding, recording_parameters(mk["registry"], log), \
            contextlib.redirect_stderr(io.StringIO()):
        mk["merge"].run_merge(config, tmp, options=options)
        os.makedirs(out_dir, exist_ok=True)
        for f in ["model.safetensors", "config.json"]:
            shutil.copyfile(os.path.join(tmp, f), os.path.join(out_dir, f))
    with open(os.path.join(out_dir, "parameters.json"), "w") as f:
        json.dump(log, f, indent=1)
        f.write("\n")
    return config, log


def load_mergekit():
    src = os.environ.get("MERGEKIT_SRC")
    if not src:
        sys.exit("generate_mergekit_golden.py: set MERGEKIT_SRC to a MergeKit source tree (the directory holding "
                 f"mergekit/ and examples/, arcee-ai/mergekit at {MERGEKIT_COMMIT}).")
    if not os.path.isfile(os.path.join(src, "mergekit", "merge_methods", "generalized_task_arithmetic.py")):
        sys.exit(f"generate_mergekit_golden.py: MERGEKIT_SRC={src} has no mergekit/merge_methods/.")
    _mergekit_stubs.install()
    sys.path.insert(0, os.path.abspath(src))
    import mergekit.config
    import mergekit.merge
    import mergekit.merge_methods.generalized_task_arithmetic as gta
    import mergekit.options
    from mergekit.merge_methods.registry import REGISTERED_MERGE_METHODS
    return src, {"config": mergekit.config, "merge": mergekit.merge, "options": mergekit.options, "gta": gta,
                 "registry": REGISTERED_MERGE_METHODS}


def case_entry(case, config_path, expected, local, dtype):
    """cases.json entry, from the YAML as written (MergeKit's planner rewrites its MergeConfiguration in place)."""
    raw = yaml.safe_load(open(os.path.join(HERE, config_path)))
    if raw.get("models"):
        models = [os.path.basename(x["model"]) for x in raw["models"]]
    else:
        models = [os.path.basename(s["model"]) for sl in raw["slices"] for s in sl["sources"]]
    return {"case": case, "method": raw["merge_method"],
            "base_model": os.path.basename(raw["base_model"]) if raw.get("base_model") else None, "models": models,
            "parameters": raw.get("parameters", {}),
            "model_parameters": {os.path.basename(x["model"]): x.get("parameters", {}) for x in raw.get("models", [])},
            "local_parameters": local, "dtype": dtype, "out_dtype": raw.get("out_dtype"), "config": config_path,
            "expected": expected, "tensor_parameters": os.path.join(os.path.dirname(expected), "parameters.json")}


def main():
    logging.disable(logging.WARNING)
    src, mk = load_mergekit()
    os.chdir(HERE)
    write_models(make_models())
    bern = check_bernoulli()
    assert all(bern.values()), bern

    cases = []
    os.makedirs(os.path.join(HERE, "configs", "methods"), exist_ok=True)
    for case, cfg, local in METHOD_CASES:
        cfg = {**cfg, "dtype": "float32"}
        path = f"configs/methods/{case}.yml"
        text = yaml.safe_dump(cfg, sort_keys=False, default_flow_style=None)
        with open(os.path.join(HERE, path), "w") as f:
            f.write(text)
        run_case(mk, text, os.path.join(HERE, "expected", case), seed=local.get("seed"))
        cases.append(case_entry(case, path, f"expected/{case}/model.safetensors", local, "float32"))

    for example, replacements in EXAMPLES.items():
        with open(os.path.join(src, "examples", f"{example}.yml")) as f:
            text = f.read()
        for old, new in replacements:
            assert old in text, (example, old)
            text = text.replace(old, new)
        dtype = yaml.safe_load(text)["dtype"]
        variants = [(example, text, dtype), (f"{example}.float32", text.replace(f"dtype: {dtype}", "dtype: float32"), "float32")]
        for name, body, dt in variants:
            path = f"configs/{name}.yml"
            with open(os.path.join(HERE, path), "w") as f:
                f.write(body)
            case = f"config_{name}"
            run_case(mk, body, os.path.join(HERE, "expected", case))
            cases.append(case_entry(case, path, f"expected/{case}/model.safetensors", {}, dt))

    with open(os.path.join(HERE, "cases.json"), "w") as f:
        json.dump({"mergekit_commit": MERGEKIT_COMMIT, "torch": torch.__version__,
                   "bernoulli_equals_rand_lt_p": bern,
                   "seed_rule": "torch.manual_seed(FNV-1a-64(f'{seed}/{i}/{tensor}') & 0x7FFFFFFFFFFFFFFF) right before "
                                "task vector i's sparsifier (i: config model order, base skipped)",
                   "cases": cases}, f, indent=1)
        f.write("\n")
    print(f"{len(cases)} cases")


if __name__ == "__main__":
    main()

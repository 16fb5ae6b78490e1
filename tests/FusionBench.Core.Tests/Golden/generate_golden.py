#!/usr/bin/python3
"""Golden files for FusionBench.Core's merging methods, from an independent PyTorch reference.

Run with Debian's interpreter (python3-torch, python3-numpy):  /usr/bin/python3 generate_golden.py
It writes models/*.safetensors (a tiny pretrained model and three fine-tuned ones), expected/*.safetensors (the
merged result of each case) and cases.json (method, parameters, expected file). The reference follows FusionBench's
math as documented in its source (fusion_bench/method/*): whole-model flattening for TIES, kthvalue thresholds,
majority-sign fill, and MergeKit's slerp. The safetensors writer is stdlib + torch, so no extra package is needed.
"""
import json
import math
import os
import struct

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
DTYPES = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64", torch.int64: "I64"}


def save_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, t in tensors.items():
        t = t.contiguous()
        raw = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy().tobytes()
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


def compute(t):
    return t.double() if t.dtype == torch.float64 else t.float()


def float_keys(sd):
    return [k for k, v in sd.items() if v.is_floating_point()]


def finish(pre, merged):
    """Cast merged float tensors back to the pretrained dtypes; copy non-float tensors from the pretrained model."""
    return {k: (merged[k].to(v.dtype) if k in merged else v.clone()) for k, v in pre.items()}


def simple_average(pre, models, **_):
    keys = float_keys(pre)
    return finish(pre, {k: sum(compute(m[k]) for m in models.values()) / len(models) for k in keys})


def weighted_average(pre, models, weights, normalize=True, **_):
    w = torch.tensor(weights, dtype=torch.float64)
    if normalize:
        w = w / w.sum()
    keys = float_keys(pre)
    return finish(pre, {k: sum(float(wi) * compute(m[k]) for wi, m in zip(w, models.values())) for k in keys})


def task_arithmetic(pre, models, scaling_factor, **_):
    keys = float_keys(pre)
    out = {}
    for k in keys:
        tv = sum(compute(m[k]) - compute(pre[k]) for m in models.values())
        out[k] = compute(pre[k]) + scaling_factor * tv
    return finish(pre, out)


def fnv_seed(seed, i, name):
    h = 14695981039346656037
    for b in f"{seed}/{i}/{name}".encode():
        h ^= b
        h = (h * 1099511628211) % (1 << 64)
    return h & 0x7FFFFFFFFFFFFFFF


def dare_task_vectors(pre, models, keys, sparsity_ratio, rescale, seed):
    tvs = []
    for i, m in enumerate(models.values()):
        tv = {}
        for k in keys:
            t = compute(m[k]) - compute(pre[k])
            g = torch.Generator().manual_seed(fnv_seed(seed, i, k))
            mask = torch.rand(t.shape, generator=g, dtype=torch.float32) > sparsity_ratio
            t = t * mask
            if rescale:
                t = t / (1 - sparsity_ratio)
            tv[k] = t
        tvs.append(tv)
    return tvs


def dare_task_arithmetic(pre, models, scaling_factor, sparsity_ratio, rescale, seed, **_):
    keys = float_keys(pre)
    tvs = dare_task_vectors(pre, models, keys, sparsity_ratio, rescale, seed)
    return finish(pre, {k: compute(pre[k]) + scaling_factor * sum(tv[k] for tv in tvs) for k in keys})


def ties_core(flat, threshold, merge_func):
    """FusionBench's ties_merging on an N x P matrix of task vectors."""
    K = threshold / 100 if threshold > 1 else threshold
    n, d = flat.shape
    k = d - int(d * K)
    if k > 0:
        kth = flat.abs().kthvalue(k, dim=1, keepdim=True).values
        flat = flat * (flat.abs() >= kth)
    sign = torch.sign(flat.sum(dim=0))
    majority = torch.sign(sign.sum())
    sign[sign == 0] = majority
    keep = torch.where(sign.unsqueeze(0) > 0, flat > 0, flat < 0)
    sel = flat * keep
    if merge_func == "sum":
        return sel.sum(dim=0)
    if merge_func == "mean":
        return sel.sum(dim=0) / torch.clamp((sel != 0).sum(dim=0).float(), min=1)
    return sel.abs().max(dim=0).values * sign


def ties_from_task_vectors(pre, tvs, keys, scaling_factor, threshold, merge_func):
    keys = sorted(keys)
    flat = torch.vstack([torch.cat([tv[k].double().flatten() for k in keys]) for tv in tvs]).float()
    merged = ties_core(flat, threshold, merge_func)
    out, off = {}, 0
    for k in keys:
        n = pre[k].numel()
        out[k] = compute(pre[k]) + scaling_factor * merged[off:off + n].view(pre[k].shape).to(compute(pre[k]).dtype)
        off += n
    return finish(pre, out)


def ties_merging(pre, models, scaling_factor, threshold, merge_func, remove_keys=(), **_):
    keys = [k for k in float_keys(pre) if k not in remove_keys]
    tvs = [{k: compute(m[k]) - compute(pre[k]) for k in keys} for m in models.values()]
    return ties_from_task_vectors(pre, tvs, keys, scaling_factor, threshold, merge_func)


def dare_ties_merging(pre, models, scaling_factor, sparsity_ratio, rescale, seed, threshold, merge_func, **_):
    keys = float_keys(pre)
    tvs = dare_task_vectors(pre, models, keys, sparsity_ratio, rescale, seed)
    return ties_from_task_vectors(pre, tvs, keys, scaling_factor, threshold, merge_func)


def slerp(pre, models, t, model, **_):
    """MergeKit's slerp (numpy float32 there; float64 here, compared with a tolerance)."""
    out = {}
    for k in float_keys(pre):
        v0, v1 = compute(pre[k]).double(), compute(models[model][k]).double()
        n0, n1 = v0.norm().item(), v1.norm().item()
        u0 = v0 / n0 if n0 > 1e-8 else v0
        u1 = v1 / n1 if n1 > 1e-8 else v1
        dot = (u0 * u1).sum().item()
        if abs(dot) > 0.9995:
            r = (1 - t) * v0 + t * v1
        else:
            th = math.acos(dot)
            r = math.sin(th - th * t) / math.sin(th) * v0 + math.sin(th * t) / math.sin(th) * v1
        out[k] = r
    return finish(pre, out)


CASES = [
    ("simple_average", simple_average, {}),
    ("weighted_average", weighted_average, {"weights": [0.2, 0.3, 0.5], "normalize": True}),
    ("weighted_average_unnormalized", weighted_average, {"weights": [1.0, 2.0, -0.5], "normalize": False}),
    ("task_arithmetic", task_arithmetic, {"scaling_factor": 0.3}),
    ("ties_merging", ties_merging, {"scaling_factor": 0.3, "threshold": 20, "merge_func": "sum"}),
    ("ties_merging_mean", ties_merging, {"scaling_factor": 1.0, "threshold": 40, "merge_func": "mean"}),
    ("ties_merging_max", ties_merging, {"scaling_factor": 0.5, "threshold": 30, "merge_func": "max"}),
    ("ties_merging_remove_keys", ties_merging, {"scaling_factor": 0.3, "threshold": 20, "merge_func": "sum", "remove_keys": ["embed.weight"]}),
    ("dare_task_arithmetic", dare_task_arithmetic, {"scaling_factor": 0.3, "sparsity_ratio": 0.5, "rescale": True, "seed": 7}),
    ("dare_ties_merging", dare_ties_merging, {"scaling_factor": 0.5, "sparsity_ratio": 0.3, "rescale": True, "seed": 11, "threshold": 20, "merge_func": "sum"}),
    ("slerp", slerp, {"t": 0.3, "model": "task_b"}),
]
METHOD_OF = {"weighted_average_unnormalized": "weighted_average", "ties_merging_mean": "ties_merging", "ties_merging_max": "ties_merging",
             "ties_merging_remove_keys": "ties_merging"}


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
    clip_vision_reference()
    os.makedirs(os.path.join(HERE, "models"), exist_ok=True)
    os.makedirs(os.path.join(HERE, "expected"), exist_ok=True)
    pre, models = make_models()
    save_safetensors(os.path.join(HERE, "models", "pretrained.safetensors"), pre)
    # The same weights as a real torch.save pickle, to test the PyTorch reader on a file PyTorch wrote.
    from collections import OrderedDict
    torch.save(OrderedDict(pre), os.path.join(HERE, "models", "pretrained.bin"))
    for name, sd in models.items():
        save_safetensors(os.path.join(HERE, "models", f"{name}.safetensors"), sd)
    cases = []
    for case, fn, params in CASES:
        merged = fn(pre, models, **params)
        save_safetensors(os.path.join(HERE, "expected", f"{case}.safetensors"), merged)
        cases.append({"case": case, "method": METHOD_OF.get(case, case), "parameters": params, "expected": f"expected/{case}.safetensors"})
    with open(os.path.join(HERE, "cases.json"), "w") as f:
        json.dump({"generator": "generate_golden.py", "torch": torch.__version__, "models": ["task_a", "task_b", "task_c"], "cases": cases}, f, indent=2)
    print(f"wrote {len(cases)} cases")


if __name__ == "__main__":
    main()

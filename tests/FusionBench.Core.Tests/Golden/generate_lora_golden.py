"""Golden files for PEFT LoRA adapters as models (lora/): a tiny base model, three adapter folders in PEFT's layout
and, per adapter, the merged weights of PEFT's merge_and_unload.

The merge is PEFT's formula as `LoraLayer.get_delta_weight` and `merge` compute it (peft/tuners/lora/layer.py):
delta = transpose(B @ A, fan_in_fan_out) * scaling, scaling = lora_alpha / r, or lora_alpha / sqrt(r) with use_rslora,
lora_alpha and r per module from alpha_pattern / rank_pattern; modules_to_save replace the base tensor. PEFT itself
is not packaged for Debian, so the formula is evaluated here with Debian's torch (python3-torch 1.13) rather than by
importing PEFT. Run with /usr/bin/python3 from this folder.
"""
import json
import math
import os

import torch

from generate_golden import save_safetensors

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lora")


def main():
    g = torch.Generator().manual_seed(11)
    base = {
        "model.layers.0.self_attn.q_proj.weight": torch.randn(8, 6, generator=g),
        "model.layers.0.self_attn.v_proj.weight": torch.randn(8, 6, generator=g),
        "model.layers.0.mlp.down_proj.weight": torch.randn(6, 8, generator=g),
        "transformer.h.0.attn.c_attn.weight": torch.randn(6, 12, generator=g),  # GPT-2 Conv1D: [in, out]
        "score.weight": torch.randn(3, 6, generator=g),
        "model.layers.0.step": torch.tensor([7], dtype=torch.int64),
    }
    os.makedirs(HERE, exist_ok=True)
    save_safetensors(os.path.join(HERE, "base.safetensors"), base)

    adapters = {
        # Plain LoRA on q/v, r 2, alpha 4.
        "plain": dict(config={"r": 2, "lora_alpha": 4, "target_modules": ["q_proj", "v_proj"]},
                      modules={"model.layers.0.self_attn.q_proj": (2, 4.0, False), "model.layers.0.self_attn.v_proj": (2, 4.0, False)}),
        # rsLoRA, a per-module rank and alpha, and a saved module.
        "patterns": dict(config={"r": 4, "lora_alpha": 8, "use_rslora": True, "target_modules": ["q_proj", "down_proj"],
                                 "rank_pattern": {"down_proj": 2}, "alpha_pattern": {"down_proj": 3}, "modules_to_save": ["score"]},
                         modules={"model.layers.0.self_attn.q_proj": (4, 8.0, False), "model.layers.0.mlp.down_proj": (2, 3.0, False)},
                         saved={"score.weight": "base_model.model.score.modules_to_save.default.weight"}),
        # GPT-2's Conv1D layers: weights stored [in, out], fan_in_fan_out.
        "conv1d": dict(config={"r": 3, "lora_alpha": 6, "fan_in_fan_out": True, "target_modules": ["c_attn"]},
                       modules={"transformer.h.0.attn.c_attn": (3, 6.0, True)}),
    }
    for name, spec in adapters.items():
        folder = os.path.join(HERE, name)
        os.makedirs(folder, exist_ok=True)
        config = dict(peft_type="LORA", task_type="CAUSAL_LM", lora_dropout=0.0, bias="none", use_rslora=False, fan_in_fan_out=False)
        config.update(spec["config"])
        with open(os.path.join(folder, "adapter_config.json"), "w") as f:
            json.dump(config, f, indent=2)
        tensors, merged = {}, {k: v.clone() for k, v in base.items()}
        for module, (r, alpha, fan_in_fan_out) in spec["modules"].items():
            w = base[module + ".weight"]
            out_features, in_features = (w.shape[1], w.shape[0]) if fan_in_fan_out else (w.shape[0], w.shape[1])
            a = torch.randn(r, in_features, generator=g) * 0.3
            b = torch.randn(out_features, r, generator=g) * 0.3
            tensors[f"base_model.model.{module}.lora_A.weight"] = a
            tensors[f"base_model.model.{module}.lora_B.weight"] = b
            scaling = alpha / math.sqrt(r) if config["use_rslora"] else alpha / r
            delta = b @ a
            if fan_in_fan_out:
                delta = delta.T
            merged[module + ".weight"] = w + delta * scaling
        for target, key in spec.get("saved", {}).items():
            tensors[key] = torch.randn(*base[target].shape, generator=g)
            merged[target] = tensors[key].clone()
        save_safetensors(os.path.join(folder, "adapter_model.safetensors"), tensors)
        save_safetensors(os.path.join(HERE, f"{name}.merged.safetensors"), merged)


if __name__ == "__main__":
    main()

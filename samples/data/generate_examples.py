#!/usr/bin/python3
"""Writes the small example checkpoints the samples and the README merge (no dependency beyond the stdlib).

A tiny MLP-shaped model, "tiny-mlp": a pretrained checkpoint as a Hugging Face folder (model.safetensors +
config.json) and three fine-tuned checkpoints as single .safetensors files, each the pretrained weights plus a
seeded, task-specific perturbation. The weights are synthetic (seeded pseudo-random numbers), made for this
repository; they are released with it under the MIT licence. Run:  python3 generate_examples.py
"""
import json
import os
import random
import struct

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tiny-mlp")
SHAPES = [("embed.weight", (32, 16)), ("layers.0.weight", (64, 16)), ("layers.0.bias", (64,)),
          ("layers.1.weight", (16, 64)), ("layers.1.bias", (16,)), ("head.weight", (4, 16))]


def write(path, tensors):
    header, data = {}, bytearray()
    for name, (shape, values, fmt, dtype) in tensors.items():
        raw = struct.pack("<%d%s" % (len(values), fmt), *values)
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)


def numel(shape):
    n = 1
    for d in shape:
        n *= d
    return n


def main():
    os.makedirs(os.path.join(HERE, "pretrained"), exist_ok=True)
    rng = random.Random(2024)
    pre = {name: [rng.gauss(0, 0.2) for _ in range(numel(shape))] for name, shape in SHAPES}
    ids = list(range(32))

    def checkpoint(weights):
        out = {name: (shape, weights[name], "f", "F32") for name, shape in SHAPES}
        out["position_ids"] = ((1, 32), ids, "q", "I64")
        return out

    write(os.path.join(HERE, "pretrained", "model.safetensors"), checkpoint(pre))
    with open(os.path.join(HERE, "pretrained", "config.json"), "w") as f:
        json.dump({"model_type": "tiny-mlp", "hidden_size": 16, "intermediate_size": 64, "vocab_size": 32}, f, indent=2)
    for seed, task in enumerate(["task_a", "task_b", "task_c"], start=1):
        r = random.Random(seed)
        ft = {name: [v + r.gauss(0, 0.02) for v in pre[name]] for name, _ in SHAPES}
        write(os.path.join(HERE, f"{task}.safetensors"), checkpoint(ft))
    print("wrote", HERE)


if __name__ == "__main__":
    main()

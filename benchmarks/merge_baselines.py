"""PyTorch baselines for benchmarks/merge-at-scale.sh, with Debian's python3-torch (1.13) and numpy only.

  fusionbench  FusionBench's way: every state dict loaded whole in float32, merged, then saved.
               task_arithmetic: θ0 + λ Σ (θi − θ0); ties_merging: FusionBench's flattened task-vector matrix
               (state_dict_to_vector), per-model k-th magnitude, sign election, disjoint merge.
  per_tensor   a plain per-tensor loop: read one tensor of every model, merge in float32, keep the result; TIES takes
               FusionBench's global threshold from one model-sized magnitude buffer per model first.

Usage: merge_baselines.py MODE METHOD PRETRAINED_DIR OUTPUT_FILE MODEL_DIR... (λ 0.3, TIES threshold 20, sum).
"""
import json
import os
import struct
import sys

import numpy as np
import torch

LAMBDA, TOP_K = 0.3, 20


class SafeTensors:
    """A folder's safetensors shards, read tensor by tensor (bf16 widened to float32 by its bits)."""

    def __init__(self, folder):
        self.index = {}
        for name in sorted(os.listdir(folder)):
            if not name.endswith(".safetensors"):
                continue
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                n = struct.unpack("<Q", f.read(8))[0]
                header = json.loads(f.read(n))
            header.pop("__metadata__", None)
            for key, meta in header.items():
                self.index[key] = (path, 8 + n, meta)
        self.names = list(self.index)

    def read(self, key):
        path, start, meta = self.index[key]
        begin, end = meta["data_offsets"]
        with open(path, "rb") as f:
            f.seek(start + begin)
            raw = f.read(end - begin)
        if meta["dtype"] == "BF16":
            bits = np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16
            return torch.from_numpy(bits.view(np.float32).reshape(meta["shape"]).copy())
        return torch.from_numpy(np.frombuffer(raw, dtype={"F32": np.float32, "F16": np.float16}[meta["dtype"]]).astype(np.float32).reshape(meta["shape"]).copy())


def save_bf16(path, tensors):
    header, blobs, offset = {}, [], 0
    for key, t in tensors.items():
        b = t.to(torch.bfloat16).contiguous().view(torch.int16).numpy().tobytes()
        header[key] = {"dtype": "BF16", "shape": list(t.shape), "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def ties_disjoint(tv, threshold_per_model):
    """FusionBench's TIES on an [N, n] block: trim below each model's threshold, elect signs, disjoint sum."""
    tv = tv * (tv.abs() >= threshold_per_model.unsqueeze(1))
    sign = torch.sign(tv.sum(dim=0))
    keep = torch.where(sign.unsqueeze(0) > 0, tv > 0, tv < 0)
    return (tv * keep).sum(dim=0)


def main():
    mode, method, pretrained, output, *models = sys.argv[1:]
    pre = SafeTensors(pretrained)
    fts = [SafeTensors(m) for m in models]
    names = pre.names
    if mode == "fusionbench":
        p = {k: pre.read(k) for k in names}
        ms = [{k: m.read(k) for k in names} for m in fts]
        if method == "task_arithmetic":
            merged = {k: p[k] + LAMBDA * sum(m[k] - p[k] for m in ms) for k in names}
        else:
            tv = torch.stack([torch.cat([(m[k] - p[k]).flatten() for k in names]) for m in ms])
            del ms
            k = tv.shape[1] - int(tv.shape[1] * TOP_K / 100)
            thresholds = tv.abs().kthvalue(k, dim=1, keepdim=False).values
            flat = ties_disjoint(tv, thresholds) * LAMBDA
            merged, offset = {}, 0
            for key in names:
                n = p[key].numel()
                merged[key] = p[key] + flat[offset:offset + n].view(p[key].shape)
                offset += n
        save_bf16(output, merged)
        return
    # per_tensor
    thresholds = None
    if method == "ties_merging":
        values = []
        for m in fts:
            mags = torch.cat([(m.read(k) - pre.read(k)).abs().flatten() for k in names])
            values.append(mags.kthvalue(mags.numel() - int(mags.numel() * TOP_K / 100)).values)
            del mags
        thresholds = torch.stack(values)
    merged = {}
    for key in names:
        p = pre.read(key)
        tv = torch.stack([m.read(key) - p for m in fts])
        merged[key] = p + LAMBDA * (tv.sum(dim=0) if thresholds is None else ties_disjoint(tv.flatten(1), thresholds).view(p.shape))
    save_bf16(output, merged)


if __name__ == "__main__":
    main()

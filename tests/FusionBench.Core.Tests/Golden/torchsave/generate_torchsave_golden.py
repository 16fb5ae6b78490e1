#!/usr/bin/python3
"""torch.save goldens for the restricted, tensor-by-tensor .bin reader (TorchZipCheckpoint).

Run with Debian's interpreter (python3-torch): /usr/bin/python3 generate_torchsave_golden.py

* state_dict.pt: a state dict saved by torch.save itself (zip format): F32, F16, BF16, F64, I64 and BOOL tensors, a 0-d
  tensor, an nn.Parameter, two tensors sharing one storage (tied weights), a transposed (non-contiguous) view and a slice
  with a storage offset.
* expected.safetensors: the same tensors, contiguous, written by this script (the values the reader must return).
* evil.pt: a torch.save zip whose pickle calls os.system through __reduce__; the reader must refuse it without running it.
"""
import os
import sys
from collections import OrderedDict

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from generate_golden import safetensors_bytes  # noqa: E402  (the project's own writer)

g = torch.Generator().manual_seed(7)
base = torch.randn(6, 4, generator=g)
sd = OrderedDict()
sd["f32.weight"] = torch.randn(3, 5, generator=g)
sd["f16.weight"] = torch.randn(4, 2, generator=g).half()
sd["bf16.weight"] = torch.randn(2, 3, generator=g).bfloat16()
sd["f64.bias"] = torch.randn(5, generator=g).double()
sd["position_ids"] = torch.arange(7).unsqueeze(0)
sd["mask"] = torch.tensor([True, False, True])
sd["scalar"] = torch.tensor(2.5)
sd["param"] = torch.nn.Parameter(torch.randn(2, 2, generator=g))
sd["tied.a"] = base
sd["tied.b"] = base                     # same storage as tied.a
sd["transposed"] = base.t()             # non-contiguous view of the same storage
sd["slice"] = base[2:5, 1:3]            # storage offset and strides
torch.save(sd, os.path.join(HERE, "state_dict.pt"))
expected = OrderedDict((k, v.detach().contiguous().clone()) for k, v in sd.items())
with open(os.path.join(HERE, "expected.safetensors"), "wb") as f:
    f.write(safetensors_bytes({k: v for k, v in expected.items() if v.dtype != torch.bool}))
# BOOL is not in safetensors_bytes's table: the test checks the mask by value.


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pickled code ran > /tmp/fusionbench-evil-ran",))


torch.save({"w": torch.zeros(2), "evil": Evil()}, os.path.join(HERE, "evil.pt"))
print("wrote state_dict.pt, expected.safetensors, evil.pt")

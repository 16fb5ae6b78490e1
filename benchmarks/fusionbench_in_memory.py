"""FusionBench's own merge code, timed in memory on the pools of this project's BenchmarkDotNet cases.

Runs the merging part of FusionBench's TaskArithmeticAlgorithm.run (state_dict_sub / state_dict_add / state_dict_mul
from fusion_bench/utils/state_dict_arithmetic.py) and of TiesMergingAlgorithm.run (state_dict_to_vector, the flattened
task-vector matrix, ties_merging, vector_to_state_dict from fusion_bench/method/ties_merging/ties_merging_utils.py) on
the same shapes as TaskArithmeticBenchmark (8 models + pretrained, 100M float32 in tensors of 4M) and
TiesMergingBenchmark (8 × 10M in tensors of 1M), with FusionBench's defaults (λ 0.3, threshold 20, sum). FusionBench's
files are loaded from FUSIONBENCH_SRC one by one (nothing copied); its package __init__s, which pull in lightning,
transformers and hydra, are replaced by empty stub packages, and tqdm by a pass-through.

Usage: FUSIONBENCH_SRC=/path/to/fusion_bench /usr/bin/python3 fusionbench_in_memory.py [--threads N]
Prints one markdown row per case: mean and standard deviation of 5 timed iterations after 1 warm-up, as BenchmarkDotNet.
"""
import contextlib
import importlib.util
import io
import os
import statistics
import sys
import time
import types

import torch

FUSIONBENCH_COMMIT = "54c9e8c9d9621620c720452cd8533332a32d3689"


def load_fusionbench(src):
    def package(name):
        module = types.ModuleType(name)
        module.__path__ = []  # importing anything not registered here fails instead of reaching the real __init__
        sys.modules[name] = module
        return module

    def load(name, relative):
        spec = importlib.util.spec_from_file_location(name, os.path.join(src, relative))
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module

    for name in ["fusion_bench", "fusion_bench.utils", "fusion_bench.method", "fusion_bench.method.ties_merging"]:
        package(name)
    if "tqdm" not in sys.modules:
        try:
            import tqdm.auto  # noqa: F401
        except ImportError:
            package("tqdm")
            sys.modules["tqdm.auto"] = types.SimpleNamespace(tqdm=lambda it, *a, **k: it)
    load("fusion_bench.utils.type", "fusion_bench/utils/type.py")
    arithmetic = load("fusion_bench.utils.state_dict_arithmetic", "fusion_bench/utils/state_dict_arithmetic.py")
    ties = load("fusion_bench.method.ties_merging.ties_merging_utils", "fusion_bench/method/ties_merging/ties_merging_utils.py")
    return arithmetic, ties


def pool(models, parameters, tensor_size, seed=0):
    g = torch.Generator().manual_seed(seed)
    names = [f"layers.{i}.weight" for i in range((parameters + tensor_size - 1) // tensor_size)]
    sizes = [min(tensor_size, parameters - i * tensor_size) for i in range(len(names))]
    pre = {n: torch.randn(s, generator=g) for n, s in zip(names, sizes)}
    fts = [{n: pre[n] + 0.01 * torch.randn(pre[n].shape, generator=g) for n in names} for _ in range(models)]
    return pre, fts


def task_arithmetic(arithmetic, pre, fts, scaling_factor=0.3):
    # TaskArithmeticAlgorithm.run, "merge weights" steps, with the state dicts already loaded.
    task_vector = None
    for ft in fts:
        tv = arithmetic.state_dict_sub(ft, pre)
        task_vector = tv if task_vector is None else arithmetic.state_dict_add(task_vector, tv)
    task_vector = arithmetic.state_dict_mul(task_vector, scaling_factor, keep_dtype_when_zero=True)
    return arithmetic.state_dict_add(pre, task_vector)


def ties_merging(ties, pre, fts, scaling_factor=0.3, threshold=20, merge_func="sum"):
    # TiesMergingAlgorithm.run, "merging models" steps, with the state dicts already loaded.
    flat_ft = torch.vstack([ties.state_dict_to_vector(check, []) for check in fts])
    flat_ptm = ties.state_dict_to_vector(pre, [])
    tv_flat_checks = flat_ft - flat_ptm
    with contextlib.redirect_stdout(io.StringIO()):  # ties_merging prints its steps
        merged_tv = ties.ties_merging(tv_flat_checks, reset_thresh=threshold, merge_func=merge_func)
    merged_check = flat_ptm + scaling_factor * merged_tv
    return ties.vector_to_state_dict(merged_check, pre, remove_keys=[])


def measure(label, run, warmup=1, iterations=5):
    for _ in range(warmup):
        run()
    times = []
    for _ in range(iterations):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
        del result
    mean, sd = statistics.mean(times), statistics.stdev(times)
    print(f"| {label} | {mean * 1000:,.1f} ms | {sd * 1000:,.1f} ms |", flush=True)


def main():
    src = os.environ.get("FUSIONBENCH_SRC")
    if not src or not os.path.isfile(os.path.join(src, "fusion_bench", "utils", "state_dict_arithmetic.py")):
        sys.exit(f"fusionbench_in_memory.py: set FUSIONBENCH_SRC to a FusionBench source tree (tanganke/fusion_bench at {FUSIONBENCH_COMMIT}).")
    threads = int(sys.argv[sys.argv.index("--threads") + 1]) if "--threads" in sys.argv else os.cpu_count()
    torch.set_num_threads(threads)
    arithmetic, ties = load_fusionbench(src)
    torch.set_grad_enabled(False)
    print(f"FusionBench {FUSIONBENCH_COMMIT[:7]} on PyTorch {torch.__version__}, {threads} threads")
    print("| case | mean | stddev |")
    print("|---|---:|---:|")
    pre, fts = pool(8, 100_000_000, 4_000_000)
    measure("FusionBench task_arithmetic 8 × 100M", lambda: task_arithmetic(arithmetic, pre, fts))
    del pre, fts
    pre, fts = pool(8, 10_000_000, 1_000_000)
    measure("FusionBench task_arithmetic 8 × 10M", lambda: task_arithmetic(arithmetic, pre, fts))
    measure("FusionBench ties_merging 8 × 10M", lambda: ties_merging(ties, pre, fts))


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# Peak memory and wall time of `fusionbench merge` on Qwen2-0.5B-shaped bf16 folders (4 fine-tunes + pretrained,
# sharded at 1 GB) at two depths, next to the floor of reading every input once and writing one output (cat > file).
# Run alone on the machine. Usage: benchmarks/merge-at-scale.sh [DIR] [LAYERS...]
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/fusionbench-merge-at-scale}
shift || true
depths=${*:-8 24}
dotnet build -c Release benchmarks/FusionBench.Core.Benchmarks >/dev/null
dotnet build -c Release src/FusionBench.Cli >/dev/null
cli="dotnet src/FusionBench.Cli/bin/Release/net10.0/fusionbench.dll"
measure() { # label, command...
  local label=$1; shift
  /usr/bin/time -v "$@" >/dev/null 2>"$out/time.txt"
  local wall rss
  wall=$(grep -oP 'Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): \K.*' "$out/time.txt")
  rss=$(grep -oP 'Maximum resident set size \(kbytes\): \K[0-9]+' "$out/time.txt")
  echo "| $label | $wall | $((rss / 1024)) |"
}
echo "| layers | run | wall (m:ss) | peak RSS (MB) |"
echo "|---:|---|---:|---:|"
for layers in $depths; do
  rm -rf "$out/$layers"; mkdir -p "$out/$layers"
  dotnet benchmarks/FusionBench.Core.Benchmarks/bin/Release/net10.0/FusionBench.Core.Benchmarks.dll make-llm "$out/$layers" "$layers" 4 >/dev/null
  size=$(du -sh "$out/$layers/pretrained" | cut -f1)
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  models="--model $out/$layers/task1 --model $out/$layers/task2 --model $out/$layers/task3 --model $out/$layers/task4"
  measure "$layers ($size per model) | read all 5 inputs + write one output (floor)" bash -c "cat $out/$layers/*/*.safetensors > /dev/null; cat $out/$layers/pretrained/*.safetensors > $out/$layers/floor.bin; sync"
  rm -f "$out/$layers/floor.bin"
  for method in task_arithmetic ties_merging; do
    measure "$layers | fusionbench merge $method" $cli merge --method $method --pretrained "$out/$layers/pretrained" $models --output "$out/$layers/merged-$method" --max-shard-size 1GB
    inputs="$out/$layers/pretrained $out/$layers/merged-py.safetensors $out/$layers/task1 $out/$layers/task2 $out/$layers/task3 $out/$layers/task4"
    measure "$layers | PyTorch per-tensor loop, $method" /usr/bin/python3 benchmarks/merge_baselines.py per_tensor $method $inputs
    # FusionBench's way holds every model in float32 (TIES: also the [N, all] task-vector matrix); skip what would not fit.
    params=$(( $(du -sb "$out/$layers/pretrained" | cut -f1) / 2 ))
    factor=7; [ "$method" = ties_merging ] && factor=14
    need=$(( params * 4 * factor ))
    if [ "$need" -lt $(( 20 * 1024 * 1024 * 1024 )) ]; then
      measure "$layers | PyTorch, FusionBench's way, $method" /usr/bin/python3 benchmarks/merge_baselines.py fusionbench $method $inputs
    else
      echo "| $layers | PyTorch, FusionBench's way, $method | skipped: needs ~$(( need / 1024 / 1024 / 1024 )) GB | - |"
    fi
    rm -f "$out/$layers/merged-py.safetensors"
  done
  # Four PEFT LoRA adapters (rank 16 on every linear layer) as models: W + (α/r)·B·A per tensor, then task arithmetic.
  dotnet benchmarks/FusionBench.Core.Benchmarks/bin/Release/net10.0/FusionBench.Core.Benchmarks.dll make-lora "$out/$layers" "$layers" 4 16 >/dev/null
  adapters="--model $out/$layers/lora1 --model $out/$layers/lora2 --model $out/$layers/lora3 --model $out/$layers/lora4"
  measure "$layers | fusionbench merge task_arithmetic, 4 LoRA adapters (r 16, all linear layers)" $cli merge --method task_arithmetic --pretrained "$out/$layers/pretrained" $adapters --output "$out/$layers/merged-lora" --max-shard-size 1GB
done

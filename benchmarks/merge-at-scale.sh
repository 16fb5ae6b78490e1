#!/usr/bin/env bash
# Peak memory and wall time of `fusionbench merge` on Qwen2-shaped bf16 folders (4 fine-tunes + pretrained, sharded at
# 1 GB), next to the floor of reading every input once and writing one output (cat > file) and to PyTorch baselines.
# Neither the floor nor the merges sync their output to disk (both leave it in the page cache). Run alone on the machine. Usage: benchmarks/merge-at-scale.sh [DIR] [LAYERS[:SIZE]...]   (SIZE 0.5b or 1.5b;
# default "8 24"; the issue's two sizes: "24 28:1.5b").
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
median3() { # label, path to remove before each run, command...: the median wall time of three runs and the largest peak RSS
  local label=$1 clean=$2; shift 2
  local walls=() rss=0 i w m
  for i in 1 2 3; do
    rm -rf "$clean"
    /usr/bin/time -f "%e %M" -o "$out/time3.txt" "$@" >/dev/null 2>&1
    read -r w m <"$out/time3.txt"
    walls+=("$w"); [ "$m" -gt "$rss" ] && rss=$m
  done
  w=$(printf '%s\n' "${walls[@]}" | sort -n | sed -n 2p)
  echo "| $label | $(awk -v s="$w" 'BEGIN { printf "%d:%05.2f", int(s / 60), s - 60 * int(s / 60) }') | $((rss / 1024)) |"
}
echo "| layers | run | wall (m:ss) | peak RSS (MB) |"
echo "|---:|---|---:|---:|"
floor() { # label, dir: read all five inputs once, write one output of the same size
  measure "$1" bash -c "cat $2/task*/*.safetensors > /dev/null; cat $2/pretrained/*.safetensors > $2/floor.bin"
  rm -f "$2/floor.bin"
}
floor3() { # the same, median of three runs
  median3 "$1" "$2/floor.bin" bash -c "cat $2/task*/*.safetensors > /dev/null; cat $2/pretrained/*.safetensors > $2/floor.bin"
  rm -f "$2/floor.bin"
}
for item in $depths; do
  layers=${item%%:*}; shape=0.5b; [ "$item" != "$layers" ] && shape=${item#*:}
  rm -rf "$out/$layers"; mkdir -p "$out/$layers"
  dotnet benchmarks/FusionBench.Core.Benchmarks/bin/Release/net10.0/FusionBench.Core.Benchmarks.dll make-llm "$out/$layers" "$layers" 4 "$shape" >/dev/null
  size=$(du -sh "$out/$layers/pretrained" | cut -f1)
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  models="--model $out/$layers/task1 --model $out/$layers/task2 --model $out/$layers/task3 --model $out/$layers/task4"
  floor "$layers $shape ($size per model) | read all 5 inputs + write one output (floor), cold cache" "$out/$layers"
  floor3 "$layers | floor, warm cache (median of 3)" "$out/$layers"
  params=$(( $(du -sb "$out/$layers/pretrained" | cut -f1) / 2 ))
  budget=$(( 20 * 1024 * 1024 * 1024 ))
  for method in task_arithmetic ties_merging; do
    floor3 "$layers | floor, warm cache, just before (median of 3)" "$out/$layers"
    median3 "$layers | fusionbench merge $method (median of 3)" "$out/$layers/merged-$method" $cli merge --method $method --pretrained "$out/$layers/pretrained" $models --output "$out/$layers/merged-$method" --max-shard-size 1GB
    inputs="$out/$layers/pretrained $out/$layers/merged-py.safetensors $out/$layers/task1 $out/$layers/task2 $out/$layers/task3 $out/$layers/task4"
    # What the baselines hold in float32, in model copies (measured at 0.5B: 4.9/11.8 GB per-tensor, 13.2/23.1 GB
    # FusionBench's way); skip what would not fit in this machine's memory.
    for mode in per_tensor fusionbench; do
      factor=3; [ $mode/$method = per_tensor/ties_merging ] && factor=7
      [ $mode = fusionbench ] && factor=7 && [ "$method" = ties_merging ] && factor=14
      need=$(( params * 4 * factor ))
      label="PyTorch per-tensor loop"; [ $mode = fusionbench ] && label="PyTorch, FusionBench's way"
      if [ "$need" -lt "$budget" ]; then
        measure "$layers | $label, $method" /usr/bin/python3 benchmarks/merge_baselines.py $mode $method $inputs
      else
        echo "| $layers | $label, $method | skipped: needs ~$(( need / 1024 / 1024 / 1024 )) GB | - |"
      fi
      rm -f "$out/$layers/merged-py.safetensors"
    done
  done
  # Four PEFT LoRA adapters (rank 16 on every linear layer) as models: W + (α/r)·B·A per tensor, then task arithmetic.
  dotnet benchmarks/FusionBench.Core.Benchmarks/bin/Release/net10.0/FusionBench.Core.Benchmarks.dll make-lora "$out/$layers" "$layers" 4 16 >/dev/null
  adapters="--model $out/$layers/lora1 --model $out/$layers/lora2 --model $out/$layers/lora3 --model $out/$layers/lora4"
  median3 "$layers | fusionbench merge task_arithmetic, 4 LoRA adapters (r 16, all linear layers; median of 3)" "$out/$layers/merged-lora" $cli merge --method task_arithmetic --pretrained "$out/$layers/pretrained" $adapters --output "$out/$layers/merged-lora" --max-shard-size 1GB
done

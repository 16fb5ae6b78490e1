#!/usr/bin/env bash
# Every newer data-free method through `fusionbench merge` on the image suite's real checkpoints (the zoo's pretrained
# ViT and its eight full fine-tunes, safetensors), plus one MergeKit configuration: wall time, peak RSS, output size.
# Usage: benchmarks/new-methods-cli.sh [ZOO_DIR]   (default ~/.cache/fusionbench/zoo/image-tiny; `fusionbench zoo build` makes it)
# Writes benchmarks/results/new-methods-cli.md. Run it alone on the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
zoo="${1:-$HOME/.cache/fusionbench/zoo/image-tiny}"
[ -f "$zoo/pretrained.safetensors" ] || { echo "no zoo at $zoo (run: dotnet run --project src/FusionBench.Cli -c Release -- zoo build)" >&2; exit 2; }
dotnet build src/FusionBench.Cli -c Release -v q -nologo >/dev/null
cli=(dotnet src/FusionBench.Cli/bin/Release/net10.0/fusionbench.dll)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
models=()
for f in "$zoo"/full/*.safetensors; do models+=(--model "$(basename "$f" .safetensors)=$f"); done
out=benchmarks/results/new-methods-cli.md
{
  echo "# Newer data-free methods from the command line, on the image suite's checkpoints"
  echo
  echo "\`fusionbench merge --pretrained $(basename "$zoo")/pretrained.safetensors\` with the zoo's $(( ${#models[@]} / 2 )) full fine-tunes, each run alone, $(date -u +%Y-%m-%d) on $(nproc) cores."
  echo "Parameters as in the benchmark (\`BenchmarkParameters\`); nuslerp merges the first two models."
  echo
  echo "| method | parameters | wall (s) | peak RSS (MB) | output | what the CLI said |"
  echo "|---|---|---|---|---|---|"
} > "$out"
run() {
  local method=$1; shift
  local sets=("$@")
  local target="$work/$method"
  /usr/bin/time -f "%e %M" -o "$work/time" "${cli[@]}" merge --method "$method" --pretrained "$zoo/pretrained.safetensors" "${picked[@]}" \
    "${sets[@]}" --output "$target" > "$work/out" 2> "$work/err" || { echo "$method failed:"; cat "$work/err"; exit 1; }
  read -r wall rss < "$work/time"
  local size; size=$(du -sh "$target" | cut -f1)
  local said; said=$(grep -m1 "^Merged" "$work/out" | sed 's/|/\\|/g')
  echo "| \`$method\` | ${sets[*]:-defaults} | $wall | $(( rss / 1024 )) | $size | $said |" >> "$out"
}
picked=("${models[@]}")
for m in magmax model_stock task_singular_vector iso_c iso_cts wudi tall_mask_task_arithmetic tall_mask_consensus emr_merging karcher; do run "$m"; done
run breadcrumbs --set "weight=[0.3]" --set "density=[0.9]"
run breadcrumbs_ties --set "weight=[0.3]" --set "density=[0.9]"
run della --set "weight=[0.3]" --set "density=[0.5]"
run della_linear --set "weight=[0.3]" --set "density=[0.5]"
picked=("${models[@]:0:4}")
run nuslerp
echo >> "$out"
echo "Per-task results (TALL masks, EMR) are written as the shared model plus \`task_parts/\` (see README, Methods)." >> "$out"
cat "$out"

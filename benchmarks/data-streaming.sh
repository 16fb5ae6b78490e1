#!/usr/bin/env bash
# Peak memory of the data-driven methods on the user's own data, at two data sizes (10x apart): Fisher and RegMean
# read only their first num_*_examples images, AdaMerging decodes each shuffled batch, and the task pool streams the
# test set, so peak RSS should not grow with the data. Run alone on the machine.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-/tmp/fusionbench-data-streaming}
dotnet build -c Release benchmarks/FusionBench.Core.Benchmarks >/dev/null
dotnet build -c Release src/FusionBench.Cli >/dev/null
echo "| images per task and split | method | wall (m:ss) | peak RSS (MB) |"
echo "|---:|---|---:|---:|"
for n in 300 3000; do
  rm -rf "$out/$n"
  dotnet benchmarks/FusionBench.Core.Benchmarks/bin/Release/net10.0/FusionBench.Core.Benchmarks.dll make-image-experiment "$out/$n" "$n"
  for method in fisher_merging regmean layer_wise_adamerging; do
    /usr/bin/time -v dotnet src/FusionBench.Cli/bin/Release/net10.0/fusionbench.dll run --config "$out/$n/exp-$method.yaml" \
      --output "$out/$n/run-$method" >/dev/null 2>"$out/$n/$method.time"
    wall=$(grep -oP 'Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): \K.*' "$out/$n/$method.time")
    rss=$(grep -oP 'Maximum resident set size \(kbytes\): \K[0-9]+' "$out/$n/$method.time")
    echo "| $n | $method | $wall | $((rss / 1024)) |"
  done
done

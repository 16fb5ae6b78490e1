#!/usr/bin/env bash
# In memory, side by side in one run: this project's BenchmarkDotNet cases (task arithmetic 8 × 100M and 8 × 10M, TIES
# 8 × 10M, float32) and FusionBench's own merge code on Debian's PyTorch (benchmarks/fusionbench_in_memory.py) on pools
# of the same shapes, with the same warm-up and iteration counts. Run alone on the machine.
# Usage: FUSIONBENCH_SRC=/path/to/fusion_bench benchmarks/in-memory-vs-fusionbench.sh [OUTPUT_MD]
#   (FUSIONBENCH_SRC: a checkout of tanganke/fusion_bench, e.g. `git clone https://github.com/tanganke/fusion_bench`;
#    python3-torch from apt: `apt-get install -y python3-torch python3-numpy`.)
set -euo pipefail
cd "$(dirname "$0")/.."
: "${FUSIONBENCH_SRC:?set FUSIONBENCH_SRC to a FusionBench source tree (the directory holding fusion_bench/)}"
out=${1:-benchmarks/results/in-memory-vs-fusionbench.md}
artifacts=$(mktemp -d)
trap 'rm -rf "$artifacts"' EXIT
dotnet build -c Release benchmarks/FusionBench.Core.Benchmarks >/dev/null
(cd "$artifacts" && dotnet "$OLDPWD/benchmarks/FusionBench.Core.Benchmarks/bin/Release/net10.0/FusionBench.Core.Benchmarks.dll" \
    --filter '*TaskArithmeticBenchmark*' '*TiesMergingBenchmark*' --artifacts "$artifacts/bdn" >"$artifacts/bdn.log")
/usr/bin/python3 benchmarks/fusionbench_in_memory.py >"$artifacts/fusionbench.md"
{
  echo "# In memory: FusionBench.Core against FusionBench's own code, one run"
  echo
  echo "\`benchmarks/in-memory-vs-fusionbench.sh\` on $(date -u +%Y-%m-%d), $(nproc) cores; both sides 1 warm-up + 5 timed iterations."
  echo
  echo "## FusionBench.Core (BenchmarkDotNet)"
  for f in "$artifacts"/bdn/results/*-report-github.md; do echo; sed -n '/^| Method/,$p' "$f"; done
  echo
  echo "## FusionBench's own code, the same shapes"
  echo
  cat "$artifacts/fusionbench.md"
} >"$out"
cp "$artifacts"/bdn/results/*-report-github.md benchmarks/results/
cat "$out"

#!/usr/bin/env bash
# Packs FusionBench.Core, then builds and runs samples/QuickStart against the packed package from a local folder
# feed (not the project reference), which also proves the package's buildTransitive GLIBCXX load fix.
set -euo pipefail
cd "$(dirname "$0")/.."
feed="$PWD/artifacts/nuget"
version="0.1.0-local.$(date +%s)"   # a fresh version each run, so no cached copy of an older pack is used
rm -rf "$feed" samples/QuickStart/obj samples/QuickStart/bin/Release-package
dotnet pack src/FusionBench.Core/FusionBench.Core.csproj -c Release -o "$feed" -p:Version="$version"
pkg="$feed/FusionBench.Core.$version.nupkg"
echo "-- package contents"
unzip -l "$pkg" | grep -E "README.md|icon.png|buildTransitive/FusionBench.Core.targets|lib/net8.0/FusionBench.Core.(dll|xml)|lib/net10.0/FusionBench.Core.(dll|xml)" | tee /tmp/fusionbench-pkg-contents.txt
[ "$(wc -l < /tmp/fusionbench-pkg-contents.txt)" -ge 7 ] || { echo "package is missing README, icon, XML docs or buildTransitive targets"; exit 1; }
dotnet build samples/QuickStart/QuickStart.csproj -c Release -p:UseFusionBenchPackage=true -p:FusionBenchPackageVersion="$version" \
  -p:RestoreAdditionalProjectSources="$feed" -p:OutputPath="$PWD/samples/QuickStart/bin/Release-package/" \
  -p:BaseIntermediateOutputPath="$PWD/artifacts/obj-package/" -p:RestoreNoCache=true
grep -q '"FusionBench.Core/'"$version"'"' artifacts/obj-package/project.assets.json && echo "-- QuickStart restored FusionBench.Core $version from the local feed"
out="$(mktemp -d)"
(cd "$out" && dotnet "$OLDPWD/samples/QuickStart/bin/Release-package/QuickStart.dll")
test -s "$out/merged-quickstart.safetensors" && echo "-- package verified: QuickStart built from the package merged and wrote $(stat -c %s "$out/merged-quickstart.safetensors") bytes"

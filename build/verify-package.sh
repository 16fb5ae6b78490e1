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

echo "-- the package holds only what an app needs to fuse: no benchmark suite inside"
if unzip -l "$pkg" | grep -qi "Suites"; then echo "package contains suite files"; exit 1; fi
for tfm in net8.0 net10.0; do
  if unzip -p "$pkg" "lib/$tfm/FusionBench.Core.dll" | grep -aq "FusionBench.Suites\|ImageModelZoo\|ImageCorruptions"; then
    echo "lib/$tfm/FusionBench.Core.dll still contains the image suite"; exit 1
  fi
done

echo "-- a fresh console app that references only FusionBench.Core (plus libtorch natives) fuses from configuration"
fresh="$(mktemp -d)/FreshApp"
dotnet new console -o "$fresh" --framework net10.0 >/dev/null
rm -f "$fresh/Program.cs"
cp samples/Configuration/Program.cs samples/Configuration/appsettings.json "$fresh/"
mkdir -p "$fresh/data" && cp -r samples/data/tiny-mlp "$fresh/data/"
# Versions outside the repository's central package management: taken from Directory.Packages.props.
ver() { grep -o "Include=\"$1\" Version=\"[^\"]*\"" Directory.Packages.props | sed 's/.*Version="\([^"]*\)"/\1/'; }
cat > "$fresh/FreshApp.csproj" <<CSPROJ
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <ImplicitUsings>enable</ImplicitUsings>
    <Nullable>enable</Nullable>
    <RestoreAdditionalProjectSources>$feed</RestoreAdditionalProjectSources>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="FusionBench.Core" Version="$version" />
    <PackageReference Include="libtorch-cpu-linux-x64" Version="$(ver libtorch-cpu-linux-x64)" />
    <PackageReference Include="Microsoft.Extensions.DependencyInjection" Version="$(ver Microsoft.Extensions.DependencyInjection)" />
    <PackageReference Include="Microsoft.Extensions.Configuration.Json" Version="$(ver Microsoft.Extensions.Configuration.Json)" />
    <PackageReference Include="Microsoft.Extensions.Logging.Console" Version="$(ver Microsoft.Extensions.Logging.Console)" />
    <None Include="appsettings.json;data/**" CopyToOutputDirectory="PreserveNewest" />
  </ItemGroup>
</Project>
CSPROJ
dotnet build "$fresh/FreshApp.csproj" -c Release -p:RestoreNoCache=true -o "$fresh/bin" >/dev/null
run="$(mktemp -d)"
(cd "$run" && dotnet "$fresh/bin/FreshApp.dll")
test -s "$run/merged-ties_merging.safetensors" && echo "-- package verified: a fresh console app fused task_arithmetic and ties_merging from appsettings.json"

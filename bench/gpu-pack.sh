#!/usr/bin/env bash
# Prepares .device/ for one GPU run of bench/gpu-checks.ts (run from anywhere in the repo):
#   bash ../shared/device/pack.sh      # Node.js into .device/ (once)
#   bash bench/gpu-pack.sh             # the CUDA build, the bundle, the addons
# then on the GPU machine (device tool, carry [".device", "build/Release"]):
#   bash .device/run.sh node --expose-gc .device/gpu-checks.mjs
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
mkdir -p .device
grep -qx '/.device/' .git/info/exclude 2>/dev/null || echo '/.device/' >> .git/info/exclude
GRADBOOK_CUDA_STRICT=1 bash scripts/build-cuda.sh
node_modules/.bin/esbuild bench/gpu-checks.ts --bundle --platform=node --format=esm --target=node20 \
  --outfile=.device/gpu-checks.mjs --log-level=warning \
  --banner:js="import { createRequire as __gbCreateRequire } from 'node:module'; const require = __gbCreateRequire(import.meta.url);"
# The CUDA addon and kernels beside the bundle (runtime/backends/cuda/index.ts looks there first).
cp runtime/backends/cuda/build/Release/gradbook_cuda.node runtime/backends/cuda/build/kernels.fatbin .device/
# The native CPU backend (the comparison side) is found at build/Release/ from the repo root:
# carry "build/Release" too. Without it the checks compare against the TypeScript reference.
if [ -f build/Release/gradbook_cpu.node ]; then echo "gradbook: CPU addon present: carry build/Release"; else echo "gradbook: no CPU addon built: the checks will compare with the reference backend"; fi
[ -s .device/node.xz ] || echo "gradbook: .device/node.xz missing: run bash ../shared/device/pack.sh" >&2
du -sh .device
ls -la .device

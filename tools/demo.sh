#!/usr/bin/env bash
# make demo: show facesearch on the six sample photos of the model package.
set -euo pipefail
BIN=${BIN:-build/facesearch}
MODELS=${MODELS:-models}
echo "== facesearch info: decoding the sample photos"
"$BIN" info "$MODELS"/demo/sample*.jpg

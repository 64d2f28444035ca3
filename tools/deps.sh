#!/usr/bin/env bash
# Installs what facesearch needs on Debian 12 and builds the FAISS C API.
#
#   tools/deps.sh [--quiet]     (DEPS_DIR: where the FAISS C API is cached)
#
# Debian's libfaiss-dev ships the c_api headers, but its libfaiss.a holds no
# C API symbols.  We fetch the *same* faiss source package through apt (adding
# a deb-src entry when none exists), check its version equals the installed
# binary's, and compile c_api/*.cpp into libfaiss_c.a once.  Nothing comes from
# anywhere but the Debian and npm registries.
set -euo pipefail

QUIET=0
[ "${1:-}" = "--quiet" ] && QUIET=1
DEPS_DIR=${DEPS_DIR:-build/deps}
FAISS_VERSION=1.7.3

PACKAGES=(gcc g++ make dpkg-dev libfaiss-dev liblmdb-dev libopenblas-openmp-dev
          libturbojpeg0-dev libpng-dev zlib1g-dev)

log() { [ "$QUIET" = 1 ] || echo "deps: $*"; }
die() { echo "deps: error: $*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else die "need root (or sudo) to run: $*"; fi
}

command -v dpkg-query >/dev/null || die "this set-up script supports Debian/Ubuntu (dpkg) only"

missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
# npm is only needed to fetch the model package; any npm on PATH will do.
command -v npm >/dev/null || missing+=(npm)

apt_updated=0
apt_update() {
    [ "$apt_updated" = 1 ] && return
    as_root apt-get update -qq
    apt_updated=1
}

if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    apt_update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# --- FAISS C API -----------------------------------------------------------
lib="$DEPS_DIR/faiss-$FAISS_VERSION-capi/libfaiss_c.a"
if [ -f "$lib" ]; then
    log "FAISS C API present: $lib"
    exit 0
fi

bin_version=$(dpkg-query -W -f='${Version}' libfaiss-dev)
# A binNMU (+bN) rebuilds the same source: strip it to get the source version.
src_version=${bin_version%%+b*}
case "$src_version" in
    "$FAISS_VERSION"-*) ;;
    *) die "libfaiss-dev is $bin_version, facesearch expects $FAISS_VERSION" ;;
esac

has_src_version() {
    apt-cache showsrc faiss 2>/dev/null | grep -qx "Version: $src_version"
}
if ! has_src_version; then
    if ! cat /etc/apt/sources.list /etc/apt/sources.list.d/* 2>/dev/null |
            grep -qE '^(deb-src|Types:.*deb-src)'; then
        suite=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
        echo "deps: adding a deb-src entry for $suite (to fetch the faiss source package)"
        as_root tee /etc/apt/sources.list.d/facesearch-src.sources >/dev/null <<SRC
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    fi
    apt_updated=0
    apt_update
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "deps: fetching faiss $src_version source package"
(cd "$work" && apt-get source -qq --download-only "faiss=$src_version" >/dev/null 2>&1) ||
    die "could not download the faiss $src_version source package"
dsc=$(ls "$work"/faiss_*.dsc)
got=$(sed -n 's/^Version: //p' "$dsc")
[ "$got" = "$src_version" ] || die "source package is $got, installed binary is $bin_version"
(cd "$work" && dpkg-source --no-check -x "$(basename "$dsc")" src >/dev/null) ||
    die "could not unpack $dsc"

echo "deps: compiling the FAISS C API ($src_version)"
out="$work/obj"
mkdir -p "$out"
srcs=$(cd "$work/src/c_api" && ls *.cpp impl/*.cpp utils/*.cpp)
jobs=$(nproc 2>/dev/null || echo 2)
printf '%s\n' $srcs | xargs -P "$jobs" -I{} sh -c '
    o="$2/$(echo "$1" | tr / _).o"
    g++ -std=c++17 -O2 -fPIC -fopenmp -I"$3" -c "$3/c_api/$1" -o "$o"' _ {} "$out" "$work/src" ||
    die "FAISS C API compilation failed"
mkdir -p "$(dirname "$lib")"
ar rcs "$lib.tmp" "$out"/*.o
mv "$lib.tmp" "$lib"
echo "$bin_version" > "$(dirname "$lib")/VERSION"
log "built $lib"

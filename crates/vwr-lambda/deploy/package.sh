#!/usr/bin/env bash
# Builds the Tier-1 Lambda zips the SAM template deploys, for the provided.al2023 runtime:
#   dist/<arch>/vwr-api.zip, dist/<arch>/vwr-advancer.zip   (arch: arm64, x86_64)
# each holding one executable `bootstrap`. AL2023's glibc is 2.34, older than the one a
# build machine usually has, so the binaries are linked against 2.34 with zig
# (cargo-lambda + ziglang from PyPI, installed once under $HOME/.cache/urr/tools).
# Then it checks what is inside each zip: only `bootstrap`, executable, an ELF for the
# zip's architecture, needing no glibc symbol newer than 2.34 and no library AL2023's
# base image lacks.
#
# usage: package.sh [arm64] [x86_64]   (default: both)
# URR_LAMBDA_PROFILE picks the cargo profile: `release` (the default, what to deploy) or
# `lambda-check` (release without LTO: what CI builds to check the packaging, in a
# fraction of the time; Cargo.toml).
# On the project machine (2 cores, shared with other builds) a cold release build took
# 19 min for arm64 and 20 min for x86_64 (cargo-lambda's release profile: LTO, one
# codegen unit); with nothing changed, seconds. Cross-building needs the target's Rust
# standard library (`rustup target add aarch64-unknown-linux-gnu`; the script tries).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
cd "$root"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/urr/target}"
tools="${URR_TOOLS_DIR:-$HOME/.cache/urr/tools}"
venv="$tools/lambda-venv"
python_tools="cargo-lambda==1.9.2 ziglang==0.17.1"
glibc_max=2.34
binaries=(vwr-api vwr-advancer)
dist="$here/dist"
profile="${URR_LAMBDA_PROFILE:-release}"

archs=("$@")
[ ${#archs[@]} -gt 0 ] || archs=(arm64 x86_64)

if [ ! -f "$venv/.installed" ] || [ "$(cat "$venv/.installed")" != "$python_tools" ]; then
    echo "installing $python_tools into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    # shellcheck disable=SC2086 # one word per requirement
    "$venv/bin/pip" install --quiet --disable-pip-version-check $python_tools
    echo "$python_tools" >"$venv/.installed"
fi
# cargo-lambda finds zig through the venv's python (`python3 -m ziglang`).
export PATH="$venv/bin:$PATH"

triple_of() {
    case $1 in
        arm64) echo aarch64-unknown-linux-gnu ;;
        x86_64) echo x86_64-unknown-linux-gnu ;;
        *) echo "unknown architecture $1 (arm64 or x86_64)" >&2; return 1 ;;
    esac
}
machine_of() {
    case $1 in
        arm64) echo AArch64 ;;
        x86_64) echo "X86-64" ;;
    esac
}

# check_zip ZIP ARCH: what AWS will unpack and run.
check_zip() {
    local zip=$1 arch=$2 tmp entries newest needed
    entries=$(unzip -Z1 "$zip")
    if [ "$entries" != bootstrap ]; then
        echo "$zip: holds [$entries], not just bootstrap" >&2
        return 1
    fi
    if ! unzip -Z "$zip" bootstrap | grep -q '^-rwx'; then
        echo "$zip: bootstrap is not executable in the zip" >&2
        return 1
    fi
    tmp=$(mktemp -d)
    unzip -q "$zip" -d "$tmp"
    if ! readelf -h "$tmp/bootstrap" | grep -q "Machine:.*$(machine_of "$arch")"; then
        echo "$zip: bootstrap is not an $arch ELF: $(readelf -h "$tmp/bootstrap" | grep Machine)" >&2
        rm -rf "$tmp"
        return 1
    fi
    newest=$(readelf -V --wide "$tmp/bootstrap" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' |
        sort -V | tail -1)
    if [ "$(printf '%s\n%s\n' "$newest" "$glibc_max" | sort -V | tail -1)" != "$glibc_max" ]; then
        echo "$zip: bootstrap needs glibc $newest; AL2023 has $glibc_max" >&2
        rm -rf "$tmp"
        return 1
    fi
    needed=$(readelf -d "$tmp/bootstrap" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | tr '\n' ' ')
    for lib in $needed; do
        case $lib in
            libc.so.6 | libm.so.6 | libgcc_s.so.1 | libpthread.so.0 | libdl.so.2 | librt.so.1 | ld-linux-*) ;;
            *)
                echo "$zip: bootstrap needs $lib, which provided.al2023 does not ship" >&2
                rm -rf "$tmp"
                return 1
                ;;
        esac
    done
    echo "  ${zip#"$root"/}: bootstrap, $(machine_of "$arch") ELF, $(du -h "$tmp/bootstrap" | cut -f1), needs glibc $newest (<= $glibc_max), links [${needed% }]"
    rm -rf "$tmp"
}

status=0
for arch in "${archs[@]}"; do
    triple=$(triple_of "$arch")
    if ! rustup target list --installed | grep -qx "$triple"; then
        echo "adding the Rust standard library for $triple"
        if ! rustup target add "$triple"; then
            echo "cannot build $arch: rustup could not fetch the $triple standard library" >&2
            status=1
            continue
        fi
    fi
    started=$(date +%s)
    out="$CARGO_TARGET_DIR/lambda-zip/$arch"
    rm -rf "$out"
    echo "building ${binaries[*]} for $arch ($triple, glibc $glibc_max, profile $profile)"
    cargo lambda build --profile "$profile" --locked -p urr-vwr \
        --target "$triple.$glibc_max" --output-format zip --lambda-dir "$out"
    mkdir -p "$dist/$arch"
    for bin in "${binaries[@]}"; do
        cp "$out/$bin/bootstrap.zip" "$dist/$arch/$bin.zip"
        check_zip "$dist/$arch/$bin.zip" "$arch" || status=1
    done
    echo "$arch: built and checked in $(($(date +%s) - started)) s"
done
exit $status

#!/usr/bin/env bash
# Install, from Debian 12's packages, whatever oernode needs to build, run
# and test that is not installed yet.  Uses sudo when not run as root.
set -euo pipefail

packages=(
    build-essential cmake pkg-config git openssh-client
    libuv1-dev libgit2-dev libssl-dev libmsgpack-dev libsqlite3-dev
    libjansson-dev libxml2-dev libmicrohttpd-dev libcmocka-dev
    libutf8proc-dev libxml2-utils curl python3-msgpack libcsv-dev zlib1g-dev
    clang libclang-rt-14-dev
    libhttp-oai-perl libcurl4-openssl-dev
    openssl
    chromium nodejs
    python3-prometheus-client
    wrk
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
            grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"

#!/usr/bin/env bash
# Bulk transfer through oernode's TLS (federation/tls) against openssl
# s_server / s_client moving the same bytes over loopback, TLS 1.3 with
# Ed25519 certificates on both.  Builds bench/tls_bench (Release, no
# sanitizers) in its own folder, runs both in this one run, and prints
# each throughput and the ratio.  bench/README.md says what is measured.
#
#   bench/tls.sh [MIB]      (default 512; BUILD=folder to build elsewhere)
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
mib=${1:-512}
build=${BUILD:-$src/build-bench}
for tool in cmake openssl ss; do
    command -v "$tool" >/dev/null || { echo "tls.sh: needs $tool" >&2; exit 1; }
done

mkdir -p "$build"
{ cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=Release -DOERNODE_BENCH=ON \
    -DOERNODE_SANITIZE=OFF -DOERNODE_FUZZ=OFF &&
  cmake --build "$build" -j"$(nproc)" --target tls_bench; } >"$build/bench.log" 2>&1 ||
    { cat "$build/bench.log" >&2; echo "tls.sh: build failed" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/oernode-tls-bench-XXXXXX")
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
rate() { awk -v m="$mib" -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", m / (b - a) }'; }

# oernode: one loop (both ends on one thread), then two processes
ours=$(timeout 600 "$build/bench/tls_bench" -n "$mib")
ours_fork=$(timeout 600 "$build/bench/tls_bench" -n "$mib" --fork)

# openssl: an Ed25519 certificate, the bytes in a file (page cache)
openssl genpkey -algorithm ed25519 -out "$work/key.pem" 2>/dev/null
openssl req -x509 -new -key "$work/key.pem" -subj /CN=bench -days 1 \
    -out "$work/cert.pem" 2>/dev/null
head -c "$((mib * 1024 * 1024))" /dev/urandom >"$work/data"

# s_server stops at the end of its stdin: give it a FIFO held open here
mkfifo "$work/stdin"
exec 3<>"$work/stdin"
openssl s_server -tls1_3 -cert "$work/cert.pem" -key "$work/key.pem" \
    -quiet -naccept 1 -accept 127.0.0.1:0 <&3 >/dev/null 2>"$work/server.err" &
server=$!
# -quiet prints no ACCEPT line: ask the kernel which port it bound
port=
for _ in $(seq 100); do
    port=$(ss -Htlnp 2>/dev/null | awk -v p="pid=$server," \
        'index($0, p) { n = split($4, a, ":"); print a[n]; exit }')
    [ -n "$port" ] && break
    sleep 0.05
done
[ -n "$port" ] || { cat "$work/server.err" >&2; echo "tls.sh: s_server did not listen" >&2; exit 1; }

# from the client's start until the server has read all and exited
t0=$(now)
# -nocommands: a line of the data starting with R or k is no command
timeout 600 openssl s_client -tls1_3 -quiet -no_ign_eof -nocommands \
    -connect "127.0.0.1:$port" <"$work/data" >/dev/null 2>"$work/client.err"
wait "$server"
t1=$(now)
server=
exec 3>&-
theirs=$(rate "$t0" "$t1")

one=${ours%% *}
two=${ours_fork%% *}
echo "oernode tls:  $ours"
echo "oernode tls:  $ours_fork"
echo "openssl:      $theirs MiB/s	$mib MiB, s_client file -> s_server /dev/null, two processes"
awk -v a="$one" -v b="$two" -v o="$theirs" 'BEGIN {
    printf "ratio oernode/openssl: %.2f (one loop), %.2f (two processes)\n", a / o, b / o }'

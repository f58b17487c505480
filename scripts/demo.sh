#!/usr/bin/env bash
# The README's run command: two demo nodes that federate, on loopback.
#   demo-nl  Dutch node: data/nl, search page http://127.0.0.1:8080/
#   demo-vl  Flemish node: data/vl, search page http://127.0.0.1:8081/
# Each is made on first use and holds its own demo records (demo/); both
# are checked with oernode fsck and stock git, peered with each other,
# and served until Ctrl-C.  Each node's catalogue reaches the other over
# TLS, so either page finds the records of both, with levels shown in
# the searcher's system.  Ports: DEMO_PORT (first HTTP port, default
# 8080; HTTP uses it and the next, the peer links 7440 and 7441 unless
# DEMO_PEER_PORT is set).  The folder: DEMO_DATA (default ./data).
set -euo pipefail

bin=${1:-build/oernode}
top=$(cd "$(dirname "$0")/.." && pwd)
root=${DEMO_DATA:-$top/data}
http_port=${DEMO_PORT:-8080}
peer_port=${DEMO_PEER_PORT:-7440}
names=(nl vl)

if [ -f "$root/config" ]; then
    echo "error: $root holds the single demo node of an older oernode;" \
        "remove $root (or set DEMO_DATA to another folder) for the" \
        "two-node demo" >&2
    exit 1
fi

n() { "$bin" -q --data "$root/$1" "${@:2}"; }
fingerprint() { n "$1" id | sed -n 's/^fingerprint: //p'; }

i=0
for name in "${names[@]}"; do
    dir=$root/$name
    if [ ! -f "$dir/config" ]; then
        echo "== creating the demo node demo-$name in $dir"
        mkdir -p "$root"
        "$bin" init --id "demo-$name" --data "$dir"
    fi
    git config -f "$dir/config" listen.http "127.0.0.1:$((http_port + i))"
    git config -f "$dir/config" listen.peer "127.0.0.1:$((peer_port + i))"
    i=$((i + 1))
done

echo "== importing the demo records (a second run changes nothing)"
n nl import lom "$top/demo/records.xml"
n nl import lom "$top/demo/records-nl.xml"
n vl import lom "$top/demo/records-vl.xml"
if ! n nl list | grep -q 'Photosynthesis: worksheet'; then
    echo "== adding a resource with a file to demo-nl"
    n nl add --title "en:Photosynthesis: worksheet" --language en \
        --licence "CC BY 4.0" --type exercise --audience learner \
        --description "en:Four questions to go with the photosynthesis diagrams." \
        "$top/demo/worksheet.md" >/dev/null
fi

echo "== peering demo-nl and demo-vl (each pins the other's key)"
for pair in "nl vl 1" "vl nl 0"; do
    set -- $pair
    if ! n "$1" peer list | grep -q "^demo-$2\b"; then
        n "$1" peer add "demo-$2" "127.0.0.1:$((peer_port + $3))" \
            "$(fingerprint "$2")"
    fi
done

echo "== checking the stores"
signers=$(mktemp)
pids=()
cleanup() {
    rm -f "$signers"
    if [ ${#pids[@]} -gt 0 ]; then
        kill "${pids[@]}" 2>/dev/null || true
        wait "${pids[@]}" 2>/dev/null || true
    fi
}
trap cleanup EXIT
trap 'echo; echo "== stopping both nodes"; exit 0' INT TERM
for name in "${names[@]}"; do
    n "$name" fsck
    n "$name" id --allowed-signers >"$signers"
    git -C "$root/$name/repo.git" -c gpg.format=ssh \
        -c gpg.ssh.allowedSignersFile="$signers" \
        verify-commit "refs/catalog/demo-$name" 2>/dev/null
    echo "demo-$name: git verify-commit: its catalogue head is signed" \
        "by its key"
done

echo "== starting both nodes (logs: $root/nl.log, $root/vl.log)"
for name in "${names[@]}"; do
    "$bin" --data "$root/$name" serve </dev/null >>"$root/$name.log" 2>&1 &
    pids+=($!)
done

# Each node's catalogue reaches the other; wait until both hold both and
# both answer on their HTTP port as the node they are.
tip() { git -C "$root/$1/repo.git" rev-parse -q --verify "$2" 2>/dev/null; }
converged() {
    [ "$(tip nl refs/catalog/demo-vl)" = "$(tip vl refs/catalog/demo-vl)" ] &&
        [ "$(tip vl refs/catalog/demo-nl)" = "$(tip nl refs/catalog/demo-nl)" ]
}
answers() { # answers NAME PORT: the node's own /api/status answers there
    curl -s --max-time 2 "http://127.0.0.1:$2/api/status" 2>/dev/null |
        grep -q "\"node\":\"demo-$1\""
}
up() { answers nl "$http_port" && answers vl "$((http_port + 1))"; }
stopped() {
    echo
    echo "error: a node stopped; the end of its log:" >&2
    tail -n 5 "$root/nl.log" "$root/vl.log" >&2
    echo "(a port in use? DEMO_PORT and DEMO_PEER_PORT move them;" \
        "now HTTP $http_port-$((http_port + 1)), peers" \
        "$peer_port-$((peer_port + 1)))" >&2
    exit 1
}
printf '== waiting for the nodes to sync '
for _ in $(seq 120); do
    for p in "${pids[@]}"; do
        kill -0 "$p" 2>/dev/null || stopped
    done
    up && converged && break
    printf '.'
    sleep 0.5
done
echo
for p in "${pids[@]}"; do
    kill -0 "$p" 2>/dev/null || stopped
done
if ! up; then
    echo "error: the nodes do not answer on 127.0.0.1:$http_port and" \
        ":$((http_port + 1)) (another program there? DEMO_PORT moves them)" >&2
    exit 1
fi
if converged; then
    echo "both nodes hold both catalogues:"
else
    echo "not synced after 60 s (see the logs); what each node holds:"
fi
for name in "${names[@]}"; do
    echo "  demo-$name: $(n "$name" list --origin demo-nl | wc -l) records" \
        "of demo-nl, $(n "$name" list --origin demo-vl | wc -l) of demo-vl"
done

page_nl="http://127.0.0.1:$http_port/"
page_vl="http://127.0.0.1:$((http_port + 1))/"
echo "== serving (Ctrl-C stops both nodes)"
echo "   Dutch node:    $page_nl#q=breuken&system=nl"
echo "   Flemish node:  $page_vl#q=breuken&system=be-vl"
echo "   Search 'breuken' on either page: the Flemish and the Dutch"
echo "   worksheets both appear, each level shown in the page's system."
echo "   The API: ${page_nl}api/search?q=breuken, ${page_nl}api/status;"
echo "   the command line: $bin --data $root/nl list (or show, log, --help)"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && command -v xdg-open >/dev/null; then
    xdg-open "$page_nl#q=breuken&system=nl" >/dev/null 2>&1 || true
fi
wait "${pids[@]}"

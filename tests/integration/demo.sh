#!/usr/bin/env bash
# The README's run command (scripts/demo.sh, what `make run` starts): two
# demo nodes come up, each catalogue reaches the other, both search pages
# answer, a search on the Dutch node finds the Flemish worksheet with its
# level shown in the Dutch system, and Ctrl-C (SIGINT) stops both nodes.
# A second run reuses the nodes and changes nothing; a third, with a port
# taken by another program, fails saying so.
set -euo pipefail

. "$(dirname "$0")/lib.bash"

src=${OERNODE_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}

# The demo listens on fixed ports; ask the kernel for free ones first.
free_ports() {
    python3 -c '
import socket
socks = []
for _ in range(2):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
ports = [s.getsockname()[1] for s in socks]
print(*ports)'
}

run_demo() { # run_demo OUT: the demo in the background, its pid in demo_pid
    read -r http_a http_b < <(free_ports)
    read -r peer_a peer_b < <(free_ports)
    # Job control: the demo gets its own process group and, unlike a
    # plain background job, does not start with SIGINT ignored.
    set -m
    DEMO_DATA=$work/data DEMO_PORT=$http_a DEMO_PEER_PORT=$peer_a \
        "$src/scripts/demo.sh" "$OERNODE" >"$1" 2>&1 &
    demo_pid=$!
    set +m
    for _ in $(seq 600); do
        grep -q '^== serving' "$1" && return 0
        kill -0 "$demo_pid" 2>/dev/null || break
        sleep 0.1
    done
    cat "$1" >&2
    fail "the demo did not reach '== serving'"
}
stop_demo() { # stop_demo OUT: SIGINT to the group, as Ctrl-C sends it
    kill -INT -- "-$demo_pid"
    for _ in $(seq 100); do
        kill -0 "$demo_pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$demo_pid" 2>/dev/null && fail "the demo ignored SIGINT"
    wait "$demo_pid" 2>/dev/null || true
    pgrep -f -- "--data $work/data/" >/dev/null &&
        fail "a demo node still runs after SIGINT"
    contains "$1" "== stopping both nodes"
}
trap 'pkill -f -- "--data $work/data/" 2>/dev/null || true' EXIT

run_demo "$work/run1"
contains "$work/run1" "both nodes hold both catalogues"
contains "$work/run1" "git verify-commit: its catalogue head is signed"
port_a=$(sed -n 's|^   Dutch node: *http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$work/run1")
port_b=$(sed -n 's|^   Flemish node: *http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$work/run1")
[ -n "$port_a" ] && [ -n "$port_b" ] || fail "no page addresses printed"

for port in "$port_a" "$port_b"; do
    check "page on $port" test "$(http_get "http://127.0.0.1:$port/")" = 200
    contains "$work/body" "<html"
done

# The Dutch node finds the Flemish worksheet, its level in Dutch terms.
check "search" test "$(http_get \
    "http://127.0.0.1:$port_a/api/search?q=breuken&system=nl&lang=nl")" = 200
python3 - "$work/body" <<'PY' || fail "search on the Dutch node"
import json, sys
hits = json.load(open(sys.argv[1]))["hits"]
origins = {h["id"].split("/")[0] for h in hits}
assert origins >= {"demo-nl", "demo-vl"}, origins
vl = [h for h in hits if h["title"] == "Breuken vergelijken met stroken"]
assert len(vl) == 1, [h["title"] for h in hits]
eq = [l["equivalent"] for l in vl[0]["levels"] if "equivalent" in l]
assert any(e["system"] == "nl" and e["id"] == "po_groep7" for e in eq), eq
PY
stop_demo "$work/run1"

# Both stores pass stock git's check.
for n in nl vl; do
    check "git fsck $n" git -C "$work/data/$n/repo.git" fsck --strict --no-dangling
done

# A second run imports nothing new and syncs at once.
run_demo "$work/run2"
contains "$work/run2" "0 new, 0 updated, 6 unchanged"
contains "$work/run2" "both nodes hold both catalogues"
stop_demo "$work/run2"

# A third run with the Dutch node's HTTP port taken by another program:
# the demo says so and stops, though the stores are in sync already.
read -r busy peer_c < <(free_ports)
python3 -m http.server "$busy" --bind 127.0.0.1 >/dev/null 2>&1 &
holder=$!
trap 'kill $holder 2>/dev/null || true; pkill -f -- "--data $work/data/" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
    curl -s -o /dev/null "http://127.0.0.1:$busy/" && break
    sleep 0.1
done
code=0
DEMO_DATA=$work/data DEMO_PORT=$busy DEMO_PEER_PORT=$peer_c \
    timeout 120 "$src/scripts/demo.sh" "$OERNODE" >"$work/run3" 2>&1 || code=$?
kill "$holder"
[ "$code" = 1 ] || { cat "$work/run3" >&2; fail "a taken port: exit $code, want 1"; }
contains "$work/run3" "DEMO_PORT and DEMO_PEER_PORT move them"
grep -q '^== serving' "$work/run3" && fail "the demo said it serves"
pgrep -f -- "--data $work/data/" >/dev/null &&
    fail "a demo node still runs after the failed start"
echo "demo: ok"

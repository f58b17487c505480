#!/usr/bin/env bash
# Federated search end to end: real `oernode serve` nodes on loopback
# over TLS.  cc publishes; bb and dd, peered with cc, hold its catalogue
# and relay it; aa, peered with bb and dd, takes bb's and dd's catalogues
# but not cc's (policy.accept).  A search on aa returns its local hits
# first, then cc's hit once (bb and dd both hold it) marked with the peer
# it came from; a stopped peer costs no more than the wait; peers=0 asks
# nobody; a query full of FTS5 syntax reaches the peers and is answered
# safely; searches waiting for a stopped peer hold no worker thread;
# peers that go down are no longer asked, and one that comes back is.
set -euo pipefail

. "$(dirname "$0")/lib.bash"

command -v curl >/dev/null || { echo "curl not installed"; exit 77; }
command -v python3 >/dev/null || { echo "python3 not installed"; exit 77; }

times=(--ping-interval 500 --silence-limit 20000 --handshake-timeout 2000
    --retry-min 100 --retry-max 400)
pids=()
stopped=
cleanup() {
    [ -n "$stopped" ] && kill -CONT "$stopped" 2>/dev/null
    kill "${pids[@]}" 2>/dev/null || true
}
trap cleanup EXIT

node() { "$OERNODE" -q --data "$work/$1" "${@:2}"; }
fingerprint() { node "$1" id | sed -n 's/^fingerprint: //p'; }
start() { # start NODE: serve -v, ports to NODE.http/.peer
    "$OERNODE" --data "$work/$1" -v serve --http 127.0.0.1:0 \
        --port-file "$work/$1.http" --peer 127.0.0.1:0 \
        --peer-port-file "$work/$1.peer" "${times[@]}" \
        </dev/null >"$work/$1.out" 2>>"$work/$1.log" &
    pids+=($!)
    eval "pid_$1=$!"
    for _ in $(seq 100); do
        [ -s "$work/$1.http" ] && [ -s "$work/$1.peer" ] && return 0
        sleep 0.1
    done
    cat "$work/$1.log" >&2
    fail "$1 did not start"
}
wait_for() { # wait_for WHAT COMMAND...: until the command succeeds (30 s)
    local what=$1; shift
    for _ in $(seq 300); do
        "$@" && return 0
        sleep 0.1
    done
    cat "$work"/*.log >&2
    fail "$what"
}
add() { # add NODE TITLE: a record, its id printed
    node "$1" add --title "en:$2" --language en \
        --licence "https://creativecommons.org/licenses/by/4.0/" \
        "https://example.org/$RANDOM$RANDOM"
}
has() { node "$1" list --origin "$2" 2>/dev/null | grep -qF -- "$3"; }
search() { # search NODE QUERY-STRING: the answer to $work/answer
    curl -s -o "$work/answer" -w '%{http_code}' \
        "http://127.0.0.1:$(cat "$work/$1.http")/api/search?$2"
}
# ask CODE [ARG...]: python checks of the answer as `a`, ARGs from argv[2]
ask() {
    python3 -c 'import json,sys; a=json.load(open(sys.argv[1])); '"$1" \
        "$work/answer" "${@:2}"
}
connected() { # connected NODE PEER
    curl -s "http://127.0.0.1:$(cat "$work/$1.http")/api/peers" |
        python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if any(p["id"]==sys.argv[1] and p["state"]=="connected" for p in d["peers"]) else 1)' "$2"
}

for n in aa bb cc dd; do
    node "$n" init --id "$n" >/dev/null
done
c1=$(add cc "Photosynthesis in leaves")
add cc "Volcanoes of Iceland" >/dev/null
b1=$(add bb "Photosynthesis with a lamp")
a1=$(add aa "Photosynthesis at home")

# cc listens for bb and dd; bb and dd listen for aa.
node cc peer add bb 127.0.0.1:1 "$(fingerprint bb)" >/dev/null
node cc peer add dd 127.0.0.1:1 "$(fingerprint dd)" >/dev/null
start cc
for n in bb dd; do
    node "$n" peer add cc "127.0.0.1:$(cat "$work/cc.peer")" \
        "$(fingerprint cc)" >/dev/null
    node "$n" peer add aa 127.0.0.1:1 "$(fingerprint aa)" >/dev/null
    start "$n"
done
git config -f "$work/aa/config" policy.accept bb
git config -f "$work/aa/config" --add policy.accept dd
for n in bb dd; do
    node aa peer add "$n" "127.0.0.1:$(cat "$work/$n.peer")" \
        "$(fingerprint "$n")" >/dev/null
done
start aa

wait_for "bb never got cc's records" has bb cc "$c1"
wait_for "dd never got cc's records" has dd cc "$c1"
wait_for "aa never got bb's records" has aa bb "$b1"
wait_for "aa not connected to bb" connected aa bb
wait_for "aa not connected to dd" connected aa dd
has aa cc "$c1" && fail "aa took cc's catalogue against its policy"

# Local hits first, then cc's hit from a peer, once.
[ "$(search aa 'q=photosynthesis&wait_ms=2000')" = 200 ] ||
    fail "search on aa: $(cat "$work/answer")"
ask '
ids = [h["id"] for h in a["hits"]]
src = {h["id"]: h["source"] for h in a["hits"]}
assert ids.count(sys.argv[2]) == 1, ("cc hit", ids)
assert src[sys.argv[2]] in ("bb", "dd"), src
assert src[sys.argv[3]] == "local" and src[sys.argv[4]] == "local", src
assert len(ids) == len(set(ids)), ("duplicates", ids)
first_peer = min(i for i, h in enumerate(a["hits"]) if h["source"] != "local")
assert all(h["source"] == "local" for h in a["hits"][:first_peer])
assert all(h["source"] != "local" for h in a["hits"][first_peer:])
st = {p["id"]: p["status"] for p in a["peers"]}
assert st == {"bb": "answered", "dd": "answered"}, st
# aa tells them what it holds (its own, bb and dd): each sends cc hit only
sent = {p["id"]: p["hits"] for p in a["peers"]}
assert sent == {"bb": 1, "dd": 1}, sent
' "$c1" "$a1" "$b1" || fail "merged answer: $(cat "$work/answer")"
# "Volcanoes" is cc's only: no local hit, one from a peer.
search aa 'q=volcanoes' >/dev/null
ask 'assert [h["source"] for h in a["hits"]] in (["bb"], ["dd"]), a' ||
    fail "volcanoes: $(cat "$work/answer")"

# peers=0 and wait_ms=0 ask nobody.
search aa 'q=photosynthesis&peers=0' >/dev/null
ask 'assert a["peers"] == [] and all(h["source"] == "local" for h in a["hits"]), a' ||
    fail "peers=0: $(cat "$work/answer")"
search aa 'q=photosynthesis&wait_ms=0' >/dev/null
ask 'assert a["peers"] == [], a' || fail "wait_ms=0: $(cat "$work/answer")"
for bad in 'peers=2' 'wait_ms=2001' 'wait_ms=-1' 'wait_ms=x'; do
    [ "$(search aa "q=x&$bad")" = 400 ] || fail "$bad: not refused"
    contains "$work/answer" bad_parameter
done

# A stopped peer is asked, times out, and costs no more than the wait.
kill -STOP "$pid_dd"
stopped=$pid_dd
t0=$(date +%s%N)
search aa 'q=photosynthesis&wait_ms=300' >/dev/null
ms=$((($(date +%s%N) - t0) / 1000000))
kill -CONT "$pid_dd"
stopped=
ask '
st = {p["id"]: p["status"] for p in a["peers"]}
assert st == {"bb": "answered", "dd": "timeout"}, st
assert any(h["source"] == "bb" for h in a["hits"]), a
' || fail "slow peer: $(cat "$work/answer")"
[ "$ms" -lt 1500 ] || fail "a search with a stopped peer took $ms ms"

# Searches waiting for a stopped peer hold no worker thread: eight at
# once (twice libuv's four workers) all end after one wait, and a search
# that asks no peer is answered meanwhile.
kill -STOP "$pid_dd"
stopped=$pid_dd
base="http://127.0.0.1:$(cat "$work/aa.http")/api/search"
t0=$(date +%s%N)
waiting=()
for i in 1 2 3 4 5 6 7 8; do
    curl -s -o "$work/wait$i" "$base?q=photosynthesis&wait_ms=2000" &
    waiting+=($!)
done
sleep 0.2
t1=$(date +%s%N)
[ "$(search aa 'q=photosynthesis&peers=0')" = 200 ] ||
    fail "peers=0 beside waiting searches: $(cat "$work/answer")"
quick=$((($(date +%s%N) - t1) / 1000000))
wait "${waiting[@]}"
ms=$((($(date +%s%N) - t0) / 1000000))
kill -CONT "$pid_dd"
stopped=
[ "$quick" -lt 1000 ] ||
    fail "a search asking no peer took $quick ms beside eight waiting ones"
[ "$ms" -lt 3500 ] || fail "eight searches waiting 2 s took $ms ms"
# bb answers four of aa's searches at once and refuses more as busy; aa
# asks no peer a fifth question while four wait for it: the stopped dd
# gets four, and is skipped by the other four searches
python3 -c 'import json,sys
answered = 0
dd = {"timeout": 0, "skipped": 0}
for f in sys.argv[1:]:
    a = json.load(open(f))
    st = {p["id"]: p for p in a["peers"]}
    dd[st["dd"]["status"]] += 1
    if st["dd"]["status"] == "skipped":
        assert st["dd"]["error"].startswith("busy: "), (f, st)
        assert "ms" not in st["dd"], (f, st)
    assert st["bb"]["status"] == "answered" or \
        st["bb"].get("error") == "busy" or \
        st["bb"].get("error", "").startswith("busy: "), (f, st)
    if st["bb"]["status"] == "answered":
        answered += 1
        assert any(h["source"] == "bb" for h in a["hits"]), (f, a)
assert dd == {"timeout": 4, "skipped": 4}, dd
assert answered >= 4, answered' "$work"/wait[1-8] ||
    fail "waiting searches: $(cat "$work"/wait[1-8])"

# FTS5 syntax from a user goes to the peers as text and is answered.
for q in '%22%20OR%20title%3Ax%20NEAR(' 'photo*%20AND%20%7B(%5E' \
    '%22%22%22%22' '*' 'NOT'; do
    [ "$(search aa "q=$q&wait_ms=2000")" = 200 ] ||
        fail "hostile query $q: $(cat "$work/answer")"
    ask 'assert {p["id"]: p["status"] for p in a["peers"]} == {"bb": "answered", "dd": "answered"}, a' ||
        fail "hostile query $q: $(cat "$work/answer")"
done
search aa 'q=photo*' >/dev/null
ask 'assert any(h["source"] != "local" for h in a["hits"]), a' ||
    fail "prefix query: $(cat "$work/answer")"
for n in bb dd; do
    kill -0 "$(eval echo "\$pid_$n")" || fail "$n died"
done
grep -q 'msg="search answered" peer=aa' "$work/bb.log" ||
    fail "bb logged no answer"

# Peers that go down are not asked, nor waited for; one that comes back
# is asked again.
not_connected() { ! connected "$@"; }
kill "$pid_bb"
wait "$pid_bb" 2>/dev/null || true
wait_for "aa still connected to bb" not_connected aa bb
search aa 'q=photosynthesis&wait_ms=2000' >/dev/null
ask 'assert {p["id"]: p["status"] for p in a["peers"]} == {"dd": "answered"}, a' ||
    fail "bb down: $(cat "$work/answer")"
dd_port=$(cat "$work/dd.peer")
kill "$pid_dd"
wait "$pid_dd" 2>/dev/null || true
wait_for "aa still connected to dd" not_connected aa dd
t0=$(date +%s%N)
search aa 'q=photosynthesis&wait_ms=2000' >/dev/null
ms=$((($(date +%s%N) - t0) / 1000000))
ask 'assert a["peers"] == [] and all(h["source"] == "local" for h in a["hits"]), a' ||
    fail "no peer up: $(cat "$work/answer")"
[ "$ms" -lt 1000 ] || fail "a search with no peer up took $ms ms"
"$OERNODE" --data "$work/dd" -v serve --http 127.0.0.1:0 \
    --port-file "$work/dd.http" --peer "127.0.0.1:$dd_port" "${times[@]}" \
    </dev/null >>"$work/dd.out" 2>>"$work/dd.log" &
pid_dd=$!
pids+=($pid_dd)
wait_for "aa not connected to dd again" connected aa dd
search aa 'q=photosynthesis&wait_ms=2000' >/dev/null
ask 'assert {p["id"]: p["status"] for p in a["peers"]} == {"dd": "answered"}, a' ||
    fail "dd back: $(cat "$work/answer")"

# A clean stop while peers are asked.
kill -STOP "$pid_dd"
stopped=$pid_dd
curl -s -o /dev/null "http://127.0.0.1:$(cat "$work/aa.http")/api/search?q=x&wait_ms=2000" &
sleep 0.2
kill "$pid_aa"
wait "$pid_aa" || fail "aa did not stop cleanly"
kill -CONT "$pid_dd"
stopped=
grep -q 'msg=stopped node=aa' "$work/aa.log" || fail "aa did not log its stop"
echo "fedsearch: ok"

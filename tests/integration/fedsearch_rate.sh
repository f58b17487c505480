#!/usr/bin/env bash
# search.peer-rate end to end, two `oernode serve` nodes on loopback over
# TLS: aa allows one federated search a second each way (two at once),
# bb the default 50.  Searches on aa ask bb twice, then skip it ("rate:",
# no message sent); searches on bb are asked of aa at bb's rate, and aa
# refuses those over its own with RESULTS error "rate", logging that
# once for the whole run of refusals.  The local answer is whole
# throughout, and the connection stays.
set -euo pipefail

. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/nodes.bash"

command -v curl >/dev/null || { echo "curl not installed"; exit 77; }
command -v python3 >/dev/null || { echo "python3 not installed"; exit 77; }

add() { # add NODE TITLE: a record
    node "$1" add --title "en:$2" --language en \
        --licence "https://creativecommons.org/licenses/by/4.0/" \
        "https://example.org/$RANDOM$RANDOM" >/dev/null
}
connected() { # connected NODE PEER
    curl -s "http://127.0.0.1:$(cat "$work/$1.http")/api/peers" |
        python3 -c 'import json,sys; d=json.load(sys.stdin); sys.exit(0 if any(p["id"]==sys.argv[1] and p["state"]=="connected" for p in d["peers"]) else 1)' "$2"
}
# burst NODE N: N searches on NODE one after another, answers in
# $work/NODE.burst, one JSON document a line
burst() {
    local url i
    url="http://127.0.0.1:$(cat "$work/$1.http")/api/search?q=tides&wait_ms=1500"
    : >"$work/$1.burst"
    for i in $(seq "$2"); do
        curl -sf "$url" >>"$work/$1.burst" || fail "search $i on $1 failed"
        echo >>"$work/$1.burst"
    done
}

# neither takes the other's catalogue: a peer's hit comes by SEARCH only
for n in aa bb; do
    node "$n" init --id "$n" >/dev/null
    add "$n" "Tides of the North Sea"
    git config -f "$work/$n/config" policy.accept none
done
git config -f "$work/aa/config" search.peer-rate 1
node aa config | grep -q '^	peer-rate = 1$' || fail "aa's config: no peer-rate"
node bb config | grep -q '^	peer-rate = 50$' || fail "bb's config: no default"
node bb peer add aa 127.0.0.1:1 "$(fingerprint aa)" >/dev/null
start bb
node aa peer add bb "127.0.0.1:$(cat "$work/bb.peer")" \
    "$(fingerprint bb)" >/dev/null
start aa
wait_for "aa not connected to bb" connected aa bb
wait_for "bb not connected to aa" connected bb aa

# Asking: aa asks bb twice at once, then at most once a second.
burst aa 6
python3 -c 'import json,sys
docs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert len(docs) == 6, len(docs)
st = [d["peers"][0] for d in docs]
assert all(p["id"] == "bb" for p in st), st
assert [p["status"] for p in st[:2]] == ["answered", "answered"], st
skipped = [p for p in st if p["status"] == "skipped"]
assert len(skipped) >= 2, st
for p in skipped:
    assert p["error"].startswith("rate: "), p
    assert "ms" not in p and p["hits"] == 0, p
for d in docs:
    src = sorted((h["source"], h["id"][:3]) for h in d["hits"])
    asked = d["peers"][0]["status"] == "answered"
    assert src == ([("bb", "bb/")] if asked else []) + [("local", "aa/")], d
' "$work/aa.burst" || fail "asking: $(cat "$work/aa.burst")"
grep -q 'msg="peer not asked" peer=bb' "$work/aa.log" ||
    fail "aa logged no skipped peer"

# Answering: bb asks at its rate of 50; aa answers two, then refuses.
burst bb 6
python3 -c 'import json,sys
docs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
st = [d["peers"][0] for d in docs]
assert all(p["id"] == "aa" for p in st), st
refused = [p for p in st if p["status"] == "refused"]
assert len(refused) >= 2, st
assert all(p["error"] == "rate" for p in refused), st
assert sum(p["status"] == "answered" for p in st) + len(refused) == 6, st
for d in docs:
    src = sorted((h["source"], h["id"][:3]) for h in d["hits"])
    asked = d["peers"][0]["status"] == "answered"
    assert src == ([("aa", "aa/")] if asked else []) + [("local", "bb/")], d
' "$work/bb.burst" || fail "answering: $(cat "$work/bb.burst")"
refused=$(python3 -c 'import json,sys
print(sum(json.loads(l)["peers"][0]["status"] == "refused"
          for l in open(sys.argv[1]) if l.strip()))' "$work/bb.burst")
logged=$(grep -c 'searches refused: over search.peer-rate" peer=bb' \
    "$work/aa.log" || true)
[ "$logged" -ge 1 ] && [ "$logged" -lt "$refused" ] ||
    fail "aa logged $logged refusals for $refused refused searches"
connected aa bb || fail "the refusals cost the connection"

# A second later aa answers again.
sleep 1.1
burst bb 1
python3 -c 'import json,sys
d = json.loads(open(sys.argv[1]).readline())
assert d["peers"][0]["status"] == "answered", d' "$work/bb.burst" ||
    fail "after a second: $(cat "$work/bb.burst")"
echo "fedsearch_rate: ok"

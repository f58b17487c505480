#!/usr/bin/env bash
# Sync policy end to end, real `oernode serve` nodes on loopback.
# aa publishes two records with files, one at level 1 and one at level 2.
# bb (peer of aa, policy.level = 2) takes aa's catalogue and only the
# level-2 file.  bb offers nothing to ee ([peer "ee"] offer = none).  cc,
# a peer of bb alone trusting it to introduce keys, takes aa's key from
# bb's HEADS, records it and shows it in `oernode status`; dd, the same
# without introduce-keys, refuses it.  Then aa signs a second history:
# bb freezes aa's catalogue and `oernode status` shows both heads.
set -euo pipefail

. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/nodes.bash"

tip() { git -C "$work/$1/repo.git" rev-parse -q --verify "refs/catalog/$2"; }
caught_up() { test "$(tip "$1" aa)" = "$(tip aa aa)"; }
status() { "$OERNODE" --data "$work/$1" status --http \
    "127.0.0.1:$(cat "$work/$1.http")"; }

for n in aa bb cc dd ee; do
    node "$n" init --id "$n" >/dev/null
done
echo "primary worksheet" >"$work/one.txt"
echo "secondary worksheet" >"$work/two.txt"
one=$(git hash-object "$work/one.txt")
two=$(git hash-object "$work/two.txt")
for l in one two; do
    node aa add --title "en:Sheet $l" --language en --licence CC-BY-4.0 \
        --level "$([ $l = one ] && echo 1 || echo 2)" "$work/$l.txt" >/dev/null
done
node bb add --title "en:Of bb" --language en --licence CC0-1.0 \
    https://example.org/bb >/dev/null

# bb listens: aa, cc, dd and ee dial it.
git config -f "$work/bb/config" policy.level 2
for n in aa cc dd ee; do
    node bb peer add "$n" 127.0.0.1:1 "$(fingerprint "$n")" >/dev/null
done
git config -f "$work/bb/config" peer.ee.offer none
start bb
pb=$(cat "$work/bb.peer")
for n in aa cc dd ee; do
    node "$n" peer add bb "127.0.0.1:$pb" "$(fingerprint bb)" >/dev/null
done
git config -f "$work/cc/config" peer.bb.introduce-keys yes
mkdir "$work/ee/origin-keys"
node aa id | sed -n 's/^public key: //p' >"$work/ee/origin-keys/aa.pub"
for n in aa cc dd ee; do
    start "$n"
done

# The level filter: the catalogue whole, the level-2 file alone.
wait_for "bb never got aa's catalogue" caught_up bb
wait_for "bb never got the level-2 file" \
    git -C "$work/bb/repo.git" cat-file -e "$two"
sleep 1
git -C "$work/bb/repo.git" cat-file -e "$one" 2>/dev/null &&
    fail "bb holds the file of a level-1 record"

# A key introduced by a trusted peer: taken, recorded, shown.
wait_for "cc never got aa's catalogue through bb" caught_up cc
contains "$work/cc/origin-keys/aa.pub" "# introduced-by bb "
contains "$work/cc.log" 'msg="origin key introduced" peer=bb origin=aa'
status cc >"$work/cc.status"
contains "$work/cc.status" "  aa: $(fingerprint aa) (introduced by bb at "
check "stock ssh-keygen reads the introduced key" \
    ssh-keygen -l -f "$work/cc/origin-keys/aa.pub"

# The same from a peer not trusted to introduce keys: refused.
wait_for "dd never refused the key" grep -q \
    'msg="origin key refused: the peer may not introduce keys" peer=bb origin=aa' \
    "$work/dd.log"
tip dd aa >/dev/null && fail "dd took aa's catalogue without its key"
test -e "$work/dd/origin-keys/aa.pub" && fail "dd recorded a key"

# offer = none: ee gets nothing from bb, not even bb's own catalogue.
wait_for "ee never got HEADS" grep -q \
    'msg="message received" peer=bb type=HEADS' "$work/ee.log"
sleep 1
tip ee aa >/dev/null && fail "ee got aa's catalogue despite offer = none"
tip ee bb >/dev/null && fail "ee got bb's catalogue despite offer = none"

# HEADS carries the real count of each catalogue (counted on a worker,
# so it may come in a later HEADS), and the key.
wait_for "bb never saw aa's count" grep -qF \
    "msg=\"head offered\" peer=aa origin=aa head=$(tip aa aa) count=2 key=yes" \
    "$work/bb.log"

# aa signs a second history: bb freezes the catalogue and shows both.
kept=$(tip bb aa)
git -C "$work/aa/repo.git" update-ref refs/catalog/aa "$kept~1"
node aa add --title "en:Other history" --language en --licence CC0-1.0 \
    https://example.org/fork >/dev/null
foreign=$(tip aa aa)
wait_for "bb never froze aa's catalogue" \
    git -C "$work/bb/repo.git" rev-parse -q --verify refs/frozen/aa
test "$(tip bb aa)" = "$kept" || fail "bb's head of aa moved on a fork"
status bb >"$work/bb.status"
contains "$work/bb.status" "  aa: kept $kept, refused $foreign"
http_get "http://127.0.0.1:$(cat "$work/bb.http")/api/status" >/dev/null
contains "$work/body" "$foreign"
echo "sync_policy: ok"

#!/usr/bin/env bash
# Catalogue sync end to end: real `oernode serve` nodes on loopback.  A
# publishes; B, peered with A, receives the records (verified, with stock
# git too); a later record and a withdrawal arrive live; C, peered with B
# only, receives A's catalogue through B (relay, with A's key in
# origin-keys/); files follow the licence gate (B declares commercial
# use: an NC file is withheld); a record withdrawn and published again
# ends published on every node; a restarted B that is up to date
# exchanges only HEADS; `oernode sync` catches a stopped node up.
set -euo pipefail

. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/nodes.bash"

count() { node "$1" list --origin aa 2>/dev/null | wc -l; }
has() { node "$1" list --origin aa --all 2>/dev/null | grep -qF -- "$2"; }
has_all() { test "$(count "$1")" = "$records"; }
tip() { git -C "$work/$1/repo.git" rev-parse refs/catalog/aa 2>/dev/null; }
caught_up() { test "$(tip "$1")" = "$(tip aa)"; }

for n in aa bb cc; do
    node "$n" init --id "$n" >/dev/null
done
node aa import lom "$(dirname "$0")/../../demo/records.xml" >/dev/null
records=$(count aa)
[ "$records" -gt 0 ] || fail "aa has no records"

# bb listens; aa and cc dial it.  cc knows aa's key from a file.
git config -f "$work/bb/config" policy.commercial yes
node bb peer add aa 127.0.0.1:1 "$(fingerprint aa)" >/dev/null
node bb peer add cc 127.0.0.1:1 "$(fingerprint cc)" >/dev/null
start bb
pb=$(cat "$work/bb.peer")
node aa peer add bb "127.0.0.1:$pb" "$(fingerprint bb)" >/dev/null
node cc peer add bb "127.0.0.1:$pb" "$(fingerprint bb)" >/dev/null
mkdir "$work/cc/origin-keys"
node aa id | sed -n 's/^public key: //p' >"$work/cc/origin-keys/aa.pub"
start aa
start cc

# B receives A's catalogue, and stock git agrees.
wait_for "bb never got aa's records" has_all bb
check "git fsck --strict" git -C "$work/bb/repo.git" fsck --strict
node aa id --allowed-signers >"$work/signers"
check "git verify-commit" git -C "$work/bb/repo.git" \
    -c gpg.ssh.allowedSignersFile="$work/signers" \
    verify-commit refs/catalog/aa
check "same head" test "$(git -C "$work/bb/repo.git" rev-parse refs/catalog/aa)" \
    = "$(git -C "$work/aa/repo.git" rev-parse refs/catalog/aa)"

# C receives it through B.
wait_for "cc never got aa's records through bb" has_all cc

# A record added later arrives live, then its withdrawal as a tombstone.
id=$(node aa add --title "en:Late arrival" --language en \
    --licence "https://creativecommons.org/licenses/by/4.0/" \
    https://example.org/late)
wait_for "bb never got the new record" has bb "$id"
wait_for "cc never got the new record" has cc "$id"
node aa withdraw "$id" --reason "superseded" >/dev/null
wait_for "bb never got the tombstone" has bb "$id	withdrawn	superseded"
wait_for "cc never got the tombstone" has cc "$id	withdrawn	superseded"
git -C "$work/cc/repo.git" -c gpg.ssh.allowedSignersFile="$work/signers" \
    verify-commit refs/catalog/aa 2>/dev/null ||
    fail "cc's catalogue of aa does not verify with stock git"

# Withdrawn, then published again (the same source id): every node ends
# with the record published (case B16).
cat >"$work/back.json" <<'EOF2'
{"schema":1,"title":{"en":"Back again"},"languages":["en"],
 "licence":"CC-BY-4.0","source_id":"demo:back",
 "source_url":"https://example.org/back"}
EOF2
back=$(node aa add --json "$work/back.json")
wait_for "cc never got the record to withdraw" has cc "$back	CC-BY-4.0"
node aa withdraw "$back" --reason "by mistake" >/dev/null
wait_for "cc never got its withdrawal" has cc "$back	withdrawn	by mistake"
again=$(node aa add --json "$work/back.json")
[ "$again" = "$back" ] || fail "published again as $again, not $back"
for n in bb cc; do
    wait_for "$n never got the record published again" \
        has "$n" "$back	CC-BY-4.0	Back again"
done

# Files: a CC BY file reaches B and C; an NC one is withheld from B.
echo "free worksheet" >"$work/free.txt"
echo "non-commercial worksheet" >"$work/nc.txt"
free=$(git hash-object "$work/free.txt")
nc=$(git hash-object "$work/nc.txt")
node aa add --title "en:Free sheet" --language en \
    --licence "https://creativecommons.org/licenses/by/4.0/" \
    "$work/free.txt" >/dev/null
node aa add --title "en:NC sheet" --language en \
    --licence "https://creativecommons.org/licenses/by-nc/4.0/" \
    "$work/nc.txt" >/dev/null
wait_for "bb never got the CC BY file" \
    git -C "$work/bb/repo.git" cat-file -e "$free"
wait_for "cc never got the CC BY file" \
    git -C "$work/cc/repo.git" cat-file -e "$free"
wait_for "aa never withheld the NC file" grep -q \
    "msg=\"file withheld\" peer=bb blob=$nc status=denied-licence" \
    "$work/aa.log"
git -C "$work/bb/repo.git" cat-file -e "$nc" 2>/dev/null &&
    fail "bb holds the NC file"
check "git fsck --strict after files" git -C "$work/bb/repo.git" fsck --strict

wait_for "bb never caught up" caught_up bb
wait_for "cc never caught up" caught_up cc
sleep 1

# Restart B on its port: up to date, it exchanges only HEADS.
kill "$pid_bb"
wait "$pid_bb" || true
mv "$work/bb.log" "$work/bb.first.log"
start bb "127.0.0.1:$pb"
wait_for "bb got no HEADS from aa after the restart" \
    grep -q 'msg="message received" peer=aa type=HEADS' "$work/bb.log"
wait_for "bb got no HEADS from cc after the restart" \
    grep -q 'msg="message received" peer=cc type=HEADS' "$work/bb.log"
sleep 1.5
if grep -E 'msg="message (sent|received)"' "$work/bb.log" |
    grep -v 'type=HEADS' >"$work/extra"; then
    cat "$work/extra" >&2
    fail "an up-to-date reconnect exchanged more than HEADS"
fi
# oernode sync: cc, no longer running, catches up with bb in one shot.
kill "$pid_cc"
wait "$pid_cc" || true
id=$(node aa add --title "en:While cc was away" --language en \
    --licence "https://creativecommons.org/licenses/by/4.0/" \
    https://example.org/away)
wait_for "bb never got the record for the one-shot sync" has bb "$id"
has cc "$id" && fail "cc has the record before syncing"
"$OERNODE" --data "$work/cc" sync --timeout 30 bb >"$work/sync.out" \
    2>"$work/sync.log" || { cat "$work/sync.log" >&2; fail "oernode sync"; }
contains "$work/sync.out" "in sync with bb"
has cc "$id" || fail "oernode sync did not bring the record"
expect_exit 1 "$OERNODE" --data "$work/cc" sync nosuchpeer
contains "$work/err" "no peer 'nosuchpeer'"
echo "sync: ok"

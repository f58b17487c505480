#!/usr/bin/env bash
# A file one peer lacks is asked of another peer offering the origin.
# aa publishes a CC BY-NC file; bb declares commercial use, so it relays
# aa's catalogue without that file; cc (non-commercial) takes aa's
# catalogue from bb only (peer.aa.accept none), asks bb for the file,
# hears "missing", and asks aa, which sends it.
set -euo pipefail

. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/nodes.bash"

for n in aa bb cc; do
    node "$n" init --id "$n" >/dev/null
done
git config -f "$work/bb/config" policy.commercial yes
echo "a non-commercial worksheet" >"$work/nc.txt"
nc=$(git hash-object "$work/nc.txt")
node aa add --title "en:NC sheet" --language en --licence CC-BY-NC-4.0 \
    "$work/nc.txt" >/dev/null

# aa listens; bb and cc dial it; cc dials bb too.
node aa peer add bb 127.0.0.1:1 "$(fingerprint bb)" >/dev/null
node aa peer add cc 127.0.0.1:1 "$(fingerprint cc)" >/dev/null
start aa
node bb peer add aa "127.0.0.1:$(cat "$work/aa.peer")" "$(fingerprint aa)" \
    >/dev/null
node bb peer add cc 127.0.0.1:1 "$(fingerprint cc)" >/dev/null
start bb
wait_for "bb never got aa's catalogue" \
    git -C "$work/bb/repo.git" cat-file -e refs/catalog/aa
wait_for "aa never withheld the NC file from bb" grep -q \
    "msg=\"file withheld\" peer=bb blob=$nc status=denied-licence" \
    "$work/aa.log"

node cc peer add aa "127.0.0.1:$(cat "$work/aa.peer")" "$(fingerprint aa)" \
    >/dev/null
node cc peer add bb "127.0.0.1:$(cat "$work/bb.peer")" "$(fingerprint bb)" \
    >/dev/null
git config -f "$work/cc/config" peer.aa.accept none
start cc
wait_for "cc never got the NC file" \
    git -C "$work/cc/repo.git" cat-file -e "$nc"
contains "$work/cc.log" \
    "msg=\"file withheld by the peer\" peer=bb blob=$nc status=missing"
contains "$work/cc.log" \
    'msg="files asked of another peer" peer=aa origin=aa instead-of=bb files=1'
grep -q 'msg="catalogue updated" peer=aa' "$work/cc.log" &&
    fail "cc took aa's catalogue from aa"
git -C "$work/cc/repo.git" fsck --strict --no-progress --no-dangling \
    >"$work/fsck" 2>&1 || { cat "$work/fsck" >&2; fail "git fsck on cc"; }
echo "sync_files_elsewhere: ok"

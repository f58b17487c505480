#!/usr/bin/env bash
# Files are asked pipelined.  A answers each WANT_FILES slowly (the test
# hook OERNODE_FAULT=files-slow: four seconds, as a slow link), and
# publishes a record with a file, then another while B still waits for
# the first file: B verifies the second pack and asks for its file at
# once (two WANT_FILES outstanding), A answers them in order, and both
# files arrive whole, with no protocol error on either side.
set -euo pipefail

. "$(dirname "$0")/lib.bash"
[ "${OERNODE_TEST_HOOKS:-0}" = 1 ] || {
    echo "skipped: needs the OERNODE_FAULT hooks (cmake -DOERNODE_TEST_HOOKS=ON, as make test builds)"
    exit 77
}
. "$(dirname "$0")/nodes.bash"

for n in aa bb; do
    node "$n" init --id "$n" >/dev/null
done
node bb peer add aa 127.0.0.1:1 "$(fingerprint aa)" >/dev/null
start bb
node aa peer add bb "127.0.0.1:$(cat "$work/bb.peer")" "$(fingerprint bb)" \
    >/dev/null
OERNODE_FAULT=files-slow start aa
wait_for "aa and bb never exchanged HEADS" grep -q \
    'msg="message received" peer=aa type=HEADS' "$work/bb.log"

publish() { # publish N: a record with the file sheetN.bin
    head -c 300000 /dev/urandom >"$work/sheet$1.bin"
    node aa add --title "en:Sheet $1" --language en --licence "CC BY 4.0" \
        "$work/sheet$1.bin" >/dev/null
}
asked() { # asked N: B sent N WANT_FILES
    test "$(grep -c 'msg="message sent" peer=aa type=WANT_FILES' \
        "$work/bb.log")" -ge "$1"
}
publish 1
wait_for "bb never asked for the first file" asked 1
publish 2
wait_for "bb never asked for the second file" asked 2
held() { git -C "$work/bb/repo.git" cat-file -e "$1" 2>/dev/null; }
for i in 1 2; do
    blob=$(git hash-object "$work/sheet$i.bin")
    wait_for "bb never got file $i" held "$blob"
    git -C "$work/bb/repo.git" cat-file blob "$blob" |
        cmp -s - "$work/sheet$i.bin" || fail "file $i differs on bb"
done
contains "$work/bb.log" 'msg="files asked, pipelined" peer=aa'
contains "$work/aa.log" 'msg="WANT_FILES waits for the last one" peer=bb'
if grep -q 'msg="peer broke the sync protocol"' "$work/aa.log" "$work/bb.log"; then
    fail "a peer broke the protocol"
fi
check "git fsck --strict on bb" \
    git -C "$work/bb/repo.git" fsck --strict --no-dangling
echo "sync_files_pipelined: ok"

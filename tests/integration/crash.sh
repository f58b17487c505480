#!/usr/bin/env bash
# Crash safety through the command line: an `oernode add` killed between
# writing its objects and moving the catalogue ref (the store's one fault
# point, OERNODE_FAULT=store-before-ref) leaves the previous catalogue in
# place and a store that `oernode fsck` and `git fsck` accept; the next
# add works and its commit verifies with stock git.
set -euo pipefail

. "$(dirname "$0")/lib.bash"
[ "${OERNODE_TEST_HOOKS:-0}" = 1 ] || {
    echo "skipped: needs the OERNODE_FAULT hooks (cmake -DOERNODE_TEST_HOOKS=ON, as make test builds)"
    exit 77
}
export OERNODE_DATA=$work/data
repo=$work/data/repo.git
"$OERNODE" -q init --id be-crash >/dev/null
first=$("$OERNODE" -q add --title "nl:Eerste les" --language nl \
    --licence CC-BY-4.0)
before=$(git -C "$repo" rev-parse refs/catalog/be-crash)

got=0
OERNODE_FAULT=store-before-ref "$OERNODE" -q add --title "nl:Tweede les" \
    --language nl --licence CC-BY-4.0 >/dev/null 2>&1 || got=$?
check "the add was killed by SIGKILL (exit 137)" test "$got" = 137
check "the ref did not move" \
    test "$(git -C "$repo" rev-parse refs/catalog/be-crash)" = "$before"

expect_exit 0 "$OERNODE" fsck
contains "$work/out" "no problems"
check "git fsck accepts the store" git -C "$repo" fsck --strict --no-progress
"$OERNODE" -q list >"$work/list"
contains "$work/list" "$first"
check "the killed add left no record" test "$(wc -l <"$work/list")" = 1

"$OERNODE" -q add --title "nl:Tweede les" --language nl \
    --licence CC-BY-4.0 >/dev/null
"$OERNODE" id --allowed-signers >"$work/signers"
check "the next commit verifies with stock git" \
    git -C "$repo" -c gpg.format=ssh \
    -c gpg.ssh.allowedSignersFile="$work/signers" \
    verify-commit refs/catalog/be-crash
check "it descends from the head before the crash" \
    git -C "$repo" merge-base --is-ancestor "$before" refs/catalog/be-crash
echo "crash: all checks passed"

#!/usr/bin/env bash
# A relay that alters a catalogue is refused.  A publishes; B relays A's
# catalogue to C (C knows A's key from a file, and is not peered with A).
# Then B's copy of A's catalogue is altered three ways, one at a time, with
# B restarted on each: a commit with no signature; a commit signed by a
# key that is not A's; and A's own signed commit with a changed document
# (so its signature no longer covers what it holds).  Each time C refuses
# the pack, says why in its log (naming B and the commit) and to B (an
# ERROR frame), keeps its ref at A's real head, does not ask for that head
# again after reconnecting, and its store passes `git fsck --strict`.
set -euo pipefail

. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/nodes.bash"

tip() { git -C "$work/$1/repo.git" rev-parse -q --verify refs/catalog/aa; }
caught_up() { test "$(tip "$1")" = "$(tip aa)"; }

for n in aa bb cc; do
    node "$n" init --id "$n" >/dev/null
done
node aa import lom "$(dirname "$0")/../../demo/records.xml" >/dev/null

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
wait_for "bb never got aa's catalogue" caught_up bb
wait_for "cc never got aa's catalogue through bb" caught_up cc
real=$(tip aa)
stop aa
stop bb

# The altered copies are built in B's repository with stock git.
bbgit=(git -C "$work/bb/repo.git")
doc=$("${bbgit[@]}" ls-tree -r --name-only "$real" | grep '\.json$' | head -n 1)
[ -n "$doc" ] || fail "no document in aa's catalogue"
blob=$("${bbgit[@]}" cat-file blob "$real:$doc" |
    sed 's/"title":{"en":"/&ALTERED /' | "${bbgit[@]}" hash-object -w --stdin)
"${bbgit[@]}" cat-file blob "$blob" | grep -q ALTERED ||
    fail "the test could not alter $doc"
export GIT_INDEX_FILE=$work/alter.index
"${bbgit[@]}" read-tree "$real"
"${bbgit[@]}" update-index --cacheinfo "100644,$blob,$doc"
tree=$("${bbgit[@]}" write-tree)
unset GIT_INDEX_FILE
ident=(-c user.name=forger -c user.email=forger@example.org)

unsigned=$("${bbgit[@]}" "${ident[@]}" commit-tree "$tree" -p "$real" \
    -m "altered, unsigned")
ssh-keygen -q -t ed25519 -N '' -C other -f "$work/other.key"
other=$("${bbgit[@]}" "${ident[@]}" -c gpg.format=ssh \
    -c user.signingkey="$work/other.key" \
    commit-tree -S "$tree" -p "$real" -m "altered, signed by another key")
"${bbgit[@]}" cat-file commit "$other" | grep -q '^gpgsig ' ||
    fail "the test could not sign with another key"
# A's own signature, over the real tree, kept on a commit of the altered one.
resigned=$("${bbgit[@]}" cat-file commit "$real" |
    sed "1s/^tree .*/tree $tree/" |
    "${bbgit[@]}" hash-object -t commit -w --stdin)
"${bbgit[@]}" cat-file commit "$resigned" | grep -q '^gpgsig ' ||
    fail "the altered commit lost A's signature"

refused() { # refused COMMIT REASON: C logged B's pack of COMMIT refused
    grep 'msg="pack rejected"' "$work/cc.log" | grep -F "peer=bb" |
        grep -F "origin=aa" | grep -F "${1:0:12}" | grep -qF -- "$2"
}
told() { # told COMMIT: B got C's ERROR naming COMMIT
    grep 'msg="peer sent an error"' "$work/bb.log" | grep -F "peer=cc" |
        grep -F "code=refused" | grep -qF "${1:0:12}"
}
fetches() { # fetches COMMIT: how often C asked B for COMMIT
    grep -F 'msg=fetching peer=bb origin=aa' "$work/cc.log" |
        grep -cF "want=$1" || true
}
try() { # try COMMIT REASON: B offers COMMIT as aa's head; C refuses it
    "${bbgit[@]}" update-ref refs/catalog/aa "$1"
    start bb "127.0.0.1:$pb"
    wait_for "cc did not refuse ${1:0:12} ($2)" refused "$1" "$2"
    # B is told why (ERROR, then the connection closes); C reconnects and
    # does not ask for the refused head again.
    wait_for "bb was not told why" told "$1"
    wait_for "cc did not reconnect to bb" \
        test "$(grep -c 'msg="connection open"' "$work/cc.log")" -gt "$opens"
    sleep 1
    check "cc asked for ${1:0:12} once" test "$(fetches "$1")" = 1
    opens=$(grep -c 'msg="connection open"' "$work/cc.log")
    check "cc kept aa's real head" test "$(tip cc)" = "$real"
    check "git fsck --strict on cc" \
        git -C "$work/cc/repo.git" fsck --strict --no-dangling
    "${bbgit[@]}" cat-file -e "$1"
    git -C "$work/cc/repo.git" rev-parse -q --verify "refs/frozen/aa" \
        >/dev/null && fail "cc froze aa's catalogue for a relay's forgery"
    stop bb
}
opens=$(grep -c 'msg="connection open"' "$work/cc.log")
try "$unsigned" "is not signed"
try "$other" "is not signed by the origin's key"
try "$resigned" "is not signed by the origin's key"

# B honest again: nothing was lost on C, and it still takes A's commits.
"${bbgit[@]}" update-ref refs/catalog/aa "$real"
start aa
start bb "127.0.0.1:$pb"
id=$(node aa add --title "en:After the forgeries" --language en \
    --licence "https://creativecommons.org/licenses/by/4.0/" \
    https://example.org/after)
wait_for "cc never got aa's next record through bb" caught_up cc
node cc list --origin aa | grep -qF "$id" || fail "cc lacks $id"
check "git fsck --strict on cc at the end" \
    git -C "$work/cc/repo.git" fsck --strict --no-dangling
echo "sync_forged: ok"

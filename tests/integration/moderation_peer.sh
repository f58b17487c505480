#!/usr/bin/env bash
# Moderation end to end between two nodes on loopback.  aa's contributor
# submits a resource with a file and aa's moderator publishes it: bb,
# peered with aa, gets the record and its file and indexes it by itself
# (no request asks bb to catch up), and its search finds it.  A second
# submission, with a file, is rejected: the contributor reads why, and
# nothing of it reaches bb, not even once a third one published after it
# has.
set -euo pipefail

. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/nodes.bash"
command -v curl >/dev/null || { echo "skipped: no curl"; exit 77; }
command -v jq >/dev/null || { echo "skipped: no jq"; exit 77; }

node aa init --id aa >/dev/null
node bb init --id bb >/dev/null
ann=$(node aa token create --role contributor --name ann)
mod=$(node aa token create --role moderator --name mo)
node aa peer add bb 127.0.0.1:1 "$(fingerprint bb)" >/dev/null
start aa
node bb peer add aa "127.0.0.1:$(cat "$work/aa.peer")" "$(fingerprint aa)" \
    >/dev/null
start bb
a=http://127.0.0.1:$(cat "$work/aa.http")
b=http://127.0.0.1:$(cat "$work/bb.http")
connected() { curl -s "$b/api/peers" | grep -q '"state":"connected"'; }
wait_for "bb never connected to aa" connected

# call URL TOKEN METHOD PATH [BODY]: the body to $work/body, the status out
call() {
    local data=()
    [ $# -ge 5 ] && data=(--data-binary "$5")
    curl -s -o "$work/body" -w '%{http_code}' -X "$3" \
        -H "Authorization: Bearer $2" "${data[@]}" "$1$4"
}
want() { # want STATUS URL TOKEN METHOD PATH [BODY]
    local status=$1 got; shift
    got=$(call "$@")
    [ "$got" = "$status" ] || { cat "$work/body" >&2;
        fail "$3 $4: status $got, want $status"; }
}
submit() { # submit TITLE FILE: a pending submission with FILE; its id out
    local id
    want 201 "$a" "$ann" POST /api/submissions \
        "{\"schema\":1,\"title\":{\"nl\":\"$1\"},\"languages\":[\"nl\"],\"licence\":\"CC-BY-4.0\"}"
    id=$(jq -r .id "$work/body")
    want 201 "$a" "$ann" PUT "/api/submissions/$id/files/$(basename "$2")" \
        "@$2"
    echo "$id"
}
head_of() { git -C "$work/$1/repo.git" rev-parse -q --verify refs/catalog/aa; }
same_head() { [ "$(head_of bb)" = "$(head_of aa)" ]; }
found_at_bb() { # found_at_bb WORD: bb's own index has a hit for WORD
    curl -s "$b/api/search?q=$1&peers=0" >"$work/bb.json" &&
        [ "$(jq .total "$work/bb.json")" -ge 1 ]
}

# submit and publish: the record and its file reach bb
echo "breuken vergelijken" >"$work/blad.txt"
id=$(submit Breukenblad "$work/blad.txt")
want 200 "$a" "$mod" POST "/api/moderation/submissions/$id/publish"
resource=$(jq -r .resource "$work/body")
wait_for "bb never got the published record" same_head
wait_for "bb never got its file" git -C "$work/bb/repo.git" cat-file -e \
    "$(git hash-object "$work/blad.txt")"
# bb indexes what the sync brought without being asked
wait_for "bb's index never caught up by itself" \
    grep -q 'msg="caught up".* documents=1' "$work/bb.log"
found_at_bb Breukenblad || fail "bb's search does not find the record"
check "the hit is the published resource" test \
    "$(jq -r '.hits[0].id' "$work/bb.json")" = "$resource"

# submit and reject: the contributor reads why; nothing reaches bb
echo "niet vrij te delen" >"$work/geheim.txt"
before=$(head_of aa)
id=$(submit Geheimblad "$work/geheim.txt")
want 200 "$a" "$mod" POST "/api/moderation/submissions/$id/reject" \
    '{"reason":"de prenten zijn niet vrij"}'
want 200 "$a" "$ann" GET /api/submissions
contains "$work/body" '"reason":"de prenten zijn niet vrij"'
check "a reject commits nothing" test "$(head_of aa)" = "$before"
# a later publish is the sign that bb has taken everything aa offers
echo "nog een blad" >"$work/later.txt"
id=$(submit Laterblad "$work/later.txt")
want 200 "$a" "$mod" POST "/api/moderation/submissions/$id/publish"
wait_for "bb never got the later record" same_head
wait_for "bb's search never found the later record" found_at_bb Laterblad
found_at_bb Geheimblad && fail "the rejected submission reached bb"
git -C "$work/bb/repo.git" cat-file -e "$(git hash-object "$work/geheim.txt")" \
    2>/dev/null && fail "the rejected file reached bb"
git -C "$work/aa/repo.git" cat-file -e "$(git hash-object "$work/geheim.txt")" \
    2>/dev/null && fail "the rejected file is in aa's store"
for n in aa bb; do
    git -C "$work/$n/repo.git" fsck --strict --no-progress --no-dangling \
        >"$work/fsck" 2>&1 || { cat "$work/fsck" >&2; fail "git fsck on $n"; }
done
echo "moderation_peer: ok"

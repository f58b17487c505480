#!/usr/bin/env bash
# Resume after a killed transfer (issue 4 part 5, case B19), with real
# nodes on loopback.  bb publishes a catalogue large enough for several
# bounded packs (30,000 generated records, one commit of 10,000 each).
# 1. The sender killed: bb gets SIGKILL while cc fetches, after cc has
#    verified its first pack (bb makes each next pack ahead, so the
#    second may still arrive; the third cannot); cc keeps a verified
#    head, and once bb is back it fetches on from there and converges.
# 2. The receiver killed: cc is killed (OERNODE_FAULT=replica-rx-half)
#    with half a pack in its temporary file; its ref stays where it was
#    verified; the debris, aged past the limit, is removed when the next
#    `oernode sync` starts, which then brings only what is missing.
# At the end `git fsck --strict` and `oernode fsck` pass on both nodes.
set -euo pipefail

. "$(dirname "$0")/lib.bash"
[ "${OERNODE_TEST_HOOKS:-0}" = 1 ] || {
    echo "skipped: needs the OERNODE_FAULT hooks (cmake -DOERNODE_TEST_HOOKS=ON, as make test builds)"
    exit 77
}
. "$(dirname "$0")/nodes.bash"
# a new catalogue is indexed before serve listens; packs take a while
start_tenths=600
wait_tenths=600

tip() { git -C "$work/$1/repo.git" rev-parse -q --verify refs/catalog/bb; }
caught_up() { test "$(tip "$1")" = "$(tip bb)"; }
commits() { git -C "$work/$1/repo.git" rev-list --count "${2:-refs/catalog/bb}"; }
temps() { # the temporary files of NODE's pack folder
    find "$work/$1/repo.git/objects/pack" -name 'pack_git2_*' -o \
        -name 'tmp_*' | sort
}
git_fsck() { # git_fsck NODE: stock git accepts NODE's repository
    git -C "$work/$1/repo.git" fsck --strict --no-progress --no-dangling \
        >"$work/fsck" 2>&1 || { cat "$work/fsck" >&2; fail "git fsck on $1"; }
}
fsck_all() { # git fsck, and oernode fsck on both nodes at once
    git_fsck bb
    git_fsck cc
    "$OERNODE" --data "$work/bb" fsck >"$work/bb.fsck" 2>&1 & local f=$!
    "$OERNODE" --data "$work/cc" fsck >"$work/cc.fsck" 2>&1 ||
        { cat "$work/cc.fsck" >&2; fail "oernode fsck on cc"; }
    wait "$f" || { cat "$work/bb.fsck" >&2; fail "oernode fsck on bb"; }
    contains "$work/bb.fsck" "no problems"
    contains "$work/cc.fsck" "no problems"
}

for n in bb cc; do
    node "$n" init --id "$n" >/dev/null
done
python3 "$(dirname "$0")/../../bench/books.py" 30000 "$work"
node bb import table --map "$work/books.map" "$work/books.tsv" >/dev/null
total=$(commits bb)
[ "$total" -ge 3 ] || fail "bb's catalogue has $total commits, want 3 or more"

node bb peer add cc 127.0.0.1:1 "$(fingerprint cc)" >/dev/null
start bb
pb=$(cat "$work/bb.peer")
node cc peer add bb "127.0.0.1:$pb" "$(fingerprint bb)" >/dev/null
mkdir "$work/cc/origin-keys" # for oernode fsck
node bb id | sed -n 's/^public key: //p' >"$work/cc/origin-keys/bb.pub"

# 1. bb is killed while cc fetches, once cc verified a first pack.
start cc
wait_for "cc never verified a first pack" grep -q \
    'msg="catalogue updated" peer=bb origin=bb' "$work/cc.log"
kill -KILL "$pid_bb"
wait "$pid_bb" 2>/dev/null || true
# cc stops too, so that its head is read after any verification in flight.
kill "$pid_cc"
wait "$pid_cc" 2>/dev/null || true
kept=$(tip cc)
[ -n "$kept" ] || fail "cc holds no verified head"
[ "$kept" != "$(tip bb)" ] || fail "cc had everything before bb was killed"
check "cc's head is one of bb's commits" \
    git -C "$work/bb/repo.git" merge-base --is-ancestor "$kept" refs/catalog/bb
git_fsck cc

mv "$work/bb.log" "$work/bb.first.log"
mv "$work/cc.log" "$work/cc.first.log"
start bb "127.0.0.1:$pb"
start cc
wait_for "cc never caught up with the restarted bb" caught_up cc
# bb packed for cc, after the restart, only what cc lacked.
sent=$(sed -n 's/.*msg="pack for peer" peer=cc origin=bb result=ok commits=\([0-9]*\).*/\1/p' \
    "$work/bb.log" | awk '{ n += $1 } END { print n + 0 }')
test "$sent" = "$(commits bb "$kept..refs/catalog/bb")" ||
    fail "bb packed $sent commits after the restart, want only the missing"
kill "$pid_cc"
wait "$pid_cc" 2>/dev/null || true
git_fsck cc

# 2. cc is killed with half a pack written: its ref stays, debris stays.
node bb add --title "en:After the first kill" --language en \
    --licence CC-BY-4.0 https://example.org/after >/dev/null
python3 "$(dirname "$0")/../../bench/books.py" 25000 "$work"
node bb import table --map "$work/books.map" "$work/books.tsv" >/dev/null
before=$(tip cc)
got=0
OERNODE_FAULT=replica-rx-half "$OERNODE" --data "$work/cc" sync --timeout 60 \
    bb >/dev/null 2>"$work/killed.log" || got=$?
check "cc's sync was killed by SIGKILL (exit 137)" test "$got" = 137
check "cc's ref did not move" test "$(tip cc)" = "$before"
git_fsck cc
temps cc >"$work/debris"
[ -s "$work/debris" ] || fail "the killed receiver left no temporary pack"

# A fresh temporary file is not touched (a transfer could be writing it);
# the next sync brings only what cc lacks.
"$OERNODE" --data "$work/cc" sync --timeout 60 bb >/dev/null \
    2>"$work/fresh.log" || { cat "$work/fresh.log" >&2; fail "sync"; }
check "a fresh temporary pack stays" test "$(temps cc)" = "$(cat "$work/debris")"
grep -q 'temporary file removed' "$work/fresh.log" &&
    fail "a fresh temporary pack was removed"
caught_up cc || fail "cc did not catch up after its kill"
got=$(sed -n 's/.*msg="catalogue updated" peer=bb origin=bb .*commits=\([0-9]*\).*/\1/p' \
    "$work/fresh.log" | awk '{ n += $1 } END { print n + 0 }')
test "$got" = "$(commits cc "$before..refs/catalog/bb")" ||
    fail "the sync after the kill brought $got commits, not only the missing"

# Once older than 10 minutes, the debris goes when the next sync starts.
while read -r f; do touch -d '-11 minutes' "$f"; done <"$work/debris"
node bb add --title "en:After the second kill" --language en \
    --licence CC-BY-4.0 https://example.org/second >/dev/null
"$OERNODE" --data "$work/cc" -v sync --timeout 60 bb >"$work/sync.out" \
    2>"$work/sync.log" || { cat "$work/sync.log" >&2; fail "sync"; }
contains "$work/sync.out" "in sync with bb"
contains "$work/sync.log" 'msg="temporary files of aborted transfers removed"'
while read -r f; do
    contains "$work/sync.log" "msg=\"temporary file removed\" path=$f"
done <"$work/debris"
test -z "$(temps cc)" || fail "debris left: $(temps cc)"
caught_up cc || fail "cc did not catch up"
fsck_all
echo "sync_resume: ok"

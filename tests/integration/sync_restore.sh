#!/usr/bin/env bash
# A node restored from an older backup (case B15: sync state reset) loses
# nothing and forks nothing.  A publishes, B mirrors; A's data folder is
# backed up; A publishes two more records; then A is restored from the
# backup (its catalogue two commits behind B's copy) and started: it takes
# its own newer history back from B (the same signed commits), so its next
# record follows them and B accepts it, with no fork frozen anywhere.  A
# node whose derived state (search index, paradata) is deleted rebuilds it
# from git and keeps its head: B's older copy never replaces it.
set -euo pipefail

. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/nodes.bash"

tip() { git -C "$work/$1/repo.git" rev-parse -q --verify refs/catalog/aa; }
same() { test "$(tip "$1")" = "$2"; }
add() { # add TITLE: a record on aa, its id printed
    node aa add --title "en:$1" --language en \
        --licence "https://creativecommons.org/licenses/by/4.0/" \
        "https://example.org/$RANDOM"
}

for n in aa bb; do
    node "$n" init --id "$n" >/dev/null
done
node aa import lom "$(dirname "$0")/../../demo/records.xml" >/dev/null
node bb peer add aa 127.0.0.1:1 "$(fingerprint aa)" >/dev/null
start bb
pb=$(cat "$work/bb.peer")
node aa peer add bb "127.0.0.1:$pb" "$(fingerprint bb)" >/dev/null
start aa
wait_for "bb never mirrored aa" same bb "$(tip aa)"

# The backup, taken with aa stopped; then two more records.
stop aa
cp -a "$work/aa" "$work/aa.backup"
old=$(tip aa)
start aa
first=$(add "After the backup, one")
second=$(add "After the backup, two")
new=$(tip aa)
wait_for "bb never got the records after the backup" same bb "$new"

# Restore aa from the backup: two commits behind bb's copy.
stop aa
rm -rf "$work/aa"
mv "$work/aa.backup" "$work/aa"
check "the restored catalogue is the old one" same aa "$old"
start aa
wait_for "aa never took its own newer history back from bb" same aa "$new"
grep -q 'msg="catalogue updated" peer=bb origin=aa' "$work/aa.log" ||
    fail "aa's log does not say it took its catalogue from bb"
for id in "$first" "$second"; do
    node aa list | grep -qF "$id" || fail "aa lost $id in the restore"
done

# Its next record follows the restored history: bb takes it, no fork.
third=$(add "After the restore")
wait_for "bb never got the record made after the restore" same bb "$(tip aa)"
node bb list --origin aa | grep -qF "$third" || fail "bb lacks $third"
for n in aa bb; do
    if git -C "$work/$n/repo.git" rev-parse -q --verify refs/frozen/aa >/dev/null; then
        fail "$n froze aa's catalogue"
    fi
    check "git fsck --strict on $n" \
        git -C "$work/$n/repo.git" fsck --strict --no-dangling
    check "oernode fsck on $n" node "$n" fsck
done

# Derived state deleted (B15): aa rebuilds it and keeps its head.
stop aa
head=$(tip aa)
rm -f "$work/aa/index.sqlite" "$work/aa/paradata.sqlite"
start aa
sleep 1.5
check "aa kept its head" same aa "$head"
node aa search "After the restore" | grep -qF "$third" ||
    fail "aa's rebuilt index lacks $third"
echo "sync_restore: ok"

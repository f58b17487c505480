#!/usr/bin/env bash
# The licence gate of file sync end to end, one case for each licence
# family and declared use (issue 4): aa publishes one file under each
# family; four nodes that declare each use (policy.commercial,
# policy.adapts) sync with aa; each holds, reachable from
# refs/content/aa, exactly the files whose licence allows its use, and aa
# logs every file it withheld, by licence.
set -euo pipefail

. "$(dirname "$0")/lib.bash"
. "$(dirname "$0")/nodes.bash"

# Licence families (as `oernode add --licence` reads them) and, for each
# declared use, whether a file under it may go there: y or n.
#             family                non-commercial commercial adapts both
cases=(
    "CC0 1.0                          y y y y"
    "Public Domain Mark 1.0           y y y y"
    "CC-BY-4.0                        y y y y"
    "CC-BY-SA-4.0                     y y y y"
    "CC-BY-NC-4.0                     y n y n"
    "CC-BY-ND-4.0                     y y n n"
    "CC-BY-NC-SA-4.0                  y n y n"
    "CC-BY-NC-ND-4.0                  y n n n"
    "All rights reserved              n n n n"
    "Some words that name no licence  n n n n"
)
uses=(nonc comm adap both) # the receivers, by declared use

node aa init --id aa >/dev/null
for n in "${uses[@]}"; do
    node "$n" init --id "$n" >/dev/null
done
git config -f "$work/comm/config" policy.commercial yes
git config -f "$work/adap/config" policy.adapts yes
git config -f "$work/both/config" policy.commercial yes
git config -f "$work/both/config" policy.adapts yes

# aa publishes one file under each licence; blob ids to $work/blob.I.
for i in "${!cases[@]}"; do
    family=$(echo "${cases[$i]}" | sed 's/ *[yn] [yn] [yn] [yn]$//')
    printf 'worksheet %d under %s\n' "$i" "$family" >"$work/file$i.txt"
    git hash-object "$work/file$i.txt" >"$work/blob.$i"
    node aa add --title "en:Sheet $i" --language en --licence "$family" \
        "$work/file$i.txt" >/dev/null 2>&1
done

for n in "${uses[@]}"; do
    node aa peer add "$n" 127.0.0.1:1 "$(fingerprint "$n")" >/dev/null
done
start aa
pa=$(cat "$work/aa.peer")
for n in "${uses[@]}"; do
    node "$n" peer add aa "127.0.0.1:$pa" "$(fingerprint aa)" >/dev/null
    start "$n"
done

held() { # held NODE BLOB: reachable from NODE's refs/content/aa
    git -C "$work/$1/repo.git" rev-parse -q --verify refs/content/aa \
        >/dev/null 2>&1 &&
        git -C "$work/$1/repo.git" rev-list --objects refs/content/aa |
        grep -q "^$2"
}
withheld() { # withheld NODE BLOB: aa logged the refusal by licence
    grep -q "msg=\"file withheld\" peer=$1 blob=$2 status=denied-licence" \
        "$work/aa.log"
}
settled() { # every case decided: held where allowed, withheld elsewhere
    local i u want blob
    for i in "${!cases[@]}"; do
        blob=$(cat "$work/blob.$i")
        read -r -a want <<<"$(echo "${cases[$i]}" | grep -o '[yn] [yn] [yn] [yn]$')"
        for u in "${!uses[@]}"; do
            if [ "${want[$u]}" = y ]; then
                held "${uses[$u]}" "$blob" || return 1
            else
                withheld "${uses[$u]}" "$blob" || return 1
            fi
        done
    done
}
for _ in $(seq 450); do
    settled && break
    sleep 0.1
done

# Each receiver holds exactly the files its use allows.
for i in "${!cases[@]}"; do
    blob=$(cat "$work/blob.$i")
    read -r -a want <<<"$(echo "${cases[$i]}" | grep -o '[yn] [yn] [yn] [yn]$')"
    family=$(echo "${cases[$i]}" | sed 's/ *[yn] [yn] [yn] [yn]$//')
    for u in "${!uses[@]}"; do
        n=${uses[$u]}
        if [ "${want[$u]}" = y ]; then
            held "$n" "$blob" || fail "$n lacks the file under $family"
        else
            git -C "$work/$n/repo.git" cat-file -e "$blob" 2>/dev/null &&
                fail "$n holds the file under $family"
            withheld "$n" "$blob" ||
                fail "aa did not log withholding $family from $n"
        fi
    done
done
for n in "${uses[@]}"; do
    git -C "$work/$n/repo.git" fsck --strict --no-progress --no-dangling \
        >"$work/fsck" 2>&1 || { cat "$work/fsck" >&2; fail "git fsck on $n"; }
done
echo "sync_licence: ok"

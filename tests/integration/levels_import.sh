#!/usr/bin/env bash
# Imported levels map into the node's vocabularies where a mapping
# exists.  The real Edurep OAI-PMH page of ../shared/data carries each
# record's level as a national concept id (begrippenkader) and as a term
# of the old VDEX context list (HBO, WO): both resolve to the Dutch
# system's terms, so a filter by ISCED level 6 (bachelor) finds every one
# of its records, a Flemish searcher's filter "professionele bachelor"
# finds them as well, and each hit still shows the origin's own terms.
set -euo pipefail

. "$(dirname "$0")/lib.bash"

page=${OERNODE_SHARED:-}/data/oai/edurep-oaipmh.initial.0.xml
if [ -z "${OERNODE_SHARED:-}" ] || [ ! -f "$page" ]; then
    echo "skipped: ../shared/data is absent (the Edurep OAI-PMH page)"
    exit 77
fi
export OERNODE_DATA=$work/data
"$OERNODE" -q init --id nl-edurep >/dev/null
"$OERNODE" -q import lom "$page" >"$work/import.out"
records=$("$OERNODE" -q list | wc -l)
[ "$records" -ge 5 ] || fail "only $records records imported"

"$OERNODE" -q search --level isced:6 --limit 100 >"$work/isced6"
contains "$work/isced6" "$records hits"
"$OERNODE" -q search --system be-vl --level pba --limit 100 >"$work/pba"
contains "$work/pba" "$records hits"
# A level outside them finds none of them.
"$OERNODE" -q search --level isced:1 >"$work/isced1"
contains "$work/isced1" "0 hits"

# The hits keep the origin's terms (the concept id, the VDEX term), shown
# with the Dutch term's label.
"$OERNODE" -q search --system nl --level HBO --json --limit 100 >"$work/hbo.json"
python3 - "$work/hbo.json" <<'PY' || fail "levels of the HBO hits"
import json, sys
hits = json.load(open(sys.argv[1]))["hits"]
assert hits, "no hits"
seen = 0
for h in hits:
    for l in h["levels"]:
        if l["value"] == "be140797-803f-4b9e-81cc-5572c711e09c":
            assert l["source"] == "http://purl.edustandaard.nl/begrippenkader", l
            assert l.get("system") == "nl", l
            seen += 1
assert seen >= 1, "no hit shows the concept id of HBO"
PY
echo "levels_import: ok"

#!/usr/bin/env bash
# import table and import json over the shared bulk catalogues with the
# mappings of mappings/: the records imported and skipped, named records
# field by field, the licence strings of each catalogue, merged rows; a
# second import commits nothing, an edited row commits that record only.
# Without the shared folder only the parts on made-up files run.
set -euo pipefail

. "$(dirname "$0")/lib.bash"
command -v git >/dev/null || { echo "skipped: no git"; exit 77; }
command -v python3 >/dev/null || { echo "skipped: no python3"; exit 77; }
src=${OERNODE_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
maps=$src/mappings
cd "$work"

# A node of its own for each catalogue, so that counts are the catalogue's.
new_node() {
    export OERNODE_DATA=$work/$1
    "$OERNODE" -q init --id be-vl >/dev/null
}
head_of() { git -C "$OERNODE_DATA/repo.git" rev-parse refs/catalog/be-vl; }
local_id() { # the local id a source id names (metadata_local_id)
    python3 -c 'import base64, hashlib, sys
d = hashlib.sha256(sys.argv[1].encode()).digest()
print(base64.b32encode(d).decode().lower()[:12])' "$1"
}
field() { # field SOURCE-ID PYTHON-EXPRESSION-OF-d: print it
    "$OERNODE" -q show "$(local_id "$1")" >doc.json ||
        fail "no record for $1"
    python3 -c 'import json, sys
d = json.load(open("doc.json"))
print(eval(sys.argv[1]))' "$2"
}
expect_field() { # expect_field SOURCE-ID EXPRESSION WANT
    local got
    got=$(field "$1" "$2")
    [ "$got" = "$3" ] || fail "$1: $2 is '$got', want '$3'"
}
licences() { # "COUNT ID" lines of the catalogue, sorted by id
    "$OERNODE" -q list | cut -f2 | sort | uniq -c | awk '{print $1, $2}'
}
expect_licence() { # expect_licence COUNT ID
    licences >lic.txt
    grep -qx "$1 $2" lic.txt || { cat lic.txt >&2; fail "want $1 x $2"; }
}

# ---- made-up files: errors by line ----
new_node small
cat >small.map <<'MAP'
[source]
	id = key
	prefix = small:
[field "title"]
	column = title
	language = en
[field "licence"]
	column = licence
MAP
printf 'key,title,licence\na,First,CC BY 4.0\nb,"Unbalanced,CC0 1.0\nc,Third,CC0 1.0\n' >bad.csv
expect_exit 3 "$OERNODE" -q import table --map small.map bad.csv
contains "$work/err" "bad.csv line 3: malformed row"
contains "$work/out" "2 new"
contains "$work/out" "skipped 1: malformed row"
expect_exit 0 "$OERNODE" -q list
check "two records" test "$(wc -l <"$work/out")" = 2

printf '[source]\n\tid = key\n[field "title"]\n\tcolumn = name\n' >wrong.map
expect_exit 3 "$OERNODE" -q import table --map wrong.map bad.csv
contains "$work/err" "line 4: field.title.column: unknown column 'name'"
printf '[source]\n\tid = key\n[field "grade"]\n\tcolumn = title\n' >wrong.map
expect_exit 3 "$OERNODE" -q import table --map wrong.map bad.csv
contains "$work/err" "wrong.map:3: field.grade.column: unknown oernode field 'grade'"
expect_exit 2 "$OERNODE" -q import table bad.csv

cat >small-json.map <<'MAP'
[source]
	id = _id
[field "title"]
	path = t
MAP
python3 -c 'for i in range(1, 601):
    print("{\"_id\": {\"$oid\": \"r%d\"}, \"t\": \"T%d\"}" % (i, i)
          if i != 500 else "{\"_id\": \"r500\", \"t\": }")' >lines.jsonl
expect_exit 3 "$OERNODE" -q import json --map small-json.map lines.jsonl
contains "$work/err" "lines.jsonl line 500: JSON syntax error: line 500, column"
contains "$work/out" "599 new"

if [ ! -d "${OERNODE_SHARED:-/nonexistent}/data/bulk" ]; then
    echo "skipped the shared catalogues: no \$OERNODE_SHARED/data/bulk"
    exit 0
fi
bulk=$OERNODE_SHARED/data/bulk

# ---- OpenStax: rows per subject merge into one record per book ----
new_node openstax
expect_exit 0 "$OERNODE" -q import table --map "$maps/openstax.map" \
    "$bulk/open-textbooks/openstax.tsv"
contains "$work/out" "58 new, 0 updated, 0 unchanged, 0 withdrawn, 0 gone, 17 merged, 0 skipped"
expect_licence 58 CC-BY-4.0
expect_field openstax:statistics 'd["title"]["en"]' "Statistics"
expect_field openstax:statistics 'd["languages"]' "['en']"
expect_field openstax:statistics 'd["licence"]' "CC-BY-4.0"
expect_field openstax:statistics '[t["value"] for t in d["levels"]]' "['secondary school']"
expect_field openstax:statistics '[t["value"] for t in d["subjects"]]' "['Math']"
expect_field openstax:statistics 'd["source_url"]' \
    "https://openstax.org/books/statistics/pages/preface"
expect_field openstax:business-law-i-essentials \
    '[t["value"] for t in d["subjects"]]' "['Business', 'Essentials']"
expect_field openstax:business-ethics '"levels" in d' "False"

# a second import commits nothing
before=$(head_of)
expect_exit 0 "$OERNODE" -q import table --map "$maps/openstax.map" \
    "$bulk/open-textbooks/openstax.tsv"
contains "$work/out" "0 new, 0 updated, 58 unchanged"
check "no commit" test "$(head_of)" = "$before"

# an edited row commits that record only
sed 's/\tBusiness Ethics\t/\tBusiness Ethics, Second Edition\t/' \
    "$bulk/open-textbooks/openstax.tsv" >openstax.tsv
expect_exit 0 "$OERNODE" -q import table --map "$maps/openstax.map" openstax.tsv
contains "$work/out" "0 new, 1 updated, 57 unchanged"
git -C "$OERNODE_DATA/repo.git" diff-tree -r --name-only "$before" "$(head_of)" >changed
id=$(local_id openstax:business-ethics)
check "one document changed" test "$(cat changed)" = "${id:0:2}/$id.json"
expect_field openstax:business-ethics 'd["title"]["en"]' \
    "Business Ethics, Second Edition"

# ---- Open Textbook Library: licences without versions stay unknown ----
new_node otl
expect_exit 0 "$OERNODE" -q import table --map "$maps/open-textbook-library.map" \
    "$bulk/open-textbooks/open_textbook_library.tsv"
contains "$work/out" "1221 new, 0 updated, 0 unchanged, 0 withdrawn, 0 gone, 0 merged, 0 skipped"
expect_licence 9 CC0-1.0
expect_licence 1212 LicenseRef-unknown
k=open-textbook-library:the-death-of-ivan-ilich-an-electronic-study-edition-of-the-russian-text
expect_field "$k" 'd["title"]["en"]' \
    '"The Death of Ivan Ilich": An Electronic Study Edition of the Russian Text'
expect_field "$k" 'd["licence"], d["rights"], d["licence_flags"]' \
    "('LicenseRef-unknown', 'CC BY-NC', ['no-version'])"
expect_field "$k" '[t["value"] for t in d["levels"]]' "['higher education']"
gfdl=$(awk -F'\t' '$5 ~ /GNU/ {print $1; exit}' \
    "$bulk/open-textbooks/open_textbook_library.tsv")
expect_field "open-textbook-library:$gfdl" 'd["licence"], d["rights"]' \
    "('LicenseRef-unknown', 'Free Documentation License (GNU)')"

# ---- B.C. Open Collection: versions, CC0, the Public Domain Mark ----
new_node bc
expect_exit 0 "$OERNODE" -q import table --map "$maps/bc-open-collection.map" \
    "$bulk/open-textbooks/bc_open_collection.tsv"
contains "$work/out" "301 new, 0 updated, 0 unchanged, 0 withdrawn, 0 gone, 0 merged, 0 skipped"
expect_licence 147 CC-BY-4.0
expect_licence 18 CC-BY-NC-SA-3.0
expect_licence 1 CC-BY-1.0
expect_licence 2 LicenseRef-PDM-1.0
expect_licence 2 CC0-1.0
licences | grep -q LicenseRef-unknown && fail "an unknown licence in BC"
k=bc-open-collection:introduction-to-oceanography-roger-williams-university-181
expect_field "$k" 'd["title"]["en"]' \
    "Introduction to Oceanography (Roger Williams University)"
expect_field "$k" 'd["licence"], "rights" in d' "('CC-BY-4.0', False)"
expect_field "$k" '[t["value"] for t in d["subjects"]]' "['Earth and Ocean Sciences']"

# ---- Khan Academy (German): extended JSON, grades from tags ----
new_node khan
expect_exit 0 "$OERNODE" -q import json --map "$maps/khan-academy-de.map" \
    "$bulk/khan-academy-de/resources.json"
contains "$work/out" "1417 new, 0 updated, 0 unchanged, 0 withdrawn, 0 gone, 0 merged, 0 skipped"
expect_licence 1363 CC-BY-NC-SA-3.0-US
expect_licence 51 LicenseRef-all-rights-reserved
expect_licence 3 LicenseRef-unknown
k=schulcloud-content:59919169c9df580090bc0816
expect_field "$k" 'd["title"]["de"]' "Reihenfolge beim Zählen"
expect_field "$k" 'd["languages"], d["licence"]' "(['de'], 'CC-BY-NC-SA-3.0-US')"
expect_field "$k" '[t["value"] for t in d["levels"]]' "['Vorschule']"
expect_field "$k" 'd["keywords"]["de"]' "['Zählen und Stellenwert', 'Kleine Zahlen zählen']"
expect_field "$k" 'd["created"], d["source_url"]' \
    "('2017-08-14T12:02:49Z', 'https://de.khanacademy.org/video/counting-in-order')"
yt=$(python3 -c 'import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["licenses"] == ["Standard Youtube"]:
        print(r["_id"]["$oid"]); break' "$bulk/khan-academy-de/resources.json")
expect_field "schulcloud-content:$yt" 'd["licence"]' LicenseRef-all-rights-reserved
grade=$(python3 -c 'import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if "4. Klasse" in r["tags"]:
        print(r["_id"]["$oid"]); break' "$bulk/khan-academy-de/resources.json")
expect_field "schulcloud-content:$grade" '[t["value"] for t in d["levels"]]' \
    "['Jahrgangsstufe 4']"

# ---- DALIA: SPDX URIs, ISO 639-2 languages, MoDalia levels ----
new_node dalia
expect_exit 0 "$OERNODE" -q import json --map "$maps/dalia.map" \
    "$bulk/dalia/dalia-dif13.one-per-line.jsonl"
contains "$work/out" "406 new, 0 updated, 0 unchanged, 0 withdrawn, 0 gone, 0 merged, 0 skipped"
expect_licence 132 CC-BY-4.0
expect_licence 62 CC-BY-3.0
expect_licence 114 LicenseRef-all-rights-reserved
expect_licence 3 LicenseRef-unknown
k=https://id.dalia.education/learning-resource/7d7c4d8f-d25d-48f4-b3df-6b7a11eb6ebf
expect_field "$k" 'd["title"]["en"]' "DALIA Interchange Format"
expect_field "$k" 'd["languages"], d["licence"]' "(['en'], 'CC-BY-SA-4.0')"
expect_field "$k" '[t["value"] for t in d["levels"]]' \
    "['beginner', 'competent', 'proficient', 'expert']"
expect_field "$k" 'd["source_url"]' \
    "https://docs.google.com/spreadsheets/d/1t1VICxRaxzff6WqsHqzoBFq-DIPapTIsY07FhjUZIww/"
mit=$(python3 -c 'import json, sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["license"].endswith("/MIT"):
        print(r["uuid"]); break' "$bulk/dalia/dalia-dif13.one-per-line.jsonl")
expect_field "https://id.dalia.education/learning-resource/$mit" \
    'd["licence"], d["rights"]' \
    "('LicenseRef-unknown', 'http://spdx.org/licenses/MIT')"
echo "ok"

#!/usr/bin/env bash
# `oernode import dc` end to end: a Dublin Core record and an OAI-PMH
# page written here (a dry run writes nothing, a second run commits
# nothing, a deleted header withdraws); then every Learning Registry file
# of the shared samples, with the counts of imported and skipped records
# by reason.
set -euo pipefail

. "$(dirname "$0")/lib.bash"
command -v git >/dev/null || { echo "skipped: no git"; exit 77; }

data=$work/data
export OERNODE_DATA=$data
cd "$work"

node() { "$OERNODE" -q "$@"; }
refs() { git -C "$data/repo.git" show-ref; git -C "$data/repo.git" count-objects -v; }

expect_exit 0 "$OERNODE" init --id us-lr

cat >page1.xml <<'XML'
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords>
<record><header><identifier>oai:t:1</identifier></header><metadata>
<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/"
  xmlns:dc="http://purl.org/dc/elements/1.1/">
<dc:title>Photosynthesis</dc:title><dc:language>en</dc:language>
<dc:rights>http://creativecommons.org/licenses/by/4.0/</dc:rights>
<dc:identifier>https://example.org/photo</dc:identifier></oai_dc:dc>
</metadata></record>
<record><header><identifier>oai:t:2</identifier></header><metadata>
<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/"
  xmlns:dc="http://purl.org/dc/elements/1.1/">
<dc:title>Cells</dc:title></oai_dc:dc></metadata></record>
</ListRecords></OAI-PMH>
XML
cat >page2.xml <<'XML'
<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><ListRecords>
<record><header status="deleted"><identifier>oai:t:2</identifier></header>
</record></ListRecords></OAI-PMH>
XML

# a dry run writes nothing
before=$(refs)
expect_exit 0 "$OERNODE" import dc --dry-run page1.xml
contains "$work/out" "2 new"
contains "$work/out" "dry run: nothing written"
check "a dry run writes no object and no ref" test "$(refs)" = "$before"

# import, then again: no commit
expect_exit 0 "$OERNODE" import dc page1.xml
contains "$work/out" "2 new, 0 updated"
contains "$work/out" "1 commit"
id=$(node list | grep Photosynthesis | cut -f1)
node show "$id" >doc.json
contains doc.json '"licence": "CC-BY-4.0"'
contains doc.json '"source_url": "https://example.org/photo"'
head=$(git -C "$data/repo.git" rev-parse refs/catalog/us-lr)
expect_exit 0 "$OERNODE" import dc page1.xml
contains "$work/out" "0 new, 0 updated, 2 unchanged"
contains "$work/out" "0 commits"
check "second import makes no commit" \
    test "$(git -C "$data/repo.git" rev-parse refs/catalog/us-lr)" = "$head"

# a deleted header withdraws
expect_exit 0 "$OERNODE" import dc page2.xml
contains "$work/out" "1 withdrawn"
node list --all | grep -q withdrawn || fail "no tombstone listed"

# every Learning Registry file of the shared samples
lr=${OERNODE_SHARED:-}/data/lr
if [ -n "${OERNODE_SHARED:-}" ] && [ -d "$lr" ]; then
    export OERNODE_DATA=$work/lr-node
    expect_exit 0 "$OERNODE" init --id us-lr
    expect_exit 3 "$OERNODE" import dc "$lr"
    cat "$work/out"
    contains "$work/out" "245 new, 0 updated, 0 unchanged, 0 withdrawn, 1 gone, 13 merged, 3 skipped; 11 files read, 1 without records; 1 commit"
    contains "$work/out" "skipped 2: not Dublin Core: paradata"
    contains "$work/out" "skipped 1: not Dublin Core: JSON payload"
    contains "$work/out" "skipped 1: JSON without Learning Registry envelopes"
    contains "$work/err" "oernode import: skipped eb2726c574074baca6fbb0b43ee841a0: not Dublin Core: paradata"
    check "26 records under CC BY-NC 3.0" \
        test "$("$OERNODE" -q list | grep -c "	CC-BY-NC-3.0	")" = 26
    expect_exit 3 "$OERNODE" import dc "$lr"
    contains "$work/out" "0 new, 0 updated, 245 unchanged"
    contains "$work/out" "0 commits"
else
    echo "import dc of the Learning Registry samples: skipped, the shared sample folder is absent"
fi
echo "import_dc: all checks passed"

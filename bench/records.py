#!/usr/bin/env python3
"""Generate the search benchmark's catalogue: ROWS records in four
languages as TSV tables with the mappings that import them
(WORK/records-NAME.tsv, WORK/records-NAME.map: nl, vl, en, de, fr), and
the benchmark's searches, a name and a query string a line (WORK/queries).

Titles, descriptions and keywords are drawn from a vocabulary of 20,000
words a language with a Zipf-like distribution (the r-th word about 1/r
as often as the first): a few real words at the top, so that a common
word ("the", "de") matches a large share of the catalogue, then made-up
words of two to four syllables, whose tail matches a handful of records
each.  Levels are terms of the Dutch and Flemish vocabularies (vocab/),
subjects of the same, licences, resource types and audiences from short
lists.  The output depends only on ROWS (a fixed seed)."""
import bisect, itertools, random, sys

rows, work = int(sys.argv[1]), sys.argv[2]
rnd = random.Random(5)

WORDS = 20000
top = {
    "en": "the of and to a in for is on with introduction lesson exercises"
          " worksheet practice basic advanced video course chapter",
    "nl": "de het een en van in voor op met is les oefeningen werkblad"
          " inleiding basis video cursus hoofdstuk uitleg toets",
    "de": "der die das und in zu den mit von für ist Einführung Übungen"
          " Arbeitsblatt Grundlagen Video Kurs Kapitel Lektion Test",
    "fr": "le la les de des et en un une pour avec introduction exercices"
          " fiche leçon vidéo cours chapitre pratique évaluation",
}
onsets = {"en": "b c d f g h l m n p r s t v w th sh st",
          "nl": "b d g h k l m n p r s t v w z sch ij oe",
          "de": "b d f g h k l m n p r s t w z sch st ü",
          "fr": "b c d f g j l m n p r s t v ch qu é"}
vowels = "a e i o u ai ou ea ie"


def vocabulary(lang):
    """The words of lang, most frequent first."""
    words = top[lang].split()
    seen = set(words)
    on, vo = onsets[lang].split(), vowels.split()
    while len(words) < WORDS:
        w = "".join(rnd.choice(on) + rnd.choice(vo)
                    for _ in range(rnd.randint(2, 4)))
        if w not in seen:
            seen.add(w)
            words.append(w)
    return words


cum = list(itertools.accumulate(1.0 / r for r in range(1, WORDS + 1)))


def draw(words, n):
    """n words of the list, Zipf-like."""
    total = cum[-1]
    return [words[bisect.bisect(cum, rnd.random() * total)]
            for _ in range(n)]


nl_levels = ["po_groep%d" % g for g in range(1, 9)] + \
    ["vmbo_bl1", "vmbo_kl2", "vmbo_gl3", "vmbo_tl4", "havo1", "havo3",
     "havo5", "vwo1", "vwo4", "vwo6", "mbo_niveau1", "mbo_niveau4",
     "hbo_bachelor",
     "wo_master"]
vl_levels = ["kleuter", "lager-1", "lager-3", "lager-6", "so-1", "so-2",
             "so-3-d", "so-4-a", "so-5-d", "so-6-df", "graduaat", "pba"]
nl_subjects = ["rekenen-wiskunde", "nederlands", "engels", "frans",
               "duits", "geschiedenis", "biologie", "natuurkunde",
               "scheikunde", "aardrijkskunde", "economie", "informatica"]
vl_subjects = ["wiskunde", "nederlands", "frans", "engels", "fysica",
               "chemie", "biologie", "geschiedenis", "aardrijkskunde",
               "informatica", "muzische-vorming", "techniek"]
licences = ["CC BY 4.0"] * 5 + ["CC BY-SA 4.0"] * 3 + \
    ["CC BY-NC-SA 4.0", "CC BY-NC 4.0", "CC0 1.0", "CC BY-NC-SA 3.0"]
types = ["video", "worksheet", "lesson plan", "textbook", "exercise",
         "simulation", "assessment", "presentation"]
audiences = ["learner", "teacher"]
# file: (language, share of the records, levels, subjects, vocabulary)
files = {
    "nl": ("nl", 0.20, nl_levels, nl_subjects, "nl"),
    "vl": ("nl", 0.15, vl_levels, vl_subjects, "be-vl"),
    "en": ("en", 0.35, nl_levels, nl_subjects, "nl"),
    "de": ("de", 0.15, vl_levels, vl_subjects, "be-vl"),
    "fr": ("fr", 0.15, vl_levels, vl_subjects, "be-vl"),
}
vocabularies = {lang: vocabulary(lang) for lang in top}
done = 0
for n, (name, (lang, share, levels, subjects, system)) in \
        enumerate(files.items()):
    count = rows - done if n == len(files) - 1 else int(rows * share)
    words = vocabularies[lang]
    with open("%s/records-%s.tsv" % (work, name), "w") as t:
        t.write("key\ttitle\tdescription\tkeywords\tlevel\tsubject"
                "\tlicence\ttype\taudience\turl\n")
        for i in range(done, done + count):
            t.write("\t".join([
                "r-%d" % i,
                " ".join(draw(words, rnd.randint(3, 8))).capitalize(),
                " ".join(draw(words, rnd.randint(15, 40))) + ".",
                ";".join(draw(words, rnd.randint(1, 4))),
                rnd.choice(levels), rnd.choice(subjects),
                rnd.choice(licences), rnd.choice(types),
                rnd.choice(audiences),
                "https://oer.example.org/%d" % i]) + "\n")
    done += count
    src = "http://purl.org/oernode/vocab/" + system
    with open("%s/records-%s.map" % (work, name), "w") as m:
        m.write("[source]\n\tid = key\n\tprefix = bench:\n")
        for f in ("title", "description", "keywords"):
            m.write('[field "%s"]\n\tcolumn = %s\n\tlanguage = %s\n'
                    % (f, f, lang))
        m.write('\tseparator = ";"\n')
        m.write('[field "languages"]\n\tdefault = %s\n' % lang)
        for f in ("level", "subject"):
            m.write('[field "%ss"]\n\tcolumn = %s\n\tvocabulary = %s\n'
                    % (f, f, src))
        m.write('[field "licence"]\n\tcolumn = licence\n'
                '[field "resource_types"]\n\tcolumn = type\n'
                '[field "audience"]\n\tcolumn = audience\n'
                '[field "source_url"]\n\tcolumn = url\n')

# The searches of bench/search.sh: English words of known rank (the
# r-th word is in about 1.2M / r records of a million).
en = vocabularies["en"]
with open(work + "/queries", "w") as q:
    q.write("selective word\tq=%s\n" % en[5000])
    q.write("mid word\tq=%s\n" % en[300])
    q.write("common word\tq=video\n")
    q.write("two words\tq=%s+%s\n" % (en[200], en[1000]))
    q.write("phrase\tq=%22basic+video%22\n")
    q.write("filtered\tq=%s&level=isced:3&language=en\n" % en[300])
    # the worst case: every match of a common English word is read and
    # tested, none is in German
    q.write("common, no hit\tq=video&language=de\n")
    q.write("no words, facets\t\n")
    q.write("filters only\tlanguage=nl&licence=CC-BY-4.0\n")

/*
 * cmd_add: `oernode add`: build a document from flags or read one from a
 * JSON file, check it whole (files included, with placeholder ids) before
 * anything is written, then store the files and commit the document.
 */
#include "node/cmd_add.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "node/error.h"
#include "node/licence.h"
#include "node/lom.h"
#include "node/metadata.h"

#define ADD_MAX 64 /* values of one repeatable option */

/* A repeatable option's values. */
struct values {
    const char *v[ADD_MAX];
    size_t n;
};

struct add_args {
    struct values title, description, keyword, language, level, subject, type,
        audience, files;
    const char *licence, *url, *json;
    int flags; /* metadata flags given */
};

static const struct {
    const char *ext, *type;
} media_types[] = {
    {"pdf", "application/pdf"},
    {"html", "text/html"},
    {"htm", "text/html"},
    {"txt", "text/plain"},
    {"md", "text/markdown"},
    {"csv", "text/csv"},
    {"xml", "application/xml"},
    {"json", "application/json"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"svg", "image/svg+xml"},
    {"webp", "image/webp"},
    {"mp3", "audio/mpeg"},
    {"ogg", "audio/ogg"},
    {"wav", "audio/wav"},
    {"mp4", "video/mp4"},
    {"webm", "video/webm"},
    {"zip", "application/zip"},
    {"h5p", "application/zip"},
    {"epub", "application/epub+zip"},
    {"odt", "application/vnd.oasis.opendocument.text"},
    {"ods", "application/vnd.oasis.opendocument.spreadsheet"},
    {"odp", "application/vnd.oasis.opendocument.presentation"},
    {"docx", "application/vnd.openxmlformats-officedocument."
             "wordprocessingml.document"},
    {"xlsx", "application/vnd.openxmlformats-officedocument."
             "spreadsheetml.sheet"},
    {"pptx", "application/vnd.openxmlformats-officedocument."
             "presentationml.presentation"},
    {"doc", "application/msword"},
    {"xls", "application/vnd.ms-excel"},
    {"ppt", "application/vnd.ms-powerpoint"},
};

const char *cmd_add_media_type(const char *name)
{
    const char *dot = strrchr(name, '.');

    for (size_t i = 0; dot != NULL && dot != name &&
                       i < sizeof(media_types) / sizeof(media_types[0]);
         i++) {
        if (strcasecmp(dot + 1, media_types[i].ext) == 0)
            return media_types[i].type;
    }
    return "application/octet-stream";
}

static int push(struct cli *cli, struct values *vals, const char *value)
{
    if (vals->n == ADD_MAX)
        return cli_fail(cli, CLI_USAGE,
                        "more than %d values of one "
                        "option",
                        ADD_MAX);
    vals->v[vals->n++] = value;
    return -1;
}

static struct values *repeatable(struct add_args *a, int opt)
{
    switch (opt) {
    case 't':
        return &a->title;
    case 'd':
        return &a->description;
    case 'k':
        return &a->keyword;
    case 'L':
        return &a->language;
    case 'e':
        return &a->level;
    case 's':
        return &a->subject;
    case 'T':
        return &a->type;
    case 'a':
        return &a->audience;
    default:
        return NULL;
    }
}

static int parse(struct add_args *a, struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"title", required_argument, NULL, 't'},
        {"description", required_argument, NULL, 'd'},
        {"keyword", required_argument, NULL, 'k'},
        {"language", required_argument, NULL, 'L'},
        {"level", required_argument, NULL, 'e'},
        {"subject", required_argument, NULL, 's'},
        {"type", required_argument, NULL, 'T'},
        {"audience", required_argument, NULL, 'a'},
        {"licence", required_argument, NULL, 'l'},
        {"license", required_argument, NULL, 'l'},
        {"url", required_argument, NULL, 'u'},
        {"json", required_argument, NULL, 'j'},
        CLI_COMMON_OPTIONS,
        {0}};
    int opt, code = -1;

    while ((opt = getopt_long(argc, argv, "hvq", opts, NULL)) != -1) {
        struct values *vals = repeatable(a, opt);

        a->flags |= vals != NULL || opt == 'l' || opt == 'u';
        if (vals != NULL)
            code = push(cli, vals, optarg);
        else if (opt == 'l')
            a->licence = optarg;
        else if (opt == 'u')
            a->url = optarg;
        else if (opt == 'j')
            a->json = optarg;
        else
            code = cli_option(cli, opt, optarg);
        if (code >= 0)
            return code;
    }
    for (int i = optind; code < 0 && i < argc; i++) {
        a->flags |= metadata_valid_url(argv[i]);
        if (metadata_valid_url(argv[i]) && a->url != NULL)
            code = cli_fail(cli, CLI_USAGE, "two URLs: %s and %s", a->url,
                            argv[i]);
        else if (metadata_valid_url(argv[i]))
            a->url = argv[i];
        else
            code = push(cli, &a->files, argv[i]);
    }
    if (code < 0 && a->json != NULL && a->flags)
        code = cli_fail(cli, CLI_USAGE,
                        "--json FILE takes no metadata "
                        "options or URL; put them in the file");
    if (code < 0 && a->json == NULL && !a->flags && a->files.n == 0)
        code = cli_fail(cli, CLI_USAGE,
                        "nothing to add; see oernode add "
                        "--help");
    return code;
}

/* Split "[LANG:]TEXT": lang gets LANG in lower case, or deflang. */
static const char *split_lang(char lang[32], const char *arg,
                              const char *deflang)
{
    static const char letters[] = "abcdefghijklmnopqrstuvwxyz"
                                  "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    static const char subtag[] = "-0123456789abcdefghijklmnopqrstuvwxyz"
                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const char *colon = strchr(arg, ':');
    size_t n = colon != NULL ? (size_t)(colon - arg) : 0;
    size_t primary = strspn(arg, letters);

    /* 2 or 3 letters, then subtags of letters and digits */
    if (colon != NULL && n < 32 && primary >= 2 && primary <= 3 &&
        (primary == n || (arg[primary] == '-' && n > primary + 1 &&
                          strspn(arg + primary, subtag) == n - primary))) {
        for (size_t i = 0; i < n; i++)
            lang[i] = (char)tolower((unsigned char)arg[i]);
        lang[n] = '\0';
        return colon + 1;
    }
    snprintf(lang, 32, "%s", deflang);
    return arg;
}

/* Set doc.field from "[LANG:]TEXT" values: a langmap, or a langlist. */
static int set_langs(struct cli *cli, json_t *doc, const char *field,
                     const struct values *vals, const char *deflang, int list)
{
    json_t *map = json_object();
    char lang[32];
    int err = 0;

    for (size_t i = 0; map != NULL && err == 0 && i < vals->n; i++) {
        const char *text = split_lang(lang, vals->v[i], deflang);
        json_t *have = json_object_get(map, lang);

        if (!list && have != NULL) {
            json_decref(map);
            return cli_fail(cli, CLI_USAGE,
                            "two values of %s in language "
                            "'%s'",
                            field, lang);
        }
        if (list && have == NULL) {
            have = json_array();
            err = json_object_set_new(map, lang, have);
        }
        if (err == 0)
            err = list ? json_array_append_new(have, json_string(text))
                       : json_object_set_new(map, lang, json_string(text));
    }
    if (map == NULL || err != 0 ||
        (vals->n > 0 && json_object_set(doc, field, map) < 0)) {
        json_decref(map);
        return cli_fail(cli, CLI_INVALID, "%s: not valid UTF-8 text", field);
    }
    json_decref(map);
    return -1;
}

/* Set doc.field to terms of free text, or of LOMv1.0 when a value is
 * one of the LOM element's (element NULL: free text only). */
static int set_terms(json_t *doc, const char *field, const struct values *vals,
                     const char *element)
{
    json_t *list = json_array();
    int err = list == NULL;

    for (size_t i = 0; err == 0 && i < vals->n; i++) {
        const char *source =
            element != NULL && lom_vocab_value(element, vals->v[i]) != NULL
                ? "LOMv1.0"
                : "";

        err =
            json_array_append_new(list, json_pack("{s:s, s:s}", "source",
                                                  source, "value", vals->v[i]));
    }
    if (err == 0 && vals->n > 0)
        err = json_object_set(doc, field, list);
    json_decref(list);
    return err == 0 ? 0 : OER_EINVAL;
}

static int set_licence(struct cli *cli, json_t *doc, const char *text)
{
    const char *names[8];
    struct licence lic;
    json_t *flags;
    size_t n;

    if (text == NULL)
        return -1;
    if (*text == '\0')
        return cli_fail(cli, CLI_INVALID,
                        "--licence is empty: give an SPDX "
                        "id, a Creative Commons URL or name, or \"all "
                        "rights reserved\"");
    licence_normalise(&lic, text);
    json_object_set_new(doc, "licence", json_string(lic.id));
    if (strcmp(lic.id, LICENCE_UNKNOWN) == 0)
        fprintf(stderr,
                "oernode %s: warning: licence '%s' not recognised; "
                "stored as %s, with the text in \"rights\"\n",
                cli->command, text, LICENCE_UNKNOWN);
    if (strcmp(lic.id, LICENCE_UNKNOWN) == 0 || lic.flags != 0)
        json_object_set_new(doc, "rights", json_string(text));

    n = licence_flag_names(names, 8, lic.flags);
    flags = json_array();
    for (size_t i = 0; flags != NULL && i < n && i < 8; i++)
        json_array_append_new(flags, json_string(names[i]));
    if (n > 0)
        json_object_set(doc, "licence_flags", flags);
    json_decref(flags);
    return -1;
}

static int from_flags(json_t **out, struct cli *cli, const struct add_args *a)
{
    const char *deflang = a->language.n > 0 ? a->language.v[0] : "und";
    json_t *doc, *langs;
    int code = -1;

    /* named here: the first is also the key of a title without LANG: */
    for (size_t i = 0; i < a->language.n; i++) {
        if (!metadata_valid_language(a->language.v[i]))
            return cli_fail(cli, CLI_INVALID,
                            "--language '%s': not a language tag (2 or 3 "
                            "letters, then subtags: en, nl, nl-BE)",
                            a->language.v[i]);
    }
    doc = json_pack("{s:i}", "schema", METADATA_SCHEMA);
    langs = json_array();
    for (size_t i = 0; langs != NULL && i < a->language.n; i++)
        json_array_append_new(langs, json_string(a->language.v[i]));
    if (a->language.n == 0)
        json_array_append_new(langs, json_string("und"));
    json_object_set(doc, "languages", langs);
    json_decref(langs);
    if (a->url != NULL)
        json_object_set_new(doc, "source_url", json_string(a->url));

    code = set_langs(cli, doc, "title", &a->title, deflang, 0);
    if (code < 0)
        code = set_langs(cli, doc, "description", &a->description, deflang, 0);
    if (code < 0)
        code = set_langs(cli, doc, "keywords", &a->keyword, deflang, 1);
    if (code < 0 &&
        (set_terms(doc, "levels", &a->level, NULL) < 0 ||
         set_terms(doc, "subjects", &a->subject, NULL) < 0 ||
         set_terms(doc, "resource_types", &a->type, "learningresourcetype") <
             0 ||
         set_terms(doc, "audience", &a->audience, "intendedenduserrole") < 0))
        code = cli_fail(cli, CLI_INVALID, "a term is not valid UTF-8 text");
    if (code < 0)
        code = set_licence(cli, doc, a->licence);
    if (code >= 0) {
        json_decref(doc);
        return code;
    }
    *out = doc;
    return -1;
}

static int from_json(json_t **out, struct cli *cli, const char *path)
{
    json_error_t jerr;
    json_t *doc;

    if (strcmp(path, "-") == 0)
        doc = json_loadf(stdin, JSON_REJECT_DUPLICATES, &jerr);
    else
        doc = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL && jerr.line < 0)
        return cli_fail(cli, CLI_FAILURE, "cannot read %s: %s", path,
                        jerr.text);
    if (doc == NULL)
        return cli_fail(cli, CLI_INVALID, "%s:%d:%d: %s", path, jerr.line,
                        jerr.column, jerr.text);
    if (!json_is_object(doc)) {
        json_decref(doc);
        return cli_fail(cli, CLI_INVALID, "%s: not a JSON object", path);
    }
    *out = doc;
    return -1;
}

/* Entries for the files, with placeholder ids, so that the document is
 * checked whole before any file is written.  *first: index of the first. */
static int file_entries(size_t *first, json_t *doc, struct cli *cli,
                        const struct values *files)
{
    static const char zeros[] = "000000000000000000000000000000000000000000"
                                "0000000000000000000000";
    json_t *list = json_object_get(doc, "files");
    struct stat st;

    if (files->n == 0)
        return -1;
    if (list == NULL) {
        list = json_array();
        json_object_set_new(doc, "files", list);
    }
    if (!json_is_array(list))
        return cli_fail(cli, CLI_INVALID, "files: not an array");
    *first = json_array_size(list);

    for (size_t i = 0; i < files->n; i++) {
        const char *path = files->v[i], *slash = strrchr(path, '/');
        const char *name = slash != NULL ? slash + 1 : path;

        if (stat(path, &st) != 0)
            return cli_fail(cli, CLI_FAILURE, "cannot add %s: %s", path,
                            strerror(errno));
        if (!S_ISREG(st.st_mode))
            return cli_fail(cli, CLI_FAILURE,
                            "cannot add %s: not a "
                            "regular file",
                            path);
        json_array_append_new(
            list,
            json_pack("{s:s, s:s, s:I, s:s#, s:s}", "name", name, "media_type",
                      cmd_add_media_type(name), "size", (json_int_t)st.st_size,
                      "blob", zeros, (size_t)40, "sha256", zeros));
    }
    return -1;
}

static int report_invalid(struct cli *cli, const struct metadata_error *e,
                          const json_t *doc)
{
    const char *text = json_string_value(json_object_get(doc, "licence"));
    struct licence lic;

    /* A licence written the way people write it: name the id to use. */
    if (strcmp(e->field, "licence") == 0 && text != NULL &&
        licence_normalise(&lic, text) == 0 &&
        strcmp(lic.id, LICENCE_UNKNOWN) != 0)
        return cli_fail(cli, CLI_INVALID,
                        "invalid metadata: licence: '%s' is not an id; "
                        "write \"%s\" (or give it to --licence, which "
                        "reads names and URLs)",
                        text, lic.id);
    return cli_fail(cli, CLI_INVALID, "invalid metadata: %s: %s (%s)", e->field,
                    e->detail, metadata_problem_name(e->problem));
}

/* Give doc its id (a new one, or its own when it names this node) and
 * the time of this version. */
static int name_doc(json_t *doc, struct cli *cli, const char *origin)
{
    const char *id = json_string_value(json_object_get(doc, "id"));
    const char *source_id =
        json_string_value(json_object_get(doc, "source_id"));
    size_t n = strlen(origin);
    char local[16], full[96], now[24];

    if (id != NULL && (strncmp(id, origin, n) != 0 || id[n] != '/'))
        return cli_fail(cli, CLI_INVALID,
                        "invalid metadata: id: %s is not "
                        "of this node (%s)",
                        id, origin);
    if (id == NULL) {
        /* A record with a source id names the same resource as an
         * import of that source id would: adding it again updates it. */
        if (metadata_local_id(local, source_id) < 0)
            return cli_fail(cli, CLI_FAILURE, "no randomness for an id");
        snprintf(full, sizeof(full), "%s/%s", origin, local);
        json_object_set_new(doc, "id", json_string(full));
    }
    metadata_now(now);
    json_object_set_new(doc, "updated", json_string(now));
    return -1;
}

/* Write the files and put their ids in the document. */
static int store_files(json_t *doc, struct cli *cli,
                       const struct cli_node *node, const struct values *files,
                       size_t first)
{
    json_t *list = json_object_get(doc, "files");
    struct store_file f;
    int err;

    for (size_t i = 0; i < files->n; i++) {
        json_t *entry = json_array_get(list, first + i);

        err = store_add_file(&f, node->store, node->id, files->v[i]);
        if (err < 0)
            return cli_fail(cli, CLI_FAILURE, "cannot store %s (%s)",
                            files->v[i], error_name(err));
        json_object_set_new(entry, "blob", json_string(f.blob));
        json_object_set_new(entry, "sha256", json_string(f.sha256));
        json_object_set_new(entry, "size", json_integer(f.size));
    }
    return -1;
}

/* The document to add, checked whole; files get placeholder ids. */
static int build(json_t **out, size_t *first, struct cli *cli,
                 const struct add_args *a, const char *origin)
{
    struct metadata_error merr;
    json_t *doc = NULL;
    int code;

    code = a->json != NULL ? from_json(&doc, cli, a->json)
                           : from_flags(&doc, cli, a);
    if (code < 0)
        code = file_entries(first, doc, cli, &a->files);
    if (code < 0 && metadata_validate(
                        doc, METADATA_STRICT | METADATA_SUBMISSION, &merr) < 0)
        code = report_invalid(cli, &merr, doc);
    if (code < 0)
        code = name_doc(doc, cli, origin);
    if (code < 0 && metadata_validate(doc, METADATA_STRICT, &merr) < 0)
        code = report_invalid(cli, &merr, doc);
    if (code >= 0) {
        json_decref(doc);
        return code;
    }
    *out = doc;
    return -1;
}

static int run_add(struct cli *cli, int argc, char **argv)
{
    struct add_args a = {0};
    struct cli_node node = {0};
    char message[200];
    json_t *doc = NULL;
    size_t first = 0;
    int code, changed = 0;
    const char *id;

    code = parse(&a, cli, argc, argv);
    if (code >= 0)
        return code;
    code = cli_node_open(&node, cli, CLI_NODE_KEY | CLI_NODE_STORE);
    if (code == CLI_OK)
        code = build(&doc, &first, cli, &a, node.id);
    if (code < 0)
        code = store_files(doc, cli, &node, &a.files, first);
    if (code >= 0)
        goto out;

    id = json_string_value(json_object_get(doc, "id"));
    snprintf(message, sizeof(message), "add %s", id);
    code = cli_commit(cli, &node, doc, message, &changed);
    if (code == CLI_OK && !changed)
        fprintf(stderr,
                "oernode add: %s is there already as it is; "
                "nothing changed\n",
                id);
    if (code == CLI_OK)
        printf("%s\n", id);

out:
    json_decref(doc);
    cli_node_close(&node);
    return code;
}

const struct cli_command cmd_add_commands[] = {
    {"add", run_add, "add [OPTIONS] [FILE...] [URL]",
     "publish a resource: metadata, files and/or a URL",
     "Publish a resource in this node's catalogue, in one signed commit,\n"
     "and print its new id.  The metadata come from the options below or\n"
     "from a JSON document (docs/METADATA.md) with --json; either way\n"
     "the whole document is checked before anything is written, and an\n"
     "invalid one is refused with exit 3.  Each FILE is stored and listed\n"
     "in \"files\" with its name, media type, size, blob id and SHA-256.\n"
     "A URL operand (http, https, ftp) is the source URL.\n\n"
     "Options (repeatable where it says so):\n"
     "  --title [LANG:]TEXT        title in LANG (repeatable; one per "
     "language)\n"
     "  --description [LANG:]TEXT  description (repeatable)\n"
     "  --keyword [LANG:]TEXT      keyword (repeatable)\n"
     "  --language TAG             language of the content (repeatable);\n"
     "                             the first is the LANG of texts "
     "without one;\n"
     "                             default und\n"
     "  --licence TEXT             SPDX id, CC URL or name; what is not\n"
     "                             recognised is stored as "
     "LicenseRef-unknown\n"
     "                             with the text in \"rights\" (a "
     "warning)\n"
     "  --url URL                  where the resource lives\n"
     "  --level TERM               education level (repeatable)\n"
     "  --subject TERM             subject (repeatable)\n"
     "  --type TERM                learning resource type (repeatable)\n"
     "  --audience TERM            intended end user (repeatable)\n"
     "  --json FILE                the document, checked as a "
     "submission;\n"
     "                             \"-\" reads stdin; no other metadata "
     "options;\n"
     "                             with a \"source_id\", adding it again "
     "updates\n"
     "                             the same resource (as an import "
     "would)\n\n"
     "LANG: is taken as a language only when it looks like one (2 or 3\n"
     "letters, optional subtags); write und:TEXT to keep a colon.\n"},
    {NULL, NULL, NULL, NULL, NULL}};

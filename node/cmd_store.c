/*
 * cmd_store: `oernode show`, `list`, `withdraw`, `log`, `import` and
 * `fsck` over the node's catalogues.
 */
#include "node/cmd_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "node/dc.h"
#include "node/bulk.h"
#include "node/error.h"
#include "node/harvest.h"
#include "node/import.h"
#include "node/metadata.h"
#include "sync/keyring.h"

/* Options shared by this module's commands; 0 means "not given". */
struct args {
    int raw, all, dry_run;
    const char *origin, *reason, *map;
    const char *set, *from, *prefix; /* import oai */
};

static int parse(struct args *a, struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"raw", no_argument, NULL, 'r'},
        {"all", no_argument, NULL, 'a'},
        {"origin", required_argument, NULL, 'o'},
        {"reason", required_argument, NULL, 'R'},
        {"dry-run", no_argument, NULL, 'n'},
        {"map", required_argument, NULL, 'm'},
        {"set", required_argument, NULL, 'S'},
        {"from", required_argument, NULL, 'F'},
        {"prefix", required_argument, NULL, 'P'},
        CLI_COMMON_OPTIONS,
        {0}};
    int opt, code;

    memset(a, 0, sizeof(*a));
    while ((opt = getopt_long(argc, argv, "hvq", opts, NULL)) != -1) {
        if (opt == 'r')
            a->raw = 1;
        else if (opt == 'a')
            a->all = 1;
        else if (opt == 'o')
            a->origin = optarg;
        else if (opt == 'R')
            a->reason = optarg;
        else if (opt == 'n')
            a->dry_run = 1;
        else if (opt == 'm')
            a->map = optarg;
        else if (opt == 'S')
            a->set = optarg;
        else if (opt == 'F')
            a->from = optarg;
        else if (opt == 'P')
            a->prefix = optarg;
        if (strchr("raoRnmSFP", opt) != NULL && opt != 0)
            continue;
        code = cli_option(cli, opt, optarg);
        if (code >= 0)
            return code;
    }
    return -1;
}

/* Options this command does not take. */
static int refuse(struct cli *cli, int given, const char *option)
{
    if (!given)
        return -1;
    return cli_fail(cli, CLI_USAGE,
                    "%s is not an option of this command; "
                    "see oernode %s --help",
                    option, cli->command);
}

/* Parse the command line: the options named in allowed, and exactly
 * `operands` operands. */
static int command_line(struct args *a, struct cli *cli, int argc, char **argv,
                        const char *allowed, int operands)
{
    int code = parse(a, cli, argc, argv);

    if (code < 0)
        code = refuse(cli, a->raw && !strchr(allowed, 'r'), "--raw");
    if (code < 0)
        code = refuse(cli, a->all && !strchr(allowed, 'a'), "--all");
    if (code < 0)
        code = refuse(cli, a->origin && !strchr(allowed, 'o'), "--origin");
    if (code < 0)
        code = refuse(cli, a->reason && !strchr(allowed, 'R'), "--reason");
    if (code < 0)
        code = refuse(cli, a->dry_run && !strchr(allowed, 'n'), "--dry-run");
    if (code < 0)
        code = refuse(cli, a->map && !strchr(allowed, 'm'), "--map");
    if (code < 0)
        code = refuse(cli, (a->set || a->from || a->prefix) &&
                               !strchr(allowed, 'S'),
                      a->set ? "--set" : a->from ? "--from" : "--prefix");
    if (code < 0 && operands >= 0 && argc - optind != operands)
        code = cli_usage(cli);
    return code;
}

static int get_resource(json_t **doc, struct cli *cli,
                        const struct cli_node *node, const char *text,
                        char *origin, char *local)
{
    int err;

    if (cli_resource_id(origin, 72, local, 72, node, text) < 0)
        return cli_fail(cli, CLI_USAGE,
                        "'%s' is not a resource id "
                        "(ORIGIN/LOCAL-ID, or LOCAL-ID of this node)",
                        text);
    err = store_get(doc, node->store, origin, local);
    if (err == OER_ENOTFOUND)
        return cli_fail(cli, CLI_FAILURE, "no resource %s/%s", origin, local);
    if (err < 0)
        return cli_fail(cli, CLI_FAILURE, "cannot read %s/%s (%s)", origin,
                        local, error_name(err));
    return CLI_OK;
}

static int print_doc(struct cli *cli, const json_t *doc, int raw)
{
    char *text = NULL;
    size_t len = 0;

    if (raw && metadata_canonical(&text, &len, doc) < 0)
        return cli_fail(cli, CLI_FAILURE,
                        "the document has no canonical "
                        "form");
    if (!raw) {
        text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
        if (text == NULL)
            return cli_fail(cli, CLI_FAILURE, "out of memory");
        len = strlen(text);
    }
    fwrite(text, 1, len, stdout);
    if (!raw)
        fputc('\n', stdout);
    free(text);
    return CLI_OK;
}

static int run_show(struct cli *cli, int argc, char **argv)
{
    struct cli_node node;
    char origin[72], local[72];
    json_t *doc = NULL;
    struct args a;
    int code = command_line(&a, cli, argc, argv, "r", 1);

    if (code >= 0)
        return code;
    code = cli_node_open(&node, cli, CLI_NODE_STORE);
    if (code == CLI_OK)
        code = get_resource(&doc, cli, &node, argv[optind], origin, local);
    if (code == CLI_OK)
        code = print_doc(cli, doc, a.raw);
    json_decref(doc);
    cli_node_close(&node);
    return code;
}

/* The first value of a langmap, in the document's (sorted) order. */
static const char *first_string(const json_t *map)
{
    const char *key;
    json_t *value;

    json_object_foreach((json_t *)map, key, value)
    {
        if (json_is_string(value))
            return json_string_value(value);
    }
    return "";
}

static int on_list(const json_t *doc, void *arg)
{
    const struct args *a = arg;
    const char *id = json_string_value(json_object_get(doc, "id"));

    if (metadata_is_tombstone(doc)) {
        if (a->all)
            printf("%s\twithdrawn\t%s\n", id,
                   json_string_value(json_object_get(doc, "reason")));
        return 0;
    }
    printf("%s\t%s\t%s\n", id,
           json_string_value(json_object_get(doc, "licence")),
           first_string(json_object_get(doc, "title")));
    return 0;
}

/*
 * The exit code of reading origin's catalogue (what: "catalogue", "log"):
 * an empty catalogue of this node (own) is no failure; another origin's
 * that is not here is.
 */
static int catalogue_result(struct cli *cli, int err, const char *origin,
                            const char *own, const char *what)
{
    if (err == OER_ENOTFOUND && strcmp(origin, own) != 0)
        return cli_fail(cli, CLI_FAILURE, "no catalogue of origin '%s'",
                        origin);
    if (err < 0 && err != OER_ENOTFOUND)
        return cli_fail(cli, CLI_FAILURE, "cannot read the %s of %s (%s)",
                        what, origin, error_name(err));
    return CLI_OK;
}

static int run_list(struct cli *cli, int argc, char **argv)
{
    struct cli_node node;
    struct args a;
    int err, code = command_line(&a, cli, argc, argv, "ao", 0);

    if (code >= 0)
        return code;
    code = cli_node_open(&node, cli, CLI_NODE_STORE);
    if (code != CLI_OK)
        goto out;
    if (a.origin == NULL)
        a.origin = node.id;
    err = store_foreach(node.store, a.origin, on_list, &a);
    code = catalogue_result(cli, err, a.origin, node.id, "catalogue");

out:
    cli_node_close(&node);
    return code;
}

static json_t *tombstone(const json_t *doc, const char *reason)
{
    json_t *stone;
    char now[24];

    metadata_now(now);
    stone = json_pack("{s:i, s:O, s:s, s:b, s:s}", "schema", METADATA_SCHEMA,
                      "id", json_object_get(doc, "id"), "updated", now,
                      "deleted", 1, "reason", reason);
    if (stone != NULL && json_object_get(doc, "source_id") != NULL)
        json_object_set(stone, "source_id", json_object_get(doc, "source_id"));
    return stone;
}

static int withdraw(struct cli *cli, const struct cli_node *node,
                    const char *text, const char *reason)
{
    char origin[72], local[72], message[480];
    struct metadata_error merr;
    json_t *doc = NULL, *stone = NULL;
    int code;

    code = get_resource(&doc, cli, node, text, origin, local);
    if (code == CLI_OK && strcmp(origin, node->id) != 0)
        code = cli_fail(cli, CLI_FAILURE,
                        "%s/%s belongs to %s: only its "
                        "origin can withdraw it",
                        origin, local, origin);
    if (code == CLI_OK && metadata_is_tombstone(doc))
        code = cli_fail(cli, CLI_FAILURE, "%s/%s is withdrawn already", origin,
                        local);
    if (code != CLI_OK)
        goto out;

    stone = tombstone(doc, reason);
    if (stone == NULL || metadata_validate(stone, 0, &merr) < 0) {
        code = cli_fail(cli, CLI_INVALID, "bad reason: %s",
                        stone != NULL ? merr.detail : "out of memory");
        goto out;
    }
    snprintf(message, sizeof(message), "withdraw %s/%s: %.300s", origin, local,
             reason);
    code = cli_commit(cli, node, stone, message, NULL);
    if (code == CLI_OK)
        printf("%s/%s\n", origin, local);

out:
    json_decref(doc);
    json_decref(stone);
    return code;
}

static int run_withdraw(struct cli *cli, int argc, char **argv)
{
    struct cli_node node;
    struct args a;
    int code = command_line(&a, cli, argc, argv, "R", 1);

    if (code >= 0)
        return code;
    if (a.reason == NULL || a.reason[0] == '\0')
        return cli_usage(cli);
    code = cli_node_open(&node, cli, CLI_NODE_KEY | CLI_NODE_STORE);
    if (code == CLI_OK)
        code = withdraw(cli, &node, argv[optind], a.reason);
    cli_node_close(&node);
    return code;
}

static int on_log(const struct store_commit_info *info, void *arg)
{
    time_t t = (time_t)info->time;
    const char *nl = strchr(info->message, '\n');
    struct tm tm;
    char when[32];

    gmtime_r(&t, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    printf("%s %s %zu %s %.*s\n", info->id, when, info->changes,
           info->changes == 1 ? "change" : "changes",
           nl != NULL ? (int)(nl - info->message) : (int)strlen(info->message),
           info->message);
    return 0;
}

static int run_log(struct cli *cli, int argc, char **argv)
{
    struct cli_node node;
    struct args a;
    int err, code = command_line(&a, cli, argc, argv, "o", 0);

    if (code >= 0)
        return code;
    code = cli_node_open(&node, cli, CLI_NODE_STORE);
    if (code != CLI_OK)
        goto out;
    if (a.origin == NULL)
        a.origin = node.id;
    err = store_log(node.store, a.origin, on_log, NULL);
    code = catalogue_result(cli, err, a.origin, node.id, "log");

out:
    cli_node_close(&node);
    return code;
}

/* The keys of the catalogues: this node's own, then those known to the
 * keyring ([origin] keys, origin-keys/: sync/keyring.h). */
static int on_key(struct identity_pub *out, const char *origin, void *arg)
{
    const struct cli_node *node = arg;

    if (strcmp(origin, node->id) == 0) {
        identity_public(out, node->key);
        return 0;
    }
    return keyring_find(out, node->config, origin) == 0 ? 0 : OER_ENOTFOUND;
}

static void on_problem(const char *where, const char *what, void *arg)
{
    printf("%s: %s\n", where, what);
}

static int run_fsck(struct cli *cli, int argc, char **argv)
{
    struct cli_node node;
    size_t problems = 0;
    struct args a;
    int err, code = command_line(&a, cli, argc, argv, "", 0);

    if (code >= 0)
        return code;
    code = cli_node_open(&node, cli, CLI_NODE_KEY | CLI_NODE_STORE);
    if (code != CLI_OK)
        goto out;
    err = store_fsck(&problems, node.store, on_key, &node, on_problem, NULL);
    if (err < 0)
        code = cli_fail(cli, CLI_FAILURE, "the check could not run (%s)",
                        error_name(err));
    else if (problems > 0)
        code = cli_fail(cli, CLI_PROBLEMS, "%zu problem%s found", problems,
                        problems == 1 ? "" : "s");
    else
        printf("fsck: no problems found; all is well\n");

out:
    cli_node_close(&node);
    return code;
}

static void on_import_report(const char *where, const char *reason,
                             const char *detail, void *arg)
{
    fprintf(stderr, "oernode import: skipped %s: %s%s%s\n", where, reason,
            detail != NULL ? ": " : "", detail != NULL ? detail : "");
}

/* The readers of `import`, by format name. */
static const struct {
    const char *format;
    int (*import)(struct import_summary *out, const struct import_options *opt,
                  char *const *paths, size_t count);
} importers[] = {{"lom", import_lom}, {"dc", dc_import}};

static int report_mapping(struct cli *cli, int err,
                          const struct mapping_error *merr)
{
    if (err == OER_ENOMEM)
        return cli_fail(cli, CLI_FAILURE, "out of memory");
    if (merr->line > 0)
        return cli_fail(cli, CLI_INVALID, "%s:%u: %s%s%s", merr->file,
                        merr->line, merr->key, merr->key[0] ? ": " : "",
                        merr->detail);
    return cli_fail(cli, CLI_INVALID, "%s: %s%s%s", merr->file, merr->key,
                    merr->key[0] ? ": " : "", merr->detail);
}

/* import table|json --map MAP FILE|DIR...: node/bulk.h */
static int run_import_mapped(struct cli *cli, const struct args *a, int argc,
                             char **argv)
{
    struct import_summary sum;
    struct import_options opt = {.report = on_import_report, .progress = 1};
    struct mapping_error merr = {0};
    struct cli_node node;
    int json = strcmp(argv[optind], "json") == 0, err, code;

    if (argc - optind < 2 || a->map == NULL)
        return cli_fail(cli, CLI_USAGE,
                        "usage: oernode import [--dry-run] %s --map MAP "
                        "FILE|DIR...",
                        argv[optind]);
    code = cli_node_open(&node, cli, CLI_NODE_KEY | CLI_NODE_STORE);
    if (code != CLI_OK)
        goto out;

    opt.store = node.store;
    opt.key = node.key;
    opt.origin = node.id;
    opt.label = json ? "import json" : "import table";
    opt.dry_run = a->dry_run;
    err = (json ? bulk_import_json
                : bulk_import_table)(&sum, &opt, a->map, argv + optind + 1,
                                     (size_t)(argc - optind - 1), &merr);
    if (merr.detail[0] != '\0') {
        code = report_mapping(cli, err, &merr);
        goto out;
    }
    import_summary_print(stdout, &sum);
    if (err < 0)
        code = cli_fail(cli, CLI_FAILURE,
                        "import stopped (%s); the %zu "
                        "commits before stay, the rest is not written",
                        error_name(err), sum.commits);
    else if (sum.skipped > 0 || sum.bad_files > 0)
        code = CLI_INVALID;

out:
    cli_node_close(&node);
    return code;
}

/* A whole number from the environment, for tests; def when unset. */
static long env_number(const char *name, long def)
{
    const char *v = getenv(name);
    char *end = NULL;
    long n = v != NULL ? strtol(v, &end, 10) : 0;

    return v != NULL && end != v && *end == '\0' && n > 0 ? n : def;
}

static void print_harvest(const struct harvest_stats *st)
{
    printf("harvest: %zu page%s, %zu retr%s, %zu restart%s; %s", st->pages,
           st->pages == 1 ? "" : "s", st->retries,
           st->retries == 1 ? "y" : "ies", st->restarts,
           st->restarts == 1 ? "" : "s",
           st->complete ? "complete" : "incomplete");
    if (st->complete && st->mark[0] != '\0')
        printf("; next from %s", st->mark);
    printf("\n");
}

/* import oai URL [--set S] [--from DATE] [--prefix P]: node/harvest.h */
static int run_import_oai(struct cli *cli, const struct args *a, int argc,
                          char **argv)
{
    struct import_summary sum;
    struct import_options opt = {.report = on_import_report, .progress = 1};
    struct harvest_options hopt = {0};
    struct harvest_stats st;
    struct cli_node node;
    char *state = NULL;
    int err, code;

    if (argc - optind != 2)
        return cli_fail(cli, CLI_USAGE,
                        "usage: oernode import [--dry-run] oai URL "
                        "[--set SET] [--from DATE] [--prefix lom|oai_dc]");
    code = cli_node_open(&node, cli, CLI_NODE_KEY | CLI_NODE_STORE);
    if (code != CLI_OK)
        goto out;
    state = cli_path(node.config->data_dir, "harvest");
    if (state == NULL) {
        code = cli_fail(cli, CLI_FAILURE, "out of memory");
        goto out;
    }

    opt.store = node.store;
    opt.key = node.key;
    opt.origin = node.id;
    opt.label = "import oai";
    opt.dry_run = a->dry_run;
    hopt.url = argv[optind + 1];
    hopt.set = a->set;
    hopt.from = a->from;
    hopt.prefix = a->prefix;
    hopt.state_dir = state;
    hopt.backoff_ms = env_number("OERNODE_HARVEST_BACKOFF_MS", 0);
    hopt.retry_after_max = env_number("OERNODE_HARVEST_RETRY_AFTER_MAX", 0);
    hopt.stall_timeout = env_number("OERNODE_HARVEST_STALL_TIMEOUT", 0);
    err = harvest_import(&sum, &st, &opt, &hopt);
    import_summary_print(stdout, &sum);
    print_harvest(&st);
    if (err < 0)
        code = cli_fail(cli, CLI_FAILURE,
                        "harvest incomplete (%s): %s; the %zu commits of "
                        "what was read stay, the high-water mark is not "
                        "moved",
                        error_name(err),
                        st.error[0] ? st.error : "see the log", sum.commits);
    else if (sum.skipped > 0)
        code = CLI_INVALID;

out:
    free(state);
    cli_node_close(&node);
    return code;
}

static int run_import(struct cli *cli, int argc, char **argv)
{
    struct import_summary sum;
    struct import_options opt = {.report = on_import_report, .progress = 1};
    struct cli_node node;
    struct args a;
    char label[32];
    size_t i, n = sizeof(importers) / sizeof(importers[0]);
    int err, code = command_line(&a, cli, argc, argv, "nmS", -1);

    if (code >= 0)
        return code;
    if (argc - optind >= 1 && strcmp(argv[optind], "oai") == 0 &&
        a.map == NULL)
        return run_import_oai(cli, &a, argc, argv);
    if (a.set != NULL || a.from != NULL || a.prefix != NULL)
        return cli_fail(cli, CLI_USAGE,
                        "--set, --from and --prefix are options of import "
                        "oai");
    if (argc - optind >= 1 && (strcmp(argv[optind], "table") == 0 ||
                               strcmp(argv[optind], "json") == 0))
        return run_import_mapped(cli, &a, argc, argv);
    if (a.map != NULL)
        return cli_fail(cli, CLI_USAGE,
                        "--map is an option of import table and import json");
    for (i = 0; argc - optind >= 2 && i < n; i++) {
        if (strcmp(argv[optind], importers[i].format) == 0)
            break;
    }
    if (argc - optind < 2 || i == n)
        return cli_fail(cli, CLI_USAGE,
                        "usage: oernode import [--dry-run] lom|dc "
                        "FILE|DIR..., or import oai URL");
    code = cli_node_open(&node, cli, CLI_NODE_KEY | CLI_NODE_STORE);
    if (code != CLI_OK)
        goto out;

    snprintf(label, sizeof(label), "import %s", importers[i].format);
    opt.store = node.store;
    opt.key = node.key;
    opt.origin = node.id;
    opt.label = label;
    opt.dry_run = a.dry_run;
    err = importers[i].import(&sum, &opt, argv + optind + 1,
                              (size_t)(argc - optind - 1));
    import_summary_print(stdout, &sum);
    if (err < 0)
        code = cli_fail(cli, CLI_FAILURE,
                        "import stopped (%s); the %zu "
                        "commits before stay, the rest is not written",
                        error_name(err), sum.commits);
    else if (sum.skipped > 0 || sum.bad_files > 0)
        code = CLI_INVALID;

out:
    cli_node_close(&node);
    return code;
}

const struct cli_command cmd_store_commands[] = {
    {"show", run_show, "show [--raw] ID", "print one resource's document",
     "Print the metadata document of resource ID (ORIGIN/LOCAL-ID, or\n"
     "LOCAL-ID of this node) as indented JSON; tombstones too.\n\n"
     "Options:\n"
     "  --raw  the canonical bytes the catalogue stores, no newline\n"},
    {"list", run_list, "list [--origin ORIGIN] [--all]",
     "list the resources of a catalogue",
     "Print one line per resource of this node's catalogue (or ORIGIN's):\n"
     "id, licence and first title, separated by tabs.\n\n"
     "Options:\n"
     "  --origin ORIGIN  the catalogue of another origin held here\n"
     "  --all            withdrawn resources too, as: id, \"withdrawn\", "
     "reason\n"},
    {"withdraw", run_withdraw, "withdraw ID --reason TEXT",
     "withdraw a resource of this node, leaving a tombstone",
     "Replace resource ID of this node by a tombstone that keeps its id,\n"
     "the reason and its source id, and commit it signed: peers delete\n"
     "the resource when they receive it.  Prints the id.\n\n"
     "Options:\n"
     "  --reason TEXT  why the resource is withdrawn (required)\n"},
    {"log", run_log, "log [--origin ORIGIN]", "list a catalogue's commits",
     "Print the commits of this node's catalogue (or ORIGIN's), newest\n"
     "first: commit id, time (UTC), documents changed, first line of the\n"
     "message.\n\n"
     "Options:\n"
     "  --origin ORIGIN  the catalogue of another origin held here\n"},
    {"import", run_import,
     "import [--dry-run] lom|dc FILE|DIR... | oai URL [--set SET] "
     "[--from DATE] [--prefix lom|oai_dc]",
     "import LOM or Dublin Core records, or harvest an OAI-PMH provider",
     "Read records of another system and publish each one as\n"
     "<this node>/<id derived from its source identifier>, so that a\n"
     "second import of a record updates it and an unchanged one commits\n"
     "nothing.  lom: IEEE LOM or IMS LOM 1.2 records; dc: oai_dc,\n"
     "qualified DC or NSDL-DC records; alone, in OAI-PMH responses or\n"
     "(dc) in Learning Registry JSON envelopes.  Folders are searched\n"
     "recursively (*.xml; for dc *.json too).  Records of one source id\n"
     "merge; a record deleted at the source becomes a tombstone.\n"
     "Commits are signed, at most 10,000 records each.  A record that\n"
     "cannot be imported is reported with its source identifier and\n"
     "reason, and the others are imported; then the exit code is 3.\n"
     "Prints a summary: new, updated, unchanged, withdrawn, gone,\n"
     "merged, skipped, and the skipped ones by reason.\n\n"
     "oai URL: harvest the OAI-PMH provider at URL (http or https) with\n"
     "ListRecords, following resumption tokens, through the same import;\n"
     "the next run of the same URL, set and prefix asks only for what\n"
     "changed since the provider's first responseDate of the last\n"
     "complete run.  Retries 503 (Retry-After), 5xx and network errors;\n"
     "restarts the list when a token is refused; stops on a provider\n"
     "that loops.  See docs/OAI.md.\n\n"
     "Options:\n"
     "  --dry-run      read and validate, write nothing, report what would\n"
     "                 change\n"
     "  --set SET      (oai) harvest one set\n"
     "  --from DATE    (oai) from this date instead of the stored mark\n"
     "  --prefix P     (oai) metadataPrefix: lom (default; any other\n"
     "                 prefix is read as LOM too) or oai_dc\n"},
    {"fsck", run_fsck, "fsck", "check the repository and its signatures",
     "Check every catalogue: commits signed by the origin's key (this\n"
     "node's own key for its own catalogue, DATA/origin-keys/ORIGIN.pub\n"
     "for another's), documents valid and where\n"
     "their id says, files present with the right blob id and SHA-256.\n"
     "Prints each problem as \"where: what\"; exit 4 if there is any.\n"},
    {NULL, NULL, NULL, NULL, NULL}};

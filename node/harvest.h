/*
 * harvest: the OAI-PMH harvester (`oernode import oai URL`).  It asks the
 * provider's Identify for its granularity, lists records with ListRecords
 * (lom or oai_dc) page after page over libcurl, and hands every record,
 * deletion and unreadable record to the import sink (node/import.h),
 * which names each record after its source identifier, so that a second
 * harvest updates instead of duplicating.
 *
 * A list that gets HTTP 5xx on every try is split into from/until
 * windows, in halves, down to the granularity: the smallest failing
 * window is reported as skipped and holds the mark at its start (B09 d).
 *
 * Faults it survives: 503 (Retry-After, in seconds or as an HTTP date,
 * capped), 5xx, network errors and answers that are not OAI-PMH (all
 * retried with a doubling delay, a bounded number of times);
 * badResumptionToken (the list restarts from its first request, what was
 * imported stays); noRecordsMatch (an empty list).  It stops with an
 * error on a provider that hands back the token it was sent, a token of
 * an earlier page, or pages of records it has seen already, and past a
 * cap on pages.  A high-water mark per source (URL, set, prefix), the
 * provider's first responseDate of a completed run at its granularity,
 * is the next run's `from`; it lives in DATA/harvest/ and moves only
 * after a run that completed and was committed.
 */
#ifndef OERNODE_HARVEST_H
#define OERNODE_HARVEST_H

#include <stddef.h>
#include <time.h>

#include "node/import.h"

#define HARVEST_BACKOFF_MS 1000        /* first retry delay */
#define HARVEST_BACKOFF_MAX_MS 60000   /* longest retry delay */
#define HARVEST_RETRY_AFTER_MAX 3600   /* longest Retry-After obeyed, s */
#define HARVEST_ATTEMPTS 5             /* tries of one request */
#define HARVEST_RESTARTS 3             /* badResumptionToken restarts */
#define HARVEST_PAGES_MAX 100000       /* pages in one run */
#define HARVEST_LOOP_PAGES 3           /* pages of seen records: a loop */
#define HARVEST_SPLITS_MAX 64          /* windows split in one run */
#define HARVEST_RESPONSE_MAX (64u * 1024 * 1024) /* bytes a response */
#define HARVEST_CONNECT_TIMEOUT 30     /* seconds to connect */
#define HARVEST_STALL_TIMEOUT 60       /* seconds without a byte */

/* Length of a datestamp buffer: "2024-06-03T10:00:00Z" and its NUL. */
#define HARVEST_DATE_LEN 24

/* What to harvest and how; strings are borrowed.  A zero number means
 * the default above. */
struct harvest_options {
    const char *url;       /* base URL of the provider: http or https */
    const char *set;       /* setSpec, or NULL for all records */
    const char *prefix;    /* metadataPrefix: "oai_dc" is read as Dublin
                            * Core, any other as LOM; NULL: "lom" */
    const char *from;      /* NULL: the stored high-water mark, if any */
    const char *state_dir; /* folder of the marks; NULL: none kept */
    long backoff_ms;
    long retry_after_max;
    unsigned attempts;
    unsigned restarts;
    size_t pages_max;
    size_t response_max;
    long connect_timeout;
    long stall_timeout;
    long window_min; /* smallest window split to, in seconds; 0: the
                      * provider's granularity (a day or a second) */
};

/* What one harvest did, besides the sink's summary. */
struct harvest_stats {
    size_t pages;    /* list pages read */
    size_t retries;  /* requests tried again */
    size_t restarts; /* lists restarted after badResumptionToken */
    int complete;    /* 1: the list was read to its end */
    char granularity[HARVEST_DATE_LEN]; /* from Identify */
    char from[HARVEST_DATE_LEN];        /* the from sent; "" for none */
    char mark[HARVEST_DATE_LEN];        /* next run's from; "" unknown */
    size_t windows;         /* windows split after failing every try */
    size_t windows_skipped; /* smallest windows that failed: skipped */
    char held[HARVEST_DATE_LEN]; /* start of the first skipped window */
    char error[320]; /* why the harvest stopped; "" when complete */
};

/*
 * Harvest opt->url into run (begun by the caller, who finishes it).
 * Returns 0 when the list was read to its end; OER_EINVAL (bad options,
 * a URL that is not http or https, a from that is not a date),
 * OER_EPROTO (not an OAI-PMH provider, an OAI-PMH error, a loop, too
 * many restarts or pages), OER_EIO (the provider could not be reached
 * after every attempt), OER_ENOMEM, or the sink's error.  out->error says
 * why in a sentence; the failure is logged.
 */
int harvest_run(struct harvest_stats *out, struct import_run *run,
                const struct harvest_options *opt);

/*
 * A harvest as `oernode import oai` runs it: begin a sink run with iopt,
 * harvest, finish, and store out->mark as the source's high-water mark
 * when the harvest completed, the sink committed and this is no dry run.
 * sum and out are filled whatever happens.  Returns harvest_run's error,
 * else import_finish's, else the error of storing the mark.
 */
int harvest_import(struct import_summary *sum, struct harvest_stats *out,
                   const struct import_options *iopt,
                   const struct harvest_options *opt);

/*
 * The stored high-water mark of opt's source (URL, set, prefix) in
 * opt->state_dir, into out.  Returns 0, OER_ENOTFOUND (none yet),
 * OER_ECORRUPT (an unreadable mark file), OER_EIO.
 */
int harvest_mark_load(char out[HARVEST_DATE_LEN],
                      const struct harvest_options *opt);

/*
 * Store mark for opt's source, atomically (a temporary file renamed in
 * place), creating opt->state_dir.  Returns 0, OER_EINVAL, OER_EIO.
 */
int harvest_mark_save(const struct harvest_options *opt, const char *mark);

/*
 * Normalise the OAI-PMH date text (YYYY-MM-DD, or with a time, a
 * fraction and Z or an offset) to UTC, truncated down to the day when
 * day is non-zero, else to the second: "2024-06-03" or
 * "2024-06-03T08:15:27Z".  Returns 0, or OER_EINVAL when text is not
 * such a date.
 */
int harvest_date(char out[HARVEST_DATE_LEN], const char *text, int day);

/*
 * Seconds to wait for a Retry-After value (delta seconds, or an HTTP
 * date compared with now), at most cap; -1 when value is neither.
 */
long harvest_retry_after(const char *value, time_t now, long cap);

#endif

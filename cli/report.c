/* tangle report [OPTIONS] TRACE: the detectors again, on a saved trace
 * (finished, or left behind by a killed program), with the report `tangle
 * run` printed: the same text, and byte for byte the same --json. Also
 * TANGLE_OPTIONS, the environment defaults `run` and `report` share. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/report_int.h"
#include "symbols/symbols.h"
#include "trace/trace.h"

static const char usage[] =
    "usage: tangle report [OPTIONS] TRACE\n"
    "\n"
    "Runs the detectors on a saved trace and prints the report `tangle run`\n"
    "printed. Exits 66 (--exitcode) when findings of a --fail-on kind remain\n"
    "after suppressions, 0 when none do, 1 if TRACE cannot be read, 2 on a\n"
    "usage error or a bad suppression file.\n"
    "\n"
    "options:\n"
    "      --json=FILE        also write the findings as JSON ('-': stdout)\n"
    "      --sarif=FILE       also write the findings as SARIF 2.1.0\n"
    "      --suppressions=FILE  findings to ignore (repeatable)\n"
    "      --fail-on=KINDS    finding kinds that fail: deadlock, lock-order,\n"
    "                         race, misuse or all (default all)\n"
    "      --exitcode=N       exit status when findings fail (default 66)\n"
    "  -q, --quiet            no summary line\n"
    "  -h, --help             this help\n"
    "\n"
    "TANGLE_OPTIONS='suppressions=FILE exitcode=N fail_on=KINDS color=WHEN'\n"
    "gives defaults (see docs/ci.md).\n";

/* ---- TANGLE_OPTIONS */

void rp_env_free(struct rp_env *e)
{
    free(e->buf);
    e->buf = NULL;
}

int rp_env_parse(const char *text, struct rp_env *e, char *err, size_t errlen)
{
    *e = (struct rp_env){ .exitcode = -1 };
    if (!text)
        return 0;
    if (!(e->buf = strdup(text))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    char *save = NULL;
    /* TSAN_OPTIONS separates with spaces or colons; paths with a colon
     * can be quoted in neither, as there */
    for (char *tok = strtok_r(e->buf, " \t\n:", &save); tok;
         tok = strtok_r(NULL, " \t\n:", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok || !eq[1]) {
            snprintf(err, errlen, "'%s' is not name=value", tok);
            goto bad;
        }
        *eq = '\0';
        const char *name = tok, *value = eq + 1;
        long v;
        const char *badkind;
        if (strcmp(name, "suppressions") == 0) {
            if (e->nsuppressions == TG_RUN_MAX_SUPPRESSIONS) {
                snprintf(err, errlen, "at most %d suppressions files", TG_RUN_MAX_SUPPRESSIONS);
                goto bad;
            }
            e->suppressions[e->nsuppressions++] = value;
        } else if (strcmp(name, "exitcode") == 0) {
            if (!tg_cli_parse_long(value, 0, 255, &v)) {
                snprintf(err, errlen, "exitcode needs a status 0-255, not '%s'", value);
                goto bad;
            }
            e->exitcode = (int)v;
        } else if (strcmp(name, "fail_on") == 0 || strcmp(name, "fail-on") == 0) {
            if (!(e->fail_on = tg_cli_parse_kinds(value, &badkind))) {
                snprintf(err, errlen, "fail_on: unknown finding kind '%s'", badkind);
                goto bad;
            }
        } else if (strcmp(name, "color") == 0 || strcmp(name, "colour") == 0) {
            if (strcmp(value, "always") == 0)
                e->color = RP_COLOR_ALWAYS;
            else if (strcmp(value, "never") == 0)
                e->color = RP_COLOR_NEVER;
            else if (strcmp(value, "auto") == 0)
                e->color = RP_COLOR_AUTO;
            else {
                snprintf(err, errlen, "color is always, never or auto, not '%s'", value);
                goto bad;
            }
        } else {
            snprintf(err, errlen, "unknown option '%s' (suppressions, exitcode, fail_on, color)",
                     name);
            goto bad;
        }
    }
    return 0;
bad:
    rp_env_free(e);
    return -1;
}

/* ---- the command */

struct report_args {
    struct tg_run_options o;
    bool quiet;
    const char *trace;
};

static int parse_args(int argc, char **argv, struct report_args *a)
{
    static const struct option longopts[] = {
        TG_REPORT_LONGOPTS,
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    a->o = (struct tg_run_options){ .exitcode = TG_STATUS_FINDINGS, .fail_on = TG_FIND_ALL_KINDS };
    for (;;) {
        /* options may follow the trace (`tangle report t.trace --json f`),
         * as in git or gcc; `--` ends them */
        if ((c = tg_cli_getopt("report", argc, argv, "qh", longopts)) == -1) {
            if (optind >= argc || strcmp(argv[optind - 1], "--") == 0)
                break;
            if (a->trace)
                return tg_cli_usage_error("report", "one trace at a time ('%s' too)",
                                          argv[optind]);
            a->trace = argv[optind++];
            continue;
        }
        switch (c) {
        case 'q': a->quiet = true; break;
        case 'h':
            fputs(usage, stdout);
            return -1;
        default: {
            int r = tg_cli_report_option("report", c, optarg, &a->o);
            if (r != 0)
                return r == 1 ? TG_STATUS_USAGE : r;
        }
        }
    }
    if (optind < argc && !a->trace)
        a->trace = argv[optind++];
    if (optind < argc)
        return tg_cli_usage_error("report", "one trace at a time ('%s' too)", argv[optind]);
    if (!a->trace)
        return tg_cli_usage_error("report", "no trace given");
    return 0;
}

static void on_finding(void *ctx, const struct tg_finding *f)
{
    tg_report_finding(ctx, f);
}

/* The last line: the findings by kind, or that there are none. After a
 * read error with nothing found the error line says it all: one line. */
static void summary_line(struct tg_report *r, const char *path, bool quiet, bool read_failed)
{
    const struct tg_finding **fs;
    long n = rp_final_findings(r, &fs);
    unsigned per[TG_FIND_KIND_COUNT] = { 0 };

    if (quiet || n < 0 || (n == 0 && read_failed)) {
        if (n >= 0)
            free(fs);
        return;
    }
    for (long i = 0; i < n; i++)
        if (fs[i]->kind < TG_FIND_KIND_COUNT)
            per[fs[i]->kind]++;
    free(fs);
    fprintf(stderr, "tangle: %s: ", path);
    if (n == 0) {
        fputs("no findings.\n", stderr);
        return;
    }
    fputs("findings:", stderr);
    const char *sep = " ";
    for (unsigned k = 0; k < TG_FIND_KIND_COUNT; k++)
        if (per[k]) {
            fprintf(stderr, "%s%u %s", sep, per[k], tg_finding_kind_name(k));
            sep = ", ";
        }
    fputs(".\n", stderr);
}

int tg_cmd_report(int argc, char **argv)
{
    struct report_args a = { .quiet = false };
    struct rp_env env;
    char err[1024];
    int status = parse_args(argc, argv, &a);

    if (status)
        return status < 0 ? tg_cli_flush_stdout() : status;
    if (rp_env_parse(getenv("TANGLE_OPTIONS"), &env, err, sizeof err) < 0)
        return tg_cli_usage_error("report", "TANGLE_OPTIONS: %s", err);
    if (!a.o.exitcode_given && env.exitcode >= 0)
        a.o.exitcode = env.exitcode;
    if (!a.o.fail_on_given && env.fail_on)
        a.o.fail_on = env.fail_on;
    rp_env_free(&env);

    /* a bad suppression file is a usage error, before any work */
    if (tg_report_check(&a.o))
        return TG_STATUS_USAGE;

    struct tg_trace *t;
    if ((status = tg_cli_open_trace(a.trace, 0, &t)) != 0)
        return status;
    struct tg_symbols *syms = tg_symbols_new(t);
    struct tg_report *r = tg_report_new(&a.o, t, syms);
    struct tg_analysis *an = NULL;
    /* the tracer sets TG_FEAT_WATCH before its first WATCH_ACCESS event:
     * without it, the happens-before state for --watch is wasted work */
    struct tg_trace_summary sum;
    tg_trace_summary(t, &sum);
    struct tg_analysis_config cfg = { .on_finding = on_finding, .on_finding_ctx = r,
                                      .skip_watch = !(sum.features & TG_FEAT_WATCH) };
    int err_an = r ? tg_analysis_new(&cfg, &an) : -ENOMEM;
    if (!syms || !r || err_an < 0) {
        tg_cli_error("cannot start the detectors: %s", strerror(err_an < 0 ? -err_an : ENOMEM));
        status = TG_STATUS_FAILED;
        goto out;
    }
    r->fail_on = a.o.fail_on;     /* TANGLE_OPTIONS applied above */

    struct tg_ev ev;
    int got, read_status = 0;
    bool oom = false;
    while ((got = tg_trace_next(t, &ev)) > 0)
        if (tg_analysis_feed(an, &ev) < 0 && !oom) {
            oom = true;
            tg_cli_error("detectors: out of memory; findings may be incomplete");
        }
    if (got < 0)                  /* what was read before stands: report it */
        read_status = tg_cli_trace_error(a.trace, t, got);
    tg_analysis_finish(an);

    int failing = tg_report_finish(r, 0);
    summary_line(r, a.trace, a.quiet, got < 0);
    if (failing < 0)
        status = TG_STATUS_FAILED;
    else if (failing > 0)
        status = a.o.exitcode;
    else
        status = read_status;
out:
    tg_report_free(r);
    tg_analysis_free(an);
    tg_symbols_free(syms);
    tg_trace_close(t);
    return status;
}

/* Helpers every subcommand shares: messages, option parsing, opening a
 * trace, formatting numbers, naming threads and objects, a small hash map. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "symbols/symbols.h"
#include "trace/trace.h"

/* ---- messages ---- */

void tg_cli_error(const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fputs("tangle: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int tg_cli_usage_error(const char *command, const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fprintf(stderr, "tangle%s%s: ", command ? " " : "", command ? command : "");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\ntry 'tangle%s%s --help'\n", command ? " " : "", command ? command : "");
    return TG_STATUS_USAGE;
}

int tg_cli_flush_stdout(void)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        int e = errno;
        if (e == EPIPE)          /* the reader went away (| head): not ours to report */
            return TG_STATUS_OK;
        tg_cli_error("cannot write to standard output: %s", strerror(e));
        return TG_STATUS_FAILED;
    }
    return TG_STATUS_OK;
}

int tg_cli_help(const char *usage)
{
    fputs(usage, stdout);
    return tg_cli_flush_stdout();
}

int tg_cli_trace_operand(const char *command, int argc, char **argv, const char **path)
{
    if (optind != argc - 1)
        return tg_cli_usage_error(command, optind >= argc ? "no trace file given"
                                                          : "one trace file at a time");
    *path = argv[optind];
    return TG_STATUS_OK;
}

int tg_cli_getopt(const char *command, int argc, char **argv,
                  const char *shortopts, const struct option *longopts)
{
    char spec[64];
    int index = -1;

    /* '+': stop at the first operand; ':': report a missing argument as ':' */
    snprintf(spec, sizeof spec, "+:%s", shortopts);
    opterr = 0;
    int c = getopt_long(argc, argv, spec, longopts, &index);
    if (c == '?' || c == ':') {
        const char *bad = argv[optind - 1];
        if (c == ':')
            tg_cli_usage_error(command, "option '%s' needs an argument", bad);
        else if (optopt && strncmp(bad, "--", 2) != 0)
            tg_cli_usage_error(command, "unknown option '-%c'", optopt);
        else
            tg_cli_usage_error(command, "unknown option '%s'", bad);
        return '?';
    }
    return c;
}

bool tg_cli_parse_long(const char *arg, long min, long max, long *out)
{
    char *end;

    errno = 0;
    long v = strtol(arg, &end, 10);
    if (errno || end == arg || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static unsigned kind_bit(const char *name, size_t n)
{
    if (n == 3 && strncmp(name, "all", 3) == 0)
        return TG_FIND_ALL_KINDS;
    for (unsigned k = 0; k < TG_FIND_KIND_COUNT; k++) {
        const char *kn = tg_finding_kind_name(k);
        if (kn && strlen(kn) == n && strncmp(kn, name, n) == 0)
            return TG_FIND_BIT(k);
    }
    return 0;
}

unsigned tg_cli_parse_kinds(const char *list, const char **bad)
{
    unsigned mask = 0;
    const char *p = list;

    while (*p) {
        size_t n = strcspn(p, ",");
        unsigned bit = kind_bit(p, n);
        if (!bit) {
            if (bad)
                *bad = p;
            return 0;
        }
        mask |= bit;
        p += n;
        if (*p == ',')
            p++;
    }
    if (!mask && bad)
        *bad = list;
    return mask;
}

/* ---- traces ---- */

int tg_cli_open_trace(const char *path, unsigned flags, struct tg_trace **out)
{
    char why[256] = "";

    int err = tg_trace_open(path, flags, out, why, sizeof why);
    if (err < 0) {
        tg_cli_error("%s: cannot read trace: %s", path, why[0] ? why : tg_trace_strerror(err));
        return TG_STATUS_BAD_INPUT;
    }
    return TG_STATUS_OK;
}

int tg_cli_trace_error(const char *path, struct tg_trace *t, int err)
{
    const char *detail = t ? tg_trace_error(t) : NULL;

    /* the reader's details say what kind of error they are ("truncated: ...",
     * "corrupt chunk 3: ..."), as tg_cli_open_trace prints them */
    if (detail)
        tg_cli_error("%s: cannot read trace: %s", path, detail);
    else
        tg_cli_error("%s: cannot read trace: %s", path, tg_trace_strerror(err));
    return TG_STATUS_BAD_INPUT;
}

/* ---- formatting ---- */

const char *tg_cli_fmt_duration(uint64_t ns, char *buf, size_t len)
{
    static const struct { uint64_t scale; const char *unit; } units[] = {
        { 1000000000u, "s" }, { 1000000u, "ms" }, { 1000u, "us" },
    };

    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (ns < units[i].scale)
            continue;
        double v = (double)ns / (double)units[i].scale;
        snprintf(buf, len, v >= 100 ? "%.0f %s" : v >= 10 ? "%.1f %s" : "%.2f %s",
                 v, units[i].unit);
        return buf;
    }
    snprintf(buf, len, ns ? "%" PRIu64 " ns" : "0", ns);
    return buf;
}

const char *tg_cli_fmt_count(uint64_t n, char *buf, size_t len)
{
    char digits[32];
    int nd = snprintf(digits, sizeof digits, "%" PRIu64, n);
    size_t o = 0;

    for (int i = 0; i < nd && o + 2 < len; i++) {
        if (i > 0 && (nd - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

const char *tg_cli_fmt_bytes(uint64_t n, char *buf, size_t len)
{
    if (n < 1024)
        snprintf(buf, len, "%" PRIu64 " B", n);
    else if (n < 1024 * 1024)
        snprintf(buf, len, "%.1f KiB", n / 1024.0);
    else if (n < 1024ull * 1024 * 1024)
        snprintf(buf, len, "%.1f MiB", n / (1024.0 * 1024));
    else
        snprintf(buf, len, "%.2f GiB", n / (1024.0 * 1024 * 1024));
    return buf;
}

const char *tg_cli_signal_name(int sig, char *buf, size_t len)
{
    const char *abbrev = sigabbrev_np(sig);

    if (abbrev)
        snprintf(buf, len, "SIG%s", abbrev);
    else
        snprintf(buf, len, "signal %d", sig);
    return buf;
}

int tg_cli_report_option(const char *command, int c, const char *arg,
                         struct tg_run_options *o)
{
    const char *bad;
    long v;

    switch (c) {
    case TG_OPT_JSON: o->json_path = arg; return 0;
    case TG_OPT_SARIF: o->sarif_path = arg; return 0;
    case TG_OPT_SUPPRESSIONS:
        if (o->nsuppressions == TG_RUN_MAX_SUPPRESSIONS)
            return tg_cli_usage_error(command, "at most %d --suppressions files",
                                      TG_RUN_MAX_SUPPRESSIONS);
        o->suppressions[o->nsuppressions++] = arg;
        return 0;
    case TG_OPT_FAIL_ON:
        if (!(o->fail_on = tg_cli_parse_kinds(arg, &bad)))
            return tg_cli_usage_error(command, "--fail-on: unknown finding kind '%s'"
                                      " (deadlock, lock-order, race, misuse, all)", bad);
        o->fail_on_given = true;
        return 0;
    case TG_OPT_EXITCODE:
        if (!tg_cli_parse_long(arg, 0, 255, &v))
            return tg_cli_usage_error(command, "--exitcode needs a status 0-255, not '%s'", arg);
        o->exitcode = (int)v;
        o->exitcode_given = true;
        return 0;
    default:
        return 1;
    }
}

/* cli/: the report of findings, shared by report.c (`tangle report`),
 * report_core.c (the tg_report seam of cli.h), report_names.c (naming),
 * report_fix.c (advice),
 * report_text.c, report_json.c, report_sarif.c and suppress.c. Private to
 * cli/ (and tests/reports). docs/report-formats.md describes the output. */
#ifndef TG_CLI_REPORT_INT_H
#define TG_CLI_REPORT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli/cli.h"
#include "detectors/detectors.h"
#include "symbols/symbols.h"
#include "trace/trace.h"

/* ---- suppressions (suppress.c) ----
 * A file of lines `KIND:PATTERN` (KIND one of deadlock, lock-order, misuse,
 * race), `#` comments and blank lines. PATTERN is an fnmatch(3) glob
 * matched against the words of a finding (rp_finding_words). */
struct tg_supp_rule {
    unsigned kind;                /* enum tg_finding_kind */
    char *pattern;
    char *file;                   /* where it was read, for messages */
    int line;
    unsigned hits;                /* findings it suppressed */
};

struct tg_suppressions {
    struct tg_supp_rule *rules;
    size_t n, cap;
};

/* Adds the rules of PATH. On an unreadable file or a malformed line returns
 * -1 with ERR set to "PATH:LINE: why" (or "PATH: why"); rules read before
 * the error are kept. */
int tg_supp_load(struct tg_suppressions *s, const char *path, char *err, size_t errlen);
/* The same for one line of text (LINE is its number in FILE). 0 or -1. */
int tg_supp_add_line(struct tg_suppressions *s, const char *text, const char *file,
                     int line, char *err, size_t errlen);
/* The first rule of KIND whose pattern matches one of WORDS; NULL if none.
 * Counts the hit. */
struct tg_supp_rule *tg_supp_match(struct tg_suppressions *s, unsigned kind,
                                   const char *const *words, size_t nwords);
void tg_supp_free(struct tg_suppressions *s);

/* ---- TANGLE_OPTIONS (report.c) ----
 * Space- or colon-separated `name=value` defaults, as TSAN_OPTIONS:
 * suppressions=FILE (repeatable), exitcode=N, fail_on=KINDS, color=WHEN. */
enum rp_color { RP_COLOR_AUTO = 0, RP_COLOR_ALWAYS, RP_COLOR_NEVER };

struct rp_env {
    const char *suppressions[TG_RUN_MAX_SUPPRESSIONS];
    int nsuppressions;
    int exitcode;                 /* -1: not given */
    unsigned fail_on;             /* 0: not given */
    enum rp_color color;
    char *buf;                    /* the variable's copy the strings point into */
};
/* Parses TEXT (NULL: nothing). Returns 0, or -1 with ERR set to why. */
int rp_env_parse(const char *text, struct rp_env *e, char *err, size_t errlen);
void rp_env_free(struct rp_env *e);

/* ---- the report ---- */


struct tg_report {
    struct tg_trace *trace;
    struct tg_symbols *syms;
    struct tg_names *names;       /* thread names for the text, as the run goes */
    FILE *out;                    /* the text: stderr */
    bool color;
    bool quiet_text;              /* no text (tests of the files alone) */
    unsigned fail_on;             /* TG_FIND_BIT()s */
    const char *json_path, *sarif_path;
    struct tg_suppressions supp;

    /* findings reported (not suppressed), in the order they came */
    const struct tg_finding **kept;
    size_t nkept, capkept;
    bool *deferred;               /* kept[i] not printed yet (lock-order: at the end) */
    struct tg_u64map seen;        /* key → 1: each finding once */
    unsigned suppressed[TG_FIND_KIND_COUNT];
    bool finished;
};

/* Sets up a report without options from a command line (tests, report.c
 * fills the fields after). NULL if out of memory. */
struct tg_report *rp_new(struct tg_trace *t, struct tg_symbols *s);

/* The findings to write in the files, in their stable order (time, kind,
 * sub-kind, key) with lock-order cycles that really deadlocked left out (the
 * deadlock finding tells them). *OUT is malloc'd. Returns the count, or -1
 * when out of memory. */
long rp_final_findings(struct tg_report *r, const struct tg_finding ***out);
/* Whether F is a lock-order cycle a deadlock finding among FS tells. */
bool rp_told_by_deadlock(const struct tg_finding *f, const struct tg_finding *const *fs, size_t n);

/* ---- names (report_names.c) ---- */

#define RP_MAX_FRAMES 64

/* STACK's frames with inlined calls expanded, innermost first. Returns the
 * count written (at most MAX); 0 for stack 0 or an unknown stack. */
size_t rp_frames(struct tg_report *r, uint32_t process, uint32_t stack,
                 struct tg_frame *out, size_t max);
/* The frame a person reads as "where": the first one with a source line,
 * else the first one. False if the stack has none. */
bool rp_site_frame(struct tg_report *r, uint32_t process, uint32_t stack, struct tg_frame *out);
/* "func file:line" of rp_site_frame, or "an unknown place". Returns BUF. */
const char *rp_site(struct tg_report *r, uint32_t process, uint32_t stack, char *buf, size_t len);
/* Where step S happened: rp_site of its stack, or its pc (a watched
 * access) when it has no stack. Returns BUF. */
const char *rp_step_site(struct tg_report *r, const struct tg_finding *f,
                         const struct tg_step *s, char *buf, size_t len);
/* An object as reports name it: "mutexA", "fork_[3]", "mutex initialised at
 * func file:line", "thread Thread-2" for a join target. Returns BUF. */
const char *rp_obj_name(struct tg_report *r, const struct tg_finding *f, uint32_t obj,
                        char *buf, size_t len);
/* Only the global variable's name, or false (heap and stack objects). */
bool rp_obj_global(struct tg_report *r, const struct tg_obj_ref *o, char *buf, size_t len);
/* A thread's name now: setname's, else its start routine, else "main". */
const char *rp_thread_name(struct tg_report *r, uint32_t thread);
/* The variable a race is on: "counter", "heap block of 16 bytes", ... */
const char *rp_mem_name(struct tg_report *r, const struct tg_finding *f, char *buf, size_t len);
/* The pthread function an event kind stands for ("pthread_mutex_lock"). */
const char *rp_call_name(unsigned event_kind);
/* "mutex", "rwlock"...; "lock" when it does not matter. */
const char *rp_obj_kind(const struct tg_obj_ref *o);
/* The banner after "tangle: " ("lock-order inversion (potential
 * deadlock)", "deadlock", "misuse: unlock of a mutex no thread holds",
 * "data race on counter (...)"). Returns BUF. */
const char *rp_banner(struct tg_report *r, const struct tg_finding *f, char *buf, size_t len);
/* One line saying what happened (JSON summary, SARIF message). Returns BUF. */
const char *rp_summary(struct tg_report *r, const struct tg_finding *f, char *buf, size_t len);
/* "mutexA → mutexB → mutexA" for cycles; BUF empty otherwise. */
const char *rp_cycle(struct tg_report *r, const struct tg_finding *f, char *buf, size_t len);
/* What the fix usually is, one sentence; "" if nothing general applies. */
const char *rp_fix(struct tg_report *r, const struct tg_finding *f, char *buf, size_t len);

/* The words suppression patterns are matched against: every frame's
 * function, file (as shown, and its basename) and module basename, and
 * every object's name. *WORDS and the strings are malloc'd (free with
 * rp_words_free). Returns the count, or -1 when out of memory. */
long rp_finding_words(struct tg_report *r, const struct tg_finding *f, char ***words);
void rp_words_free(char **words, long n);

/* ---- renderers ---- */

/* report_text.c: the finding as people read it, on OUT. */
void rp_text_finding(struct tg_report *r, const struct tg_finding *f, FILE *out);

/* report_json.c */
/* The JSON report of FS (docs/report-formats.md); 0 or -errno. */
int rp_json_write(struct tg_report *r, const struct tg_finding *const *fs, size_t n, FILE *out);
/* report_sarif.c: SARIF 2.1.0 of FS; 0 or -errno. */
int rp_sarif_write(struct tg_report *r, const struct tg_finding *const *fs, size_t n, FILE *out);
/* A source file as a path relative to the repository root (ROOT: where
 * .git is above the current directory, or $GITHUB_WORKSPACE), when it can
 * be found there. Returns BUF, or NULL when it cannot be placed. */
const char *rp_repo_path(const char *file, char *buf, size_t len);

/* A small JSON writer: pretty-printed, two spaces, keys in the order
 * written, strings escaped (UTF-8 passed through, control bytes as \u). */
struct rp_json {
    FILE *f;
    int depth;
    bool first[32];               /* no member written yet at this depth */
    bool after_key;
};
void rj_begin_obj(struct rp_json *j);
void rj_end_obj(struct rp_json *j);
void rj_begin_arr(struct rp_json *j);
void rj_end_arr(struct rp_json *j);
void rj_key(struct rp_json *j, const char *key);
void rj_str(struct rp_json *j, const char *s);   /* NULL writes null */
void rj_int(struct rp_json *j, long long v);
void rj_null(struct rp_json *j);
void rj_bool(struct rp_json *j, bool v);
/* key + value in one call */
void rj_kstr(struct rp_json *j, const char *key, const char *s);
void rj_kint(struct rp_json *j, const char *key, long long v);

#endif

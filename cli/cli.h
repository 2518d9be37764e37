/* cli/: the `tangle` executable. One file per subcommand (commands.def), the
 * launcher (launch.c), and the helpers every subcommand shares (cli_util.c):
 * error lines, option parsing, trace opening, number and name formatting.
 *
 * Conventions: a subcommand returns its exit status (enum tg_status); it
 * prints errors as one line `tangle: what went wrong: why` on stderr and
 * usage errors as `tangle CMD: problem` + `try 'tangle CMD --help'`.
 */
#ifndef TG_CLI_H
#define TG_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "detectors/detectors.h"
#include "util/u64map.h"

struct tg_trace;
struct tg_symbols;

/* Exit statuses (docs/tangle.1.md, "EXIT STATUS"). */
enum tg_status {
    TG_STATUS_OK          = 0,
    TG_STATUS_BAD_INPUT   = 1,    /* unreadable, corrupt, foreign trace... */
    TG_STATUS_USAGE       = 2,    /* bad command line */
    TG_STATUS_FINDINGS    = 66,   /* run/report: findings (TSan's value) */
    TG_STATUS_FAILED      = 125,  /* tangle itself failed (env/timeout convention) */
    TG_STATUS_CANNOT_EXEC = 126,  /* PROGRAM found but not executable */
    TG_STATUS_NOT_FOUND   = 127,  /* PROGRAM not found */
    TG_STATUS_SIGNAL_BASE = 128,  /* PROGRAM killed by signal N: 128 + N */
};

/* The subcommands: int tg_cmd_NAME(int argc, char **argv), argv[0] = NAME. */
#define X(name, summary) int tg_cmd_##name(int argc, char **argv);
#include "cli/commands.def"
#undef X

/* ---- options of `tangle run` ----
 * Parsed by run.c; each field names the module that acts on it. A new run
 * option is a field here, a line in run.c's option table, and the code that
 * reads the field. */
enum tg_on_deadlock {
    TG_ON_DEADLOCK_KILL = 0,      /* end the program (SIGKILL) and report */
    TG_ON_DEADLOCK_ABORT,         /* SIGABRT: the program dumps core */
    TG_ON_DEADLOCK_WAIT,          /* report, leave it hanging for a debugger */
};

/* A set of finding kinds: bit (1 << enum tg_finding_kind). */
#define TG_FIND_BIT(kind) (1u << (kind))
#define TG_FIND_ALL_KINDS ((1u << TG_FIND_KIND_COUNT) - 1u)

#define TG_RUN_MAX_SUPPRESSIONS 16

struct tg_run_options {
    const char *trace_path;       /* -o; NULL: tangle-PROG-PID.trace in the cwd */
    int exitcode;                 /* --exitcode: status when findings fail the run */
    bool live;                    /* --live: the timeline while it runs (tui/) */
    bool quiet;                   /* -q: no summary paragraph, findings only */
    const char *json_path;        /* --json FILE (report_json.c) */
    const char *sarif_path;       /* --sarif FILE (report_sarif.c) */
    unsigned fail_on;             /* --fail-on: TG_FIND_BIT()s */
    const char *suppressions[TG_RUN_MAX_SUPPRESSIONS];  /* --suppressions (suppress.c) */
    int nsuppressions;
    bool exitcode_given;          /* --exitcode was on the command line (it beats */
    bool fail_on_given;           /* TANGLE_OPTIONS; so does --fail-on) */
    enum tg_on_deadlock on_deadlock;  /* --on-deadlock (run.c, on a deadlock finding) */
    const char *watch;            /* --watch VAR[,VAR...]: TANGLE_WATCH for the tracer */
    char **argv;                  /* PROGRAM and its arguments, NULL-terminated */
};

/* The report options `run` and `report` share: their getopt values and
 * long options (put TG_REPORT_LONGOPTS in a subcommand's option table). */
enum tg_report_opt {
    TG_OPT_JSON = 0x100, TG_OPT_SARIF, TG_OPT_SUPPRESSIONS, TG_OPT_FAIL_ON, TG_OPT_EXITCODE,
    TG_OPT_COMMAND_FIRST,          /* a subcommand's own long options start here */
};
#define TG_REPORT_LONGOPTS \
    { "json", required_argument, NULL, TG_OPT_JSON }, \
    { "sarif", required_argument, NULL, TG_OPT_SARIF }, \
    { "suppressions", required_argument, NULL, TG_OPT_SUPPRESSIONS }, \
    { "fail-on", required_argument, NULL, TG_OPT_FAIL_ON }, \
    { "exitcode", required_argument, NULL, TG_OPT_EXITCODE }
/* Applies report option C (from tg_cli_getopt) with ARG to O. Returns 0,
 * 1 if C is not a report option, or TG_STATUS_USAGE after the error line. */
int tg_cli_report_option(const char *command, int c, const char *arg,
                         struct tg_run_options *o);

/* The finding kinds this build's detectors report (TG_FIND_BIT()s);
 * `tangle --version` lists them for scripts and tests. */
unsigned tg_run_detectors(void);

/* Parses a comma-separated list of finding kinds ("deadlock,race", "all",
 * names as tg_finding_kind_name gives them). Returns the set, or 0 if a
 * name is unknown (*bad points at it). */
unsigned tg_cli_parse_kinds(const char *list, const char **bad);

/* ---- what `tangle run` uses from other files of cli/ ---- */

/* Reports (report*.c, suppress.c; issue 3). A report prints each finding on
 * stderr as it is found and keeps it for --json / --sarif. */
struct tg_report;
/* Checks TANGLE_OPTIONS and the suppression files of O before PROGRAM
 * starts: prints the first error and returns TG_STATUS_FAILED, else 0.
 * (tg_report_new checks them again.) */
int tg_report_check(const struct tg_run_options *o);
struct tg_report *tg_report_new(const struct tg_run_options *o, struct tg_trace *t,
                                struct tg_symbols *s);
/* A new finding (tg_analysis's on_finding): prints it now unless a
 * suppression matches; returns true if it was reported (not suppressed). */
bool tg_report_finding(struct tg_report *r, const struct tg_finding *f);
/* The run is over (WAIT_STATUS: PROGRAM's, as waitpid gives it): writes the
 * --json / --sarif files. Returns how many reported findings fail the run
 * (o->fail_on), or -1 after printing why a file could not be written. */
int tg_report_finish(struct tg_report *r, int wait_status);
void tg_report_free(struct tg_report *r);

/* The live timeline (view.c; issue 5), for --live. It draws what run.c
 * feeds it: run.c reads the trace and PROGRAM's output (a pipe, in live
 * mode) and calls tg_live_tick at least 10 times a second. */
struct tg_live;
/* Takes over the terminal; NULL (after printing why) if it cannot. */
struct tg_live *tg_live_new(struct tg_trace *t, struct tg_symbols *s);
void tg_live_event(struct tg_live *l, const struct tg_ev *ev);
void tg_live_finding(struct tg_live *l, const struct tg_finding *f);
/* Bytes PROGRAM wrote to its stdout or stderr, at trace time NOW_NS. */
void tg_live_output(struct tg_live *l, const char *data, size_t len, uint64_t now_ns);
/* Redraws and reads keys; false once the user quit the view (the run goes
 * on, PROGRAM's output then goes to tangle's stderr). */
bool tg_live_tick(struct tg_live *l, uint64_t now_ns);
/* PROGRAM ended: shows the final state until the user quits, then gives
 * the terminal back. */
void tg_live_end(struct tg_live *l, int wait_status);
void tg_live_free(struct tg_live *l);

/* ---- launching PROGRAM (launch.c) ---- */

/* Where libtangle.so is: $TANGLE_LIB, next to the executable, ../tracer/
 * from it (the build tree), then TANGLE_LIBDIR. Returns a malloc'd absolute
 * path or NULL (errno set) if none exists. */
char *tg_launch_find_tracer(void);

struct tg_launch {
    char **argv;                  /* PROGRAM [ARGS] */
    const char *tracer;           /* absolute path of libtangle.so */
    const char *trace_path;       /* absolute path given to the tracer */
    const char *watch;            /* or NULL */
    int stdout_fd, stderr_fd;     /* >= 0: PROGRAM's stdout / stderr go there */
};

/* Starts PROGRAM with the tracer preloaded in its environment only (appended
 * to any LD_PRELOAD), in tangle's process group, with default signal
 * dispositions and an empty signal mask. Returns the pid, or a negative
 * status: -TG_STATUS_NOT_FOUND, -TG_STATUS_CANNOT_EXEC or -TG_STATUS_FAILED,
 * with errno set to why. */
pid_t tg_launch_spawn(const struct tg_launch *l);

/* ---- messages ---- */

/* `tangle: ` + the formatted message + newline, on stderr. */
void tg_cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A usage error of COMMAND (NULL: tangle itself): one line, then the hint.
 * Returns TG_STATUS_USAGE. */
int tg_cli_usage_error(const char *command, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Flushes stdout; on a write error (full disk, closed pipe) prints it and
 * returns TG_STATUS_FAILED, else TG_STATUS_OK. */
int tg_cli_flush_stdout(void);
/* --help: USAGE on stdout; returns what tg_cli_flush_stdout does. */
int tg_cli_help(const char *usage);
/* The one operand of a command that reads a trace (after its options):
 * sets *PATH, or returns TG_STATUS_USAGE after the error line. */
int tg_cli_trace_operand(const char *command, int argc, char **argv, const char **path);

/* getopt_long for subcommands: no permutation (options stop at the first
 * operand, so `run` never eats PROGRAM's options), tangle's own error lines.
 * Returns the option, -1 at the end, or '?' after printing a usage error. */
int tg_cli_getopt(const char *command, int argc, char **argv,
                  const char *shortopts, const struct option *longopts);

/* Parses an integer in [min, max]; false if ARG is not one. */
bool tg_cli_parse_long(const char *arg, long min, long max, long *out);

/* ---- traces ---- */

/* Opens a trace for a subcommand; on failure prints
 * `tangle: PATH: cannot read trace: why` and returns TG_STATUS_BAD_INPUT. */
int tg_cli_open_trace(const char *path, unsigned flags, struct tg_trace **out);
/* Reports an error tg_trace_next returned the same way, with the reader's
 * detail; returns TG_STATUS_BAD_INPUT. */
int tg_cli_trace_error(const char *path, struct tg_trace *t, int err);

/* ---- formatting; each returns BUF ---- */

/* "1.234 s", "12.3 ms", "456 us", "78 ns": three significant figures. */
const char *tg_cli_fmt_duration(uint64_t ns, char *buf, size_t len);
/* "1,234,567" */
const char *tg_cli_fmt_count(uint64_t n, char *buf, size_t len);
/* "512 B", "1.5 KiB", "12.0 MiB" */
const char *tg_cli_fmt_bytes(uint64_t n, char *buf, size_t len);
/* "SIGSEGV" (or "signal 42") */
const char *tg_cli_signal_name(int sig, char *buf, size_t len);

/* ---- names for threads and objects, cached per trace ----
 * A person reads threads by name: pthread_setname_np's, else the start
 * routine's symbol, else "main" for a process's first thread. Objects by the
 * global variable that holds them (`mutexA`), else their address. */
struct tg_names;
struct tg_names *tg_names_new(struct tg_trace *t, struct tg_symbols *s);
void tg_names_free(struct tg_names *n);
/* The thread's current name; call tg_names_forget_thread after a THREAD_NAME
 * event so the new one is used. */
const char *tg_names_thread(struct tg_names *n, uint32_t thread);
void tg_names_forget_thread(struct tg_names *n, uint32_t thread);
/* "mutexA" or "0x55d0c0a04040". */
const char *tg_names_object(struct tg_names *n, uint32_t process, uint64_t addr);
/* The innermost frame of a stack: "func file:line" ("" for stack 0). */
const char *tg_names_caller(struct tg_names *n, uint32_t process, uint32_t stack);


#endif

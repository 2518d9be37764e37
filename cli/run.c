/* tangle run [OPTIONS] -- PROGRAM [ARGS]: runs PROGRAM with the tracer
 * preloaded, follows its trace live while it runs, and ends with a summary
 * and PROGRAM's exit status (or the findings status).
 *
 * Signals. PROGRAM stays in tangle's process group, so a terminal's Ctrl-C,
 * Ctrl-\ and hangup reach it directly from the kernel, as they reach every
 * command of a pipeline. tangle catches SIGINT, SIGTERM, SIGHUP, SIGQUIT,
 * SIGUSR1 and SIGUSR2 while PROGRAM runs: one the kernel sent to the whole
 * group (si_code SI_KERNEL: the terminal) is not forwarded, so PROGRAM never
 * gets it twice;
 * one a process sent to tangle (kill, timeout, a CI runner) is forwarded to
 * PROGRAM. Either way tangle stays to read the rest of the trace and report.
 * Once PROGRAM has ended, these signals end tangle as usual.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#include "cli/cli.h"
#include "cli/run.h"
#include "tangle_config.h"
#include "trace/trace.h"

static const char usage[] =
    "usage: tangle run [OPTIONS] [--] PROGRAM [ARGS]\n"
    "\n"
    "Runs PROGRAM with the tangle tracer preloaded (into PROGRAM only), follows\n"
    "its trace while it runs, prints a summary and the findings to stderr, and\n"
    "exits with PROGRAM's status: 66 if there are findings, 125 if tangle\n"
    "failed, 126 if PROGRAM cannot be executed, 127 if it is not found, 128+N\n"
    "if it was killed by signal N.\n"
    "\n"
    "options:\n"
    "  -o, --output=TRACE     write the trace to TRACE (default:\n"
    "                         tangle-PROGRAM-PID.trace in the current directory,\n"
    "                         or in $TMPDIR if that is not writable)\n"
    "      --exitcode=N       exit status when findings fail the run (default 66)\n"
    "      --fail-on=KINDS    finding kinds that fail the run: deadlock,\n"
    "                         lock-order, race, misuse or all (default all)\n"
    "      --json=FILE        also write the findings as JSON\n"
    "      --sarif=FILE       also write the findings as SARIF 2.1.0\n"
    "      --suppressions=FILE  findings to ignore (repeatable)\n"
    "      --on-deadlock=WHAT when a deadlock is found: kill (default) ends the\n"
    "                         program, abort makes it dump core, wait leaves\n"
    "                         it hanging for a debugger\n"
    "      --watch=VAR[,VAR]  watch these global variables (or ADDR:LEN) for\n"
    "                         data races without recompiling\n"
    "      --live             show the timeline while PROGRAM runs\n"
    "  -q, --quiet            no summary paragraph (findings are still printed)\n"
    "  -h, --help             this help\n";

/* The pid signals are forwarded to: > 0 while PROGRAM runs, 0 otherwise. */
static volatile sig_atomic_t forward_pid;
static const int forwarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 };

static void on_signal(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    int saved = errno;
    pid_t pid = forward_pid;

    if (pid <= 0) {
        /* PROGRAM is gone: the signal is for tangle itself */
        signal(sig, SIG_DFL);
        raise(sig);
    } else if (si->si_code != SI_KERNEL) {
        kill(pid, sig);
    }
    errno = saved;
}

static void install_handlers(void)
{
    struct sigaction sa = { .sa_sigaction = on_signal, .sa_flags = SA_SIGINFO | SA_RESTART };
    struct sigaction old;

    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++) {
        /* a signal ignored by whoever started tangle (nohup) stays ignored,
         * and PROGRAM inherits that through exec */
        if (sigaction(forwarded[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
            continue;
        sigaction(forwarded[i], &sa, NULL);
    }
}

static void block_forwarded(int how)
{
    sigset_t set;

    sigemptyset(&set);
    for (size_t i = 0; i < sizeof forwarded / sizeof forwarded[0]; i++)
        sigaddset(&set, forwarded[i]);
    sigprocmask(how, &set, NULL);
}

uint64_t tg_run_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- the trace file ---- */

/* Creates or empties PATH and checks that the tracer can use it: a regular
 * file that can be sized and mapped shared (not /dev/null, a fifo, a file
 * of /proc), so that a path that can be opened but not traced into fails
 * here, not after PROGRAM ran untraced. On failure says why in WHY. */
static int create_file(const char *path, char *why, size_t len)
{
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        snprintf(why, len, "%s", strerror(errno));
        return -1;
    }
    struct stat st;
    long page = sysconf(_SC_PAGESIZE);
    void *map = MAP_FAILED;
    const char *failed = NULL;
    if (fstat(fd, &st) != 0)
        failed = "cannot stat it";
    else if (!S_ISREG(st.st_mode))
        failed = "not a regular file";
    else if (ftruncate(fd, page) != 0)
        failed = "cannot size it";
    else if ((map = mmap(NULL, (size_t)page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0))
             == MAP_FAILED)
        failed = "cannot map it";
    int err = errno;
    if (map != MAP_FAILED)
        munmap(map, (size_t)page);
    if (failed == NULL && ftruncate(fd, 0) != 0) {
        failed = "cannot empty it";
        err = errno;
    }
    close(fd);
    if (failed == NULL)
        return 0;
    if (strcmp(failed, "not a regular file") == 0)
        snprintf(why, len, "%s", failed);
    else
        snprintf(why, len, "%s: %s", failed, strerror(err));
    return -1;
}

/* DIR/NAME (or NAME alone if DIR is NULL) into PATH; false if too long. */
static bool join_path(char *path, size_t len, const char *dir, const char *name)
{
    int n = dir ? snprintf(path, len, "%s/%s", dir, name) : snprintf(path, len, "%s", name);
    return n >= 0 && (size_t)n < len;
}

/* Creates the (empty) trace file before PROGRAM starts, so an unwritable
 * path fails early; the tracer initialises it. Fills PATH with its absolute
 * name: exec'd images and programs that chdir open it again. */
static int create_trace(const struct tg_run_options *o, char *path, size_t len)
{
    char name[NAME_MAX + 1], cwd[PATH_MAX], why[256];
    bool have_cwd = getcwd(cwd, sizeof cwd) != NULL;

    if (o->trace_path) {
        if (!join_path(path, len, o->trace_path[0] == '/' || !have_cwd ? NULL : cwd, o->trace_path))
            snprintf(why, sizeof why, "%s", strerror(ENAMETOOLONG));
        else if (create_file(path, why, sizeof why) == 0)
            return 0;
        tg_cli_error("cannot create trace %s: %s", o->trace_path, why);
        return -1;
    }

    /* default: tangle-PROG-PID.trace where the user is, like perf.data or a
     * core file; in $TMPDIR when the current directory is read-only */
    const char *base = strrchr(o->argv[0], '/');
    base = base ? base + 1 : o->argv[0];
    snprintf(name, sizeof name, "tangle-%.200s-%d.trace", base, (int)getpid());
    if (have_cwd && join_path(path, len, cwd, name) && create_file(path, why, sizeof why) == 0)
        return 0;
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    if (!join_path(path, len, tmp, name))
        snprintf(why, sizeof why, "%s", strerror(ENAMETOOLONG));
    else if (create_file(path, why, sizeof why) == 0)
        return 0;
    tg_cli_error("cannot create trace %s/%s: %s (choose a place with -o)", tmp, name, why);
    return -1;
}

/* ---- options ---- */

static int parse_options(int argc, char **argv, struct tg_run_options *o)
{
    enum { OPT_ON_DEADLOCK = TG_OPT_COMMAND_FIRST, OPT_WATCH, OPT_LIVE };
    static const struct option longopts[] = {
        { "output", required_argument, NULL, 'o' },
        TG_REPORT_LONGOPTS,
        { "on-deadlock", required_argument, NULL, OPT_ON_DEADLOCK },
        { "watch", required_argument, NULL, OPT_WATCH },
        { "live", no_argument, NULL, OPT_LIVE },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;

    *o = (struct tg_run_options){ .exitcode = TG_STATUS_FINDINGS, .fail_on = TG_FIND_ALL_KINDS };
    while ((c = tg_cli_getopt("run", argc, argv, "o:qh", longopts)) != -1) {
        switch (c) {
        case 'o': o->trace_path = optarg; break;
        case 'q': o->quiet = true; break;
        case OPT_WATCH: o->watch = optarg; break;
        case OPT_LIVE: o->live = true; break;
        case OPT_ON_DEADLOCK:
            if (strcmp(optarg, "kill") == 0)
                o->on_deadlock = TG_ON_DEADLOCK_KILL;
            else if (strcmp(optarg, "abort") == 0)
                o->on_deadlock = TG_ON_DEADLOCK_ABORT;
            else if (strcmp(optarg, "wait") == 0)
                o->on_deadlock = TG_ON_DEADLOCK_WAIT;
            else
                return tg_cli_usage_error("run", "--on-deadlock is kill, abort or wait, not '%s'", optarg);
            break;
        case 'h':
            fputs(usage, stdout);
            return -1;
        default: {
            int r = tg_cli_report_option("run", c, optarg, o);
            if (r != 0)
                return r == 1 ? TG_STATUS_USAGE : r;
        }
        }
    }
    if (optind >= argc)
        return tg_cli_usage_error("run", "no program given");
    o->argv = argv + optind;
    return 0;
}

/* ---- the child ---- */

static int open_pidfd(pid_t pid)
{
#ifdef SYS_pidfd_open
    return (int)syscall(SYS_pidfd_open, pid, 0);
#else
    (void)pid;
    return -1;
#endif
}

/* Reaps PROGRAM if it has ended; true once it has. Signals are no longer
 * forwarded from the moment it is known to have ended (its pid may be
 * reused once reaped). */
static bool child_ended(struct tg_run *r)
{
    siginfo_t si = { 0 };

    if (r->reaped)
        return true;
    if (waitid(P_PID, (id_t)r->child, &si, WEXITED | WNOHANG | WNOWAIT) != 0 || si.si_pid == 0)
        return false;
    forward_pid = 0;
    while (waitpid(r->child, &r->wait_status, 0) < 0 && errno == EINTR)
        ;
    r->reaped = true;
    r->end_ns = tg_run_now_ns();
    /* where PROGRAM's end is in the trace: events past it (and the grace)
     * come from processes it left behind */
    r->end_trace_ns = r->trace ? tg_trace_now(r->trace) : UINT64_MAX;
    return true;
}

/* Sleeps until PROGRAM ends or MS milliseconds pass: the follow loop's idle
 * wait, so tangle never spins while PROGRAM is quiet. */
static void idle_wait(struct tg_run *r, int ms)
{
    /* the live view's keys wake it too: a key is answered at once */
    struct pollfd p[2] = { { .fd = r->pidfd, .events = POLLIN },
                           { .fd = STDIN_FILENO, .events = POLLIN } };
    bool live = tg_run_session_live(r);

    if (r->pidfd >= 0 && !r->reaped)
        poll(p, live ? 2 : 1, ms);
    else if (live)
        poll(p + 1, 1, ms);
    else
        nanosleep(&(struct timespec){ .tv_nsec = (long)ms * 1000000L }, NULL);
}

void tg_run_kill_program(struct tg_run *r, int sig)
{
    if (!r->reaped && r->child > 0)
        kill(r->child, sig);
}

/* ---- PROGRAM's output in live mode ---- */

/* Moves what PROGRAM wrote to its stdout and stderr pipes to the live view,
 * or, when the view is not showing (not started yet, or quit), to tangle's
 * own stdout and stderr, so they stay apart. Never blocks. */
static void pump_output(struct tg_run *r)
{
    char buf[16384];
    ssize_t n;

    for (int i = 0; i < 2; i++) {
        if (r->output_fd[i] < 0)
            continue;
        while ((n = read(r->output_fd[i], buf, sizeof buf)) > 0) {
            if (tg_run_session_live(r))
                tg_run_session_output(r, buf, (size_t)n);
            else if (write(i == 0 ? STDOUT_FILENO : STDERR_FILENO, buf, (size_t)n) < 0)
                break;
        }
        if (n == 0) {             /* every writer closed it */
            close(r->output_fd[i]);
            r->output_fd[i] = -1;
        }
    }
}

static void close_output(struct tg_run *r)
{
    for (int i = 0; i < 2; i++)
        if (r->output_fd[i] >= 0)
            close(r->output_fd[i]);
}

/* ---- the follow loop ---- */

#define TICK_NS       (100 * 1000 * 1000ull)   /* detectors and views: 10 per second */
#define IDLE_MS       5                         /* wait when no event is ready */
#define BATCH         4096                      /* events between checks of the clock */

static int try_open(struct tg_run *r)
{
    char why[256] = "";
    int err = tg_trace_open(r->trace_path, TG_OPEN_FOLLOW, &r->trace, why, sizeof why);

    if (err == 0) {
        if (tg_run_session_begin(r) == 0)
            return 0;
        tg_run_session_end(r);        /* the run goes on, unanalysed */
        return -1;
    }
    /* until the tracer in PROGRAM initialises it, the file is empty (or its
     * header half-written); only a failure to read it at all is final */
    if (err == TG_TRACE_EIO) {
        tg_cli_error("%s: cannot read trace: %s", r->trace_path, why[0] ? why : tg_trace_strerror(err));
        return -1;
    }
    r->open_error = err;
    snprintf(r->open_why, sizeof r->open_why, "%s", why[0] ? why : tg_trace_strerror(err));
    return 0;
}

/* Reads what is ready (a batch at most). Returns the number of events, or -1
 * if the trace is corrupt (reported; the loop then only waits for PROGRAM). */
static long read_batch(struct tg_run *r)
{
    struct tg_ev ev;
    long n = 0;
    int got;

    while (n < BATCH && (got = tg_trace_next(r->trace, &ev)) > 0) {
        tg_run_session_event(r, &ev);
        r->last_ts = ev.ts;
        n++;
    }
    if (got < 0) {
        tg_cli_trace_error(r->trace_path, r->trace, got);
        r->trace_failed = true;
        return -1;
    }
    return n;
}

static void follow(struct tg_run *r)
{
    uint64_t next_tick = tg_run_now_ns() + TICK_NS;

    for (;;) {
        long n = 0;
        bool ended = child_ended(r);

        if (!r->trace && !r->trace_failed && try_open(r) < 0)
            r->trace_failed = true;
        if (r->trace && !r->trace_failed && (n = read_batch(r)) < 0)
            n = 0;

        pump_output(r);
        uint64_t now = tg_run_now_ns();
        if (now >= next_tick && r->trace && !r->trace_failed) {
            tg_run_session_tick(r);
            next_tick = now + TICK_NS;
        }
        if (r->trace && !r->trace_failed)
            tg_run_session_poll(r);
        if (ended) {
            /* PROGRAM is gone: stop when everything published has been read
             * (a backlog is read to the end, however long it is). Processes
             * it left behind may go on writing: their events are read up to
             * shortly after PROGRAM's end, the trace keeps the rest. */
            if (!r->trace || r->trace_failed || (n == 0 && tg_trace_done(r->trace)))
                break;
            if (n == 0 && now - r->end_ns > TG_RUN_DRAIN_NS)
                break;
            if (r->end_trace_ns != UINT64_MAX && r->last_ts > r->end_trace_ns + TG_RUN_DRAIN_NS)
                break;
        }
        if (n == 0)
            idle_wait(r, IDLE_MS);
    }
}

/* ---- the command ---- */

int tg_cmd_run(int argc, char **argv)
{
    struct tg_run r = { .child = -1, .pidfd = -1, .output_fd = { -1, -1 } };
    int out[2] = { -1, -1 }, err[2] = { -1, -1 };
    int status = parse_options(argc, argv, &r.o);

    if (status)
        return status < 0 ? tg_cli_flush_stdout() : status;
    if ((status = tg_run_check_options(&r.o)))
        return status;

    char *tracer = tg_launch_find_tracer();
    if (!tracer) {
        const char *env = getenv("TANGLE_LIB");
        if (env && *env)
            tg_cli_error("cannot use TANGLE_LIB=%s: %s", env, strerror(errno));
        else
            tg_cli_error("cannot find libtangle.so: not next to tangle nor in %s (set TANGLE_LIB)",
                         TANGLE_LIBDIR);
        return TG_STATUS_FAILED;
    }
    if (create_trace(&r.o, r.trace_path, sizeof r.trace_path) < 0) {
        free(tracer);
        return TG_STATUS_FAILED;
    }

    /* live mode: PROGRAM's output is shown in the view, not over it */
    if (r.o.live && (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0)) {
        tg_cli_error("cannot create a pipe for --live: %s", strerror(errno));
        free(tracer);
        return TG_STATUS_FAILED;
    }

    /* hold the forwarded signals until the child's pid is known, so none
     * lands between the spawn and forward_pid */
    install_handlers();
    block_forwarded(SIG_BLOCK);
    struct tg_launch l = { .argv = r.o.argv, .tracer = tracer, .trace_path = r.trace_path,
                           .watch = r.o.watch, .stdout_fd = out[1], .stderr_fd = err[1] };
    r.start_ns = tg_run_now_ns();
    r.child = tg_launch_spawn(&l);
    int spawn_errno = errno;
    if (r.child > 0)
        forward_pid = r.child;
    block_forwarded(SIG_UNBLOCK);
    free(tracer);
    if (r.o.live) {
        close(out[1]);
        close(err[1]);
        r.output_fd[0] = out[0];
        r.output_fd[1] = err[0];
        fcntl(out[0], F_SETFL, O_NONBLOCK);
        fcntl(err[0], F_SETFL, O_NONBLOCK);
    }
    if (r.child < 0) {
        tg_cli_error("cannot run %s: %s", r.o.argv[0], strerror(spawn_errno));
        close_output(&r);
        unlink(r.trace_path);
        return (int)-r.child;
    }
    r.pidfd = open_pidfd(r.child);

    follow(&r);
    status = tg_run_finish(&r);
    pump_output(&r);
    close_output(&r);

    if (r.pidfd >= 0)
        close(r.pidfd);
    tg_run_session_end(&r);
    if (r.trace)
        tg_trace_close(r.trace);
    return status;
}

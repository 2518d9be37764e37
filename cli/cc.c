/* `tangle cc ARGS...`: the compiler ($TANGLE_CC, $CC or cc) with race
 * instrumentation — the compiler's own -fsanitize=thread at compile time —
 * and tangle's runtime (libtangle.so, found like `tangle run` finds it, with
 * an rpath to its directory) instead of libtsan at link time.
 *
 *   -c / -S          compile with the instrumentation flags added
 *   -E, -M, --version... passed through untouched
 *   otherwise        link: each source on the command line is first
 *                    compiled to a temporary object (the driver would pull
 *                    libtsan in if it saw -fsanitize=thread while linking),
 *                    then everything is linked without -fsanitize=thread
 *                    and with libtangle.so.
 *
 * Works as CC for build systems: `CC="tangle-cc" meson setup build`,
 * `make CC=tangle-cc` (tangle-cc is `tangle cc`). docs/races.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "tangle_config.h"

static const char *const instrument[] = { "-fsanitize=thread", "-g", "-fno-omit-frame-pointer" };
#define NINSTRUMENT (sizeof instrument / sizeof instrument[0])

/* Options whose value is the next argument. */
static bool takes_value(const char *a)
{
    static const char *const opts[] = {
        "-o", "-I", "-D", "-U", "-L", "-l", "-x", "-MF", "-MT", "-MQ", "-include",
        "-imacros", "-isystem", "-iquote", "-idirafter", "-iprefix", "-iwithprefix",
        "-iwithprefixbefore", "-isysroot", "-Xlinker", "-Xassembler", "-Xpreprocessor",
        "-T", "-u", "-z", "-e", "-aux-info", "--param", "-dumpbase", "-dumpdir",
        "-wrapper", "-target", "-arch", "-B", "-Xclang", "--sysroot", NULL,
    };
    for (int i = 0; opts[i]; i++)
        if (strcmp(a, opts[i]) == 0)
            return true;
    return false;
}

/* Options that only mean something to the linker. */
static bool link_only(const char *a)
{
    return strncmp(a, "-l", 2) == 0 || strncmp(a, "-L", 2) == 0 || strncmp(a, "-Wl,", 4) == 0
        || strcmp(a, "-Xlinker") == 0 || strcmp(a, "-shared") == 0 || strcmp(a, "-rdynamic") == 0
        || strcmp(a, "-pie") == 0 || strcmp(a, "-nostdlib") == 0 || strcmp(a, "-nostartfiles") == 0
        || strcmp(a, "-nodefaultlibs") == 0 || strcmp(a, "-T") == 0 || strcmp(a, "-u") == 0
        || strcmp(a, "-z") == 0 || strcmp(a, "-e") == 0 || strncmp(a, "-static-lib", 11) == 0;
}

static bool is_source_name(const char *a)
{
    static const char *const exts[] = { ".c", ".i", ".cc", ".cp", ".cxx", ".cpp", ".CPP", ".c++",
                                        ".C", ".ii", ".s", ".S", ".sx", ".m", ".mi", NULL };
    const char *dot = strrchr(a, '.');
    if (strcmp(a, "-") == 0)
        return true;
    if (dot == NULL)
        return false;
    for (int i = 0; exts[i]; i++)
        if (strcmp(dot, exts[i]) == 0)
            return true;
    return false;
}

static bool is_sanitize_thread(const char *a)
{
    return strcmp(a, "-fsanitize=thread") == 0;
}

/* The compiler command: TANGLE_CC, else CC unless it is tangle-cc itself,
 * else cc. May hold arguments ("gcc -m64"); split on blanks. */
static int compiler(char **out, int max, char *buf, size_t len)
{
    const char *cc = getenv("TANGLE_CC");
    if (cc == NULL || *cc == '\0') {
        cc = getenv("CC");
        if (cc != NULL && (strstr(cc, "tangle-cc") != NULL || strstr(cc, "tangle cc") != NULL))
            cc = NULL;
    }
    if (cc == NULL || *cc == '\0')
        cc = "cc";
    snprintf(buf, len, "%s", cc);
    int n = 0;
    for (char *tok = strtok(buf, " \t"); tok && n < max; tok = strtok(NULL, " \t"))
        out[n++] = tok;
    return n;
}

/* Runs ARGV; returns its exit status like a shell would. */
static int run(char **argv)
{
    if (getenv("TANGLE_CC_VERBOSE") != NULL) {
        for (int i = 0; argv[i]; i++)
            fprintf(stderr, "%s%s", i ? " " : "", argv[i]);
        fprintf(stderr, "\n");
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        tg_cli_error("cc: cannot start %s: %s", argv[0], strerror(errno));
        return TG_STATUS_FAILED;
    }
    if (pid == 0) {
        execvp(argv[0], argv);
        fprintf(stderr, "tangle: cc: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(errno == ENOENT ? TG_STATUS_NOT_FOUND : TG_STATUS_CANNOT_EXEC);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return TG_STATUS_FAILED;
    if (WIFSIGNALED(st))
        return TG_STATUS_SIGNAL_BASE + WTERMSIG(st);
    return WEXITSTATUS(st);
}

static void usage(FILE *f)
{
    fprintf(f,
        "usage: tangle cc [COMPILER ARGUMENTS...]\n"
        "\n"
        "Compiles and links like $CC (or cc; $TANGLE_CC wins), adding\n"
        "-fsanitize=thread -g -fno-omit-frame-pointer when compiling and linking\n"
        "tangle's race runtime (libtangle.so) instead of libtsan. The program then\n"
        "reports data races at exit (status 66) when run on its own, or in the\n"
        "report of `tangle run`. As CC for a build: CC=tangle-cc.\n"
        "Environment: TANGLE_CC, CC, TANGLE_LIB, TANGLE_CC_VERBOSE (print commands).\n");
}

struct cmd {
    char **v;
    int n, cap;
};

static void push(struct cmd *c, const char *a)
{
    if (c->n + 2 > c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        char **v = realloc(c->v, (size_t)c->cap * sizeof *v);
        if (v == NULL) {
            tg_cli_error("cc: out of memory");
            exit(TG_STATUS_FAILED);
        }
        c->v = v;
    }
    c->v[c->n++] = (char *)a;
    c->v[c->n] = NULL;
}

int tg_cmd_cc(int argc, char **argv)
{
    char ccbuf[1024];
    char *ccv[32];
    int ncc = compiler(ccv, 32, ccbuf, sizeof ccbuf);
    int nargs = argc - 1;
    char **args = argv + 1;

    if (nargs == 1 && (strcmp(args[0], "--help") == 0 || strcmp(args[0], "-h") == 0)) {
        usage(stdout);
        return TG_STATUS_OK;
    }

    bool compile_only = false, passthrough = nargs == 0, has_static = false, shared = false;
    int nsources = 0, ninputs = 0;
    const char *lang = NULL;        /* -x LANG in force */
    bool *is_source = calloc((size_t)nargs + 1, sizeof *is_source);
    if (is_source == NULL)
        return TG_STATUS_FAILED;
    for (int i = 0; i < nargs; i++) {
        const char *a = args[i];
        if (strcmp(a, "-c") == 0 || strcmp(a, "-S") == 0)
            compile_only = true;
        else if (strcmp(a, "-E") == 0 || strcmp(a, "-M") == 0 || strcmp(a, "-MM") == 0
                 || strcmp(a, "-fsyntax-only") == 0 || strcmp(a, "--version") == 0
                 || strcmp(a, "-dumpversion") == 0 || strcmp(a, "-dumpmachine") == 0
                 || strncmp(a, "-print-", 7) == 0 || strcmp(a, "--help") == 0
                 || strcmp(a, "-v") == 0)
            passthrough = true;
        else if (strcmp(a, "-static") == 0)
            has_static = true;
        else if (strcmp(a, "-shared") == 0)
            shared = true;
        if (strcmp(a, "-x") == 0 && i + 1 < nargs)
            lang = strcmp(args[i + 1], "none") == 0 ? NULL : args[i + 1];
        else if (strncmp(a, "-x", 2) == 0 && a[2])
            lang = strcmp(a + 2, "none") == 0 ? NULL : a + 2;
        if (takes_value(a)) {
            i++;
            continue;
        }
        if (a[0] == '-' && a[1] != '\0')
            continue;
        ninputs++;
        if (lang != NULL || is_source_name(a)) {
            is_source[i] = true;
            nsources++;
        }
    }
    (void)shared;

    struct cmd c = { 0 };
    for (int i = 0; i < ncc; i++)
        push(&c, ccv[i]);

    if (passthrough || ninputs == 0) {
        for (int i = 0; i < nargs; i++)
            push(&c, args[i]);
        int r = run(c.v);
        free(c.v), free(is_source);
        return r;
    }
    if (compile_only) {
        for (size_t k = 0; k < NINSTRUMENT; k++)
            push(&c, instrument[k]);
        for (int i = 0; i < nargs; i++)
            push(&c, args[i]);
        int r = run(c.v);
        free(c.v), free(is_source);
        return r;
    }

    /* linking */
    if (has_static) {
        tg_cli_error("cc: -static cannot link the race runtime, which is a shared library");
        free(c.v), free(is_source);
        return TG_STATUS_USAGE;
    }
    char *tracer = tg_launch_find_tracer();
    if (tracer == NULL) {
        tg_cli_error("cc: cannot find libtangle.so: not next to tangle nor in %s (set TANGLE_LIB)",
                     TANGLE_LIBDIR);
        free(c.v), free(is_source);
        return TG_STATUS_FAILED;
    }
    char tmpdir[] = "/tmp/tangle-cc-XXXXXX";
    char **objects = calloc((size_t)nargs + 1, sizeof *objects);
    int status = 0;
    if (objects == NULL || (nsources > 0 && mkdtemp(tmpdir) == NULL)) {
        tg_cli_error("cc: cannot make a temporary directory: %s", strerror(errno));
        free(c.v), free(is_source), free(objects), free(tracer);
        return TG_STATUS_FAILED;
    }

    /* 1. each source to an object, with every option but the linker's */
    for (int s = 0; s < nargs && status == 0; s++) {
        if (!is_source[s])
            continue;
        const char *base = strrchr(args[s], '/') ? strrchr(args[s], '/') + 1 : args[s];
        size_t len = strlen(tmpdir) + strlen(base) + 32;
        objects[s] = malloc(len);
        if (objects[s] == NULL)
            break;
        snprintf(objects[s], len, "%s/%d-%s.o", tmpdir, s, strcmp(base, "-") ? base : "stdin");
        struct cmd cc1 = { 0 };
        for (int i = 0; i < ncc; i++)
            push(&cc1, ccv[i]);
        for (size_t k = 0; k < NINSTRUMENT; k++)
            push(&cc1, instrument[k]);
        const char *cur_lang = NULL;
        for (int i = 0; i < nargs; i++) {
            const char *a = args[i];
            if (strcmp(a, "-x") == 0 && i + 1 < nargs) {
                if (i < s)
                    cur_lang = args[i + 1];
                i++;
                continue;
            }
            if (strncmp(a, "-x", 2) == 0 && a[2]) {
                if (i < s)
                    cur_lang = a + 2;
                continue;
            }
            if (strcmp(a, "-o") == 0 || link_only(a)) {
                if (takes_value(a))
                    i++;
                continue;
            }
            if (takes_value(a)) {
                push(&cc1, a);
                if (i + 1 < nargs)
                    push(&cc1, args[++i]);
                continue;
            }
            if (a[0] == '-' && a[1] != '\0')
                push(&cc1, a);
            /* inputs: only this source */
        }
        if (cur_lang != NULL) {
            push(&cc1, "-x");
            push(&cc1, cur_lang);
        }
        push(&cc1, "-c");
        push(&cc1, args[s]);
        push(&cc1, "-o");
        push(&cc1, objects[s]);
        status = run(cc1.v);
        free(cc1.v);
    }

    /* 2. the link: sources replaced by their objects, no -fsanitize=thread,
     * libtangle.so whatever --as-needed says, and an rpath to it */
    if (status == 0) {
        char dir[4096], rpath[4200];
        snprintf(dir, sizeof dir, "%s", tracer);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
        snprintf(rpath, sizeof rpath, "-Wl,-rpath,%s", dir);
        for (int i = 0; i < nargs; i++) {
            const char *a = args[i];
            if (is_source[i]) {
                push(&c, objects[i]);
                continue;
            }
            if (strcmp(a, "-x") == 0 && i + 1 < nargs) {
                i++;                 /* objects are not in that language */
                continue;
            }
            if (strncmp(a, "-x", 2) == 0 && a[2])
                continue;
            if (is_sanitize_thread(a))
                continue;
            push(&c, a);
            if (takes_value(a) && i + 1 < nargs)
                push(&c, args[++i]);
        }
        push(&c, "-g");
        push(&c, "-pthread");
        push(&c, "-Wl,--push-state,--no-as-needed");
        push(&c, tracer);
        push(&c, "-Wl,--pop-state");
        push(&c, rpath);
        status = run(c.v);
    }

    for (int i = 0; i < nargs; i++)
        if (objects[i]) {
            unlink(objects[i]);
            free(objects[i]);
        }
    if (nsources > 0)
        rmdir(tmpdir);
    free(objects), free(c.v), free(is_source), free(tracer);
    return status;
}

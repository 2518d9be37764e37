/* tui/term.c: taking over the terminal and always giving it back.
 *
 * The session runs ncurses in raw mode: Ctrl-C is a key (quit), so the
 * terminal never sends SIGINT to us or to a program run under --live. What
 * can still arrive from outside (kill, a CI runner's SIGTERM, a hangup) and
 * what can go wrong inside (a crash) restores the terminal first:
 *  - fatal signals: restore, then die of the signal as before;
 *  - SIGINT/SIGTERM/SIGHUP/SIGQUIT with no handler: restore and make the
 *    next pump return TG_TUI_QUIT;
 *  - the same with the caller's handler (tangle run forwards them to the
 *    program): restore, call it, and take the screen back at the next pump
 *    if we are still alive;
 *  - exit(): an atexit handler ends curses.
 * Restoring from a signal handler uses only write() and tcsetattr() with
 * sequences prepared beforehand (endwin is not async-signal-safe).
 */
#include "tui/term.h"

#include <errno.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <ncursesw/term.h>

static const int fatal_signals[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };
static const int quit_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
#define NSIGS (sizeof fatal_signals / sizeof fatal_signals[0] \
               + sizeof quit_signals / sizeof quit_signals[0])

static struct {
    bool active;                /* curses is on the real terminal */
    bool handlers;
    int in_fd, out_fd;
    struct termios saved;
    char reset[512];            /* what endwin would send, prepared */
    size_t nreset;
    int sig[NSIGS];
    struct sigaction old[NSIGS];
    volatile sig_atomic_t quit;
    volatile sig_atomic_t restored;
    bool atexit_done;
} g = { .in_fd = -1, .out_fd = -1 };

static void add_cap(const char *name)
{
    const char *s = tigetstr((char *)name);
    if (s == NULL || s == (char *)-1)
        return;
    size_t n = strlen(s);
    if (g.nreset + n < sizeof g.reset) {
        memcpy(g.reset + g.nreset, s, n);
        g.nreset += n;
    }
}

static void add_raw(const char *s)
{
    size_t n = strlen(s);
    if (g.nreset + n < sizeof g.reset) {
        memcpy(g.reset + g.nreset, s, n);
        g.nreset += n;
    }
}

/* Async-signal-safe: puts the terminal back as the shell had it. */
static void emergency_restore(void)
{
    if (!g.active || g.restored)
        return;
    if (g.out_fd >= 0 && g.nreset > 0) {
        ssize_t r = write(g.out_fd, g.reset, g.nreset);
        (void)r;
    }
    if (g.in_fd >= 0)
        tcsetattr(g.in_fd, TCSANOW, &g.saved);
    g.restored = 1;
}

static int slot_of(int sig)
{
    for (size_t i = 0; i < NSIGS; i++)
        if (g.sig[i] == sig)
            return (int)i;
    return -1;
}

static void on_fatal(int sig)
{
    emergency_restore();
    int i = slot_of(sig);
    if (i >= 0)
        sigaction(sig, &g.old[i], NULL);
    else
        signal(sig, SIG_DFL);
    raise(sig);
}

static void on_quit(int sig, siginfo_t *si, void *uc)
{
    int saved = errno;
    int i = slot_of(sig);

    emergency_restore();
    if (i >= 0 && (g.old[i].sa_flags & SA_SIGINFO) && g.old[i].sa_sigaction != NULL) {
        g.old[i].sa_sigaction(sig, si, uc);
    } else if (i >= 0 && g.old[i].sa_handler != SIG_DFL && g.old[i].sa_handler != SIG_IGN) {
        g.old[i].sa_handler(sig);
    } else {
        g.quit = sig;
    }
    errno = saved;
}

static void install_handlers(void)
{
    size_t k = 0;

    for (size_t i = 0; i < sizeof fatal_signals / sizeof fatal_signals[0]; i++) {
        struct sigaction sa = { .sa_handler = on_fatal, .sa_flags = SA_RESETHAND };
        sigemptyset(&sa.sa_mask);
        g.sig[k] = fatal_signals[i];
        sigaction(g.sig[k], &sa, &g.old[k]);
        k++;
    }
    for (size_t i = 0; i < sizeof quit_signals / sizeof quit_signals[0]; i++) {
        struct sigaction sa = { .sa_sigaction = on_quit, .sa_flags = SA_SIGINFO | SA_RESTART };
        sigemptyset(&sa.sa_mask);
        g.sig[k] = quit_signals[i];
        sigaction(g.sig[k], NULL, &g.old[k]);
        if (g.old[k].sa_handler != SIG_IGN)
            sigaction(g.sig[k], &sa, NULL);
        k++;
    }
    g.handlers = true;
}

static void remove_handlers(void)
{
    if (!g.handlers)
        return;
    for (size_t i = 0; i < NSIGS; i++)
        sigaction(g.sig[i], &g.old[i], NULL);
    g.handlers = false;
}

static void at_exit(void)
{
    if (g.active && !isendwin())
        endwin();
}

int tg_term_open(struct tg_term *t, const struct tg_tui_live_options *o, char *err,
                 size_t errlen)
{
    memset(t, 0, sizeof *t);
    /* ncursesw needs the user's character set for wide characters */
    const char *cur = setlocale(LC_CTYPE, NULL);
    if (cur == NULL || strcmp(cur, "C") == 0 || strcmp(cur, "POSIX") == 0)
        setlocale(LC_CTYPE, "");
    t->utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;

    if (o != NULL && o->out != NULL) {
        /* headless: tests and benchmarks draw to a file or /dev/null */
        t->screen = newterm(o->term ? o->term : "xterm-256color", o->out,
                            o->in ? o->in : stdin);
        if (t->screen == NULL) {
            snprintf(err, errlen, "cannot start a terminal of type %s",
                     o->term ? o->term : "xterm-256color");
            return -ENOTTY;
        }
        set_term(t->screen);
        t->headless = true;
        if (o->cols > 0 && o->rows > 0)
            resizeterm(o->rows, o->cols);
    } else {
        if (g.active) {
            snprintf(err, errlen, "the terminal is already in use by another view");
            return -EBUSY;
        }
        if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
            snprintf(err, errlen, "standard input and output must be a terminal");
            return -ENOTTY;
        }
        const char *term = getenv("TERM");
        if (term == NULL || *term == '\0' || strcmp(term, "dumb") == 0) {
            snprintf(err, errlen, "the terminal type is unknown (TERM=%s)", term ? term : "");
            return -ENOTTY;
        }
        g.in_fd = STDIN_FILENO;
        g.out_fd = STDOUT_FILENO;
        tcgetattr(g.in_fd, &g.saved);
        g.quit = 0;
        g.restored = 0;
        g.nreset = 0;
        /* ours first: ncurses then leaves SIGINT/SIGTERM alone (its own
         * handlers would exit from inside the signal) */
        install_handlers();
        t->screen = newterm(NULL, stdout, stdin);
        if (t->screen == NULL) {
            remove_handlers();
            snprintf(err, errlen, "cannot use terminal type %s (no terminfo entry?)", term);
            return -ENOTTY;
        }
        set_term(t->screen);
        add_raw("\033[?1000l\033[?1002l\033[?1003l\033[?1006l");   /* mouse reporting off */
        add_cap("sgr0");
        add_cap("cnorm");
        add_cap("rmkx");
        add_cap("rmcup");
        g.active = true;
        if (!g.atexit_done) {
            atexit(at_exit);
            g.atexit_done = true;
        }
    }
    raw();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    curs_set(0);
    set_escdelay(25);
    mouseinterval(200);
    mousemask(BUTTON1_CLICKED | BUTTON1_DOUBLE_CLICKED | BUTTON1_PRESSED | BUTTON4_PRESSED
              | BUTTON5_PRESSED, NULL);
    bool no_color = (o != NULL && o->no_color) || (getenv("NO_COLOR") && *getenv("NO_COLOR"));
    t->colour = has_colors() && !no_color;
    if (t->colour) {
        start_color();
        use_default_colors();
    }
    return 0;
}

void tg_term_close(struct tg_term *t)
{
    if (t->screen == NULL)
        return;
    if (!isendwin())
        endwin();
    if (!t->headless) {
        remove_handlers();
        if (g.in_fd >= 0)
            tcsetattr(g.in_fd, TCSANOW, &g.saved);
        g.active = false;
    }
    delscreen(t->screen);
    t->screen = NULL;
}

int tg_term_quit_requested(void)
{
    return g.quit;
}

/* A signal handler gave the terminal back but we live on: take it again. */
bool tg_term_retake(struct tg_term *t)
{
    if (t->headless || !g.restored)
        return false;
    g.restored = 0;
    endwin();
    refresh();
    return true;
}

/* The text report on stderr, in the shape people know from lockdep and
 * TSan: a separator, a fixed greppable banner per kind, the cycle as lock
 * names, then each thread's part with full stacks, where the threads were
 * created, a two-column scenario for lock cycles, and the usual fix.
 * Colour only when report.c decided so (a terminal, no NO_COLOR). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli/report_int.h"

enum paint { P_BANNER, P_LOCK, P_THREAD, P_DIM, P_FIX, P_OFF };

static const char *ink(const struct tg_report *r, enum paint p)
{
    static const char *const esc[] = {
        [P_BANNER] = "\033[1;31m", [P_LOCK] = "\033[1;35m", [P_THREAD] = "\033[1;36m",
        [P_DIM] = "\033[2m", [P_FIX] = "\033[1;32m", [P_OFF] = "\033[0m",
    };
    return r->color ? esc[p] : "";
}

static const char *SEP = "==================";

/* Prints "name (Tn)" painted as a thread. */
static void thread_ref(struct tg_report *r, uint32_t thread, FILE *out)
{
    if (thread == TG_NO_THREAD) {
        fputs("an unknown thread", out);
        return;
    }
    fprintf(out, "%s%s%s (T%" PRIu32 ")", ink(r, P_THREAD), rp_thread_name(r, thread),
            ink(r, P_OFF), thread);
}

static void lock_ref(struct tg_report *r, const struct tg_finding *f, uint32_t obj, FILE *out)
{
    char name[512];
    fprintf(out, "%s%s%s", ink(r, P_LOCK), rp_obj_name(r, f, obj, name, sizeof name), ink(r, P_OFF));
}

static void stack_lines(struct tg_report *r, uint32_t process, uint32_t stack, FILE *out)
{
    struct tg_frame fr[RP_MAX_FRAMES];
    size_t n = rp_frames(r, process, stack, fr, RP_MAX_FRAMES);
    char buf[1024];

    if (n == 0) {
        fprintf(out, "    %s(no stack recorded)%s\n", ink(r, P_DIM), ink(r, P_OFF));
        return;
    }
    for (size_t i = 0; i < n; i++)
        fprintf(out, "    %s#%zu%s %s\n", ink(r, P_DIM), i, ink(r, P_OFF),
                tg_symbols_format_frame(&fr[i], buf, sizeof buf));
}

static const char *mode_verb(uint8_t mode)
{
    return mode == TG_MODE_READ ? "read-locking" : mode == TG_MODE_WRITE ? "write-locking"
                                                                          : "requested";
}

/* "holding X (acquired at site)" and the other locks held, on one line. */
static void holding_line(struct tg_report *r, const struct tg_finding *f,
                         const struct tg_step *s, FILE *out)
{
    char site[512];

    if (s->held.obj != TG_NO_OBJ) {
        fputs(" holding ", out);
        lock_ref(r, f, s->held.obj, out);
        fprintf(out, "%s (acquired at %s)", s->held.mode == TG_MODE_READ ? " for reading" : "",
                rp_site(r, f->process, s->held.stack, site, sizeof site));
    }
    for (uint32_t k = 0; k < s->nothers; k++) {
        fputs(k == 0 && s->held.obj == TG_NO_OBJ ? " holding " : ", ", out);
        lock_ref(r, f, s->others[k].obj, out);
        fprintf(out, " (acquired at %s)", rp_site(r, f->process, s->others[k].stack, site,
                                                  sizeof site));
    }
}

static void held_stacks(struct tg_report *r, const struct tg_finding *f,
                        const struct tg_step *s, FILE *out)
{
    if (s->held.obj != TG_NO_OBJ && s->held.stack && s->held.obj != s->obj) {
        fputs("  ", out);
        lock_ref(r, f, s->held.obj, out);
        fputs(" was acquired at:\n", out);
        stack_lines(r, f->process, s->held.stack, out);
    }
}

static void step_text(struct tg_report *r, const struct tg_finding *f, const struct tg_step *s,
                      bool previous, FILE *out)
{
    char site[512], name[512];

    rp_step_site(r, f, s, site, sizeof site);
    fputs("\n  ", out);
    switch (s->role) {
    case TG_ROLE_EDGE:
    case TG_ROLE_WAITS:
        if (s->role == TG_ROLE_WAITS && s->wait != TG_WAIT_LOCK) {
            thread_ref(r, s->thread, out);
            holding_line(r, f, s, out);
            if (s->wait == TG_WAIT_JOIN) {
                fputs(" is blocked in pthread_join for ", out);
                thread_ref(r, s->other_thread, out);
            } else {
                fprintf(out, " is blocked in %s on ", rp_call_name(s->event));
                lock_ref(r, f, s->obj, out);
            }
            fprintf(out, "\n  at %s:\n", site);
            stack_lines(r, f->process, s->stack, out);
            break;
        }
        thread_ref(r, s->thread, out);
        if (s->held.obj == s->obj && s->obj != TG_NO_OBJ) {
            fputs(" holds ", out);
            lock_ref(r, f, s->obj, out);
            fprintf(out, " (acquired at %s)\n  and locks it again at %s:\n",
                    rp_site(r, f->process, s->held.stack, name, sizeof name), site);
            stack_lines(r, f->process, s->stack, out);
            fputs("  ", out);
            lock_ref(r, f, s->obj, out);
            fputs(" was acquired at:\n", out);
            stack_lines(r, f->process, s->held.stack, out);
            break;
        }
        holding_line(r, f, s, out);
        fprintf(out, "\n  %s ", s->role == TG_ROLE_WAITS ? "is blocked, having" : "and");
        fputs(mode_verb(s->mode), out);
        fputc(' ', out);
        lock_ref(r, f, s->obj, out);
        fprintf(out, " at %s:\n", site);
        stack_lines(r, f->process, s->stack, out);
        held_stacks(r, f, s, out);
        break;
    case TG_ROLE_SIGNAL:
        thread_ref(r, s->thread, out);
        fprintf(out, " called %s on ", rp_call_name(s->event));
        lock_ref(r, f, s->obj, out);
        fprintf(out, " when no thread was waiting,\n  at %s:\n", site);
        stack_lines(r, f->process, s->stack, out);
        break;
    case TG_ROLE_CALL:
        thread_ref(r, s->thread, out);
        fprintf(out, " called %s on ", rp_call_name(s->event));
        lock_ref(r, f, s->obj, out);
        if (s->result != TG_OK)
            fprintf(out, " (it returned %s)", tg_result_name(s->result));
        holding_line(r, f, s, out);
        fprintf(out, "\n  at %s:\n", site);
        stack_lines(r, f->process, s->stack, out);
        break;
    case TG_ROLE_OWNER:
        lock_ref(r, f, s->obj != TG_NO_OBJ ? s->obj : s->held.obj, out);
        fputs(" is held by ", out);
        thread_ref(r, s->thread, out);
        fprintf(out, ", acquired at %s:\n",
                rp_site(r, f->process, s->held.stack ? s->held.stack : s->stack, site, sizeof site));
        stack_lines(r, f->process, s->held.stack ? s->held.stack : s->stack, out);
        break;
    case TG_ROLE_ACCESS: {
        bool write = s->access & 1, atomic = s->access & 2;
        fprintf(out, "%s%s%s of size %" PRIu32 " at %s by ", previous ? "Previous " : "",
                atomic ? (previous ? "atomic " : "Atomic ") : "",
                write ? (previous || atomic ? "write" : "Write") : (previous || atomic ? "read" : "Read"),
                s->size, rp_mem_name(r, f, name, sizeof name));
        thread_ref(r, s->thread, out);
        if (s->nothers == 0)
            fputs(", holding no lock", out);
        for (uint32_t k = 0; k < s->nothers; k++) {
            fputs(k ? ", " : ", holding ", out);
            lock_ref(r, f, s->others[k].obj, out);
        }
        fprintf(out, ", at %s:\n", site);
        stack_lines(r, f->process, s->stack, out);
        break;
    }
    default:
        thread_ref(r, s->thread, out);
        fprintf(out, " at %s:\n", site);
        stack_lines(r, f->process, s->stack, out);
    }
}

static void creation_sites(struct tg_report *r, const struct tg_finding *f, FILE *out)
{
    bool any = false;

    for (uint32_t i = 0; i < f->nthreads; i++) {
        const struct tg_thread_info *ti = tg_trace_thread(r->trace, f->threads[i]);
        if (!ti)
            continue;
        if (!any)
            fputc('\n', out);
        any = true;
        fputs("  ", out);
        thread_ref(r, ti->index, out);
        if (ti->parent == TG_NO_THREAD) {
            const struct tg_process_info *pi = tg_trace_process(r->trace, ti->process);
            fprintf(out, " is the main thread (tid %" PRIu32 ")", ti->os_tid);
            if (pi)
                fprintf(out, " of process %" PRIu32, pi->pid);
            fputs(".\n", out);
            continue;
        }
        fprintf(out, ", tid %" PRIu32 ", was created by ", ti->os_tid);
        thread_ref(r, ti->parent, out);
        fputs(" at:\n", out);
        stack_lines(r, ti->process, ti->create_stack, out);
    }
}

/* What a scenario cell calls OBJ: its name, or "L<k>" (ALIAS) by order of
 * first appearance among the cells, when the names are too long for
 * columns (heap locks: "mutex 0x55d0c0a2b2a0 initialised at f a.c:7"). */
static const char *cell_name(struct tg_report *r, const struct tg_finding *f, uint32_t obj,
                             bool alias, char *buf, size_t len)
{
    if (!alias)
        return rp_obj_name(r, f, obj, buf, len);
    uint32_t k = 0;
    for (uint32_t i = 0; i < 2 * f->nsteps; i++) {
        const struct tg_step *s = &f->steps[i % f->nsteps];
        uint32_t o = i < f->nsteps ? s->held.obj : s->obj;
        bool seen = false;
        for (uint32_t j = 0; j < i && !seen; j++) {
            const struct tg_step *t = &f->steps[j % f->nsteps];
            seen = (j < f->nsteps ? t->held.obj : t->obj) == o;
        }
        if (!seen)
            k++;
        if (o == obj)
            break;
    }
    snprintf(buf, len, "L%" PRIu32, k);
    return buf;
}

/* The widest scenario column: the longest cell or thread name, plus a gap. */
static int column_width(struct tg_report *r, const struct tg_finding *f, bool alias)
{
    char name[512];
    int width = 12;

    for (uint32_t i = 0; i < f->nsteps; i++) {
        const struct tg_step *s = &f->steps[i];
        int w = (int)strlen(rp_thread_name(r, s->thread));
        width = w > width ? w : width;
        w = (int)strlen(cell_name(r, f, s->obj, alias, name, sizeof name)) + 12;
        width = w > width ? w : width;
        w = (int)strlen(cell_name(r, f, s->held.obj, alias, name, sizeof name)) + 12;
        width = w > width ? w : width;
    }
    return width + 4;
}

/* lockdep's "Possible unsafe locking scenario", one column per thread. */
static void scenario(struct tg_report *r, const struct tg_finding *f, FILE *out)
{
    bool self = f->kind == TG_FIND_DEADLOCK && f->sub == TG_DEADLOCK_SELF;
    bool cycle = f->kind == TG_FIND_LOCK_ORDER ||
                 (f->kind == TG_FIND_DEADLOCK && f->sub == TG_DEADLOCK_CYCLE);
    uint32_t n = f->nsteps;
    char name[512], cell[600];

    if ((!self && !cycle) || n == 0 || (cycle && n < 2) || n > 4)
        return;
    for (uint32_t i = 0; i < n; i++)
        if (f->steps[i].wait != TG_WAIT_LOCK || f->steps[i].held.obj == TG_NO_OBJ)
            return;
    bool alias = false;
    int width = column_width(r, f, false);
    if (width * (int)n > 120 && n > 1) {
        alias = true;             /* long names: short labels, explained below */
        width = column_width(r, f, true);
        if (width * (int)n > 120)
            return;               /* would not fit a terminal: the steps above say it */
    }

    fprintf(out, "\n  %s:\n\n", f->kind == TG_FIND_LOCK_ORDER ? "Possible unsafe locking scenario"
                                                               : "What happened");
    fputs("        ", out);
    for (uint32_t i = 0; i < n; i++)
        fprintf(out, "%-*s", i + 1 < n ? width : 0, rp_thread_name(r, f->steps[i].thread));
    fputs("\n        ", out);
    for (uint32_t i = 0; i < n; i++)
        fprintf(out, "%-*s", i + 1 < n ? width : 0, "----");
    fputc('\n', out);
    /* every thread takes what it holds, then each asks for the next */
    for (int phase = 0; phase < 2; phase++) {
        for (uint32_t i = 0; i < n; i++) {
            const struct tg_step *s = &f->steps[i];
            uint32_t obj = phase == 0 ? s->held.obj : s->obj;
            uint8_t mode = phase == 0 ? s->held.mode : s->mode;
            snprintf(cell, sizeof cell, "%s(%s);",
                     mode == TG_MODE_READ ? "read_lock" : mode == TG_MODE_WRITE ? "write_lock" : "lock",
                     cell_name(r, f, obj, alias, name, sizeof name));
            fprintf(out, "        %*s%s\n", width * (int)i, "", cell);
        }
    }
    fprintf(out, "\n        %s*** DEADLOCK ***%s\n", ink(r, P_BANNER), ink(r, P_OFF));
    if (!alias)
        return;
    fputc('\n', out);
    for (uint32_t i = 0, k = 0; i < 2 * n; i++) {
        const struct tg_step *s = &f->steps[i % n];
        uint32_t obj = i < n ? s->held.obj : s->obj;
        char label[16];
        if (strtoul(cell_name(r, f, obj, true, label, sizeof label) + 1, NULL, 10) == k + 1) {
            k++;           /* each label once, in order */
            fprintf(out, "        %s = ", label);
            lock_ref(r, f, obj, out);
            fputc('\n', out);
        }
    }
}

/* TEXT and a full stop after COL columns already used, wrapped at 80,
 * continuation lines under the first word. */
static void wrapped(const char *text, size_t col, FILE *out)
{
    while (*text) {
        size_t word = strcspn(text, " ");
        bool last = text[word] == '\0';
        if (col + 1 + word + last > 80 && col > 8) {
            fputs("\n      ", out);
            col = 6;
        }
        fprintf(out, " %.*s", (int)word, text);
        col += 1 + word;
        text += word;
        while (*text == ' ')
            text++;
    }
    fputs(".\n", out);
}

/* Lock names along a cycle, painted, with arrows: the lock of step FROM's
 * hold (or request) through step TO's request. A long run shows its first
 * and last names around "… N more …". */
static void chain_names(struct tg_report *r, const struct tg_finding *f, uint32_t from,
                        uint32_t to, FILE *out)
{
    uint32_t n = to - from + 2, head = 8, tail = 4;

    for (uint32_t k = 0; k < n; k++) {
        if (n > head + tail + 1 && k == head) {
            fprintf(out, " → … %" PRIu32 " more …", n - head - tail);
            k = n - tail - 1;
            continue;
        }
        const struct tg_step *s = &f->steps[from + (k < n - 1 ? k : k - 1)];
        uint32_t obj = k == n - 1 ? s->obj : (s->held.obj != TG_NO_OBJ ? s->held.obj : s->obj);
        if (k)
            fputs(" → ", out);
        lock_ref(r, f, obj, out);
    }
}

static bool cycle_kind(const struct tg_finding *f)
{
    return f->kind == TG_FIND_LOCK_ORDER ||
           (f->kind == TG_FIND_DEADLOCK && f->sub == TG_DEADLOCK_CYCLE);
}

/* Step B does what step A did: the same thread taking a lock while holding
 * one, from the same code (hand over hand down a chain). */
static bool same_move(const struct tg_step *a, const struct tg_step *b)
{
    return a->thread == b->thread && a->role == b->role && a->wait == b->wait &&
           a->event == b->event && a->mode == b->mode && a->stack == b->stack &&
           a->held.stack == b->held.stack && a->held.mode == b->held.mode &&
           a->nothers == b->nothers;
}

/* The steps of F, each in full, except that in a cycle a run of three or
 * more steps making the same move is its first step and one line for the
 * rest: a 10,000-lock chain reads as two paragraphs, not 10,000. */
static void steps_text(struct tg_report *r, const struct tg_finding *f, FILE *out)
{
    for (uint32_t i = 0; i < f->nsteps; i++) {
        step_text(r, f, &f->steps[i], f->kind == TG_FIND_RACE && i > 0, out);
        uint32_t j = i;
        while (cycle_kind(f) && j + 1 < f->nsteps && same_move(&f->steps[i], &f->steps[j + 1]))
            j++;
        if (j - i < 2)
            continue;
        fputs("\n  ", out);
        thread_ref(r, f->steps[i].thread, out);
        fprintf(out, " did the same for the next %" PRIu32 " locks, from the same places:\n    ",
                j - i);
        chain_names(r, f, i + 1, j, out);
        fputc('\n', out);
        i = j;
    }
}

static void render(struct tg_report *r, const struct tg_finding *f, FILE *out)
{
    char buf[2048];

    fprintf(out, "%s%s%s\n", ink(r, P_DIM), SEP, ink(r, P_OFF));
    fprintf(out, "%stangle: %s%s\n", ink(r, P_BANNER), rp_banner(r, f, buf, sizeof buf),
            ink(r, P_OFF));
    struct tg_trace_summary sum;
    tg_trace_summary(r->trace, &sum);
    const struct tg_process_info *pi = tg_trace_process(r->trace, f->process);
    if (sum.processes > 1 && pi)
        fprintf(out, "  in process %" PRIu32 " (%s)\n", pi->pid, pi->cmdline ? pi->cmdline : "?");
    if (rp_cycle(r, f, buf, sizeof buf)[0]) {
        fputs("  ", out);
        chain_names(r, f, 0, f->nsteps - 1, out);
        fputc('\n', out);
    }
    steps_text(r, f, out);
    creation_sites(r, f, out);
    scenario(r, f, out);
    if (rp_fix(r, f, buf, sizeof buf)[0]) {
        fprintf(out, "\n  %sFix:%s", ink(r, P_FIX), ink(r, P_OFF));
        wrapped(buf, 7, out);
    }
    fprintf(out, "%s%s%s\n", ink(r, P_DIM), SEP, ink(r, P_OFF));
}

/* One write per finding: stderr is unbuffered (a long report was a write per
 * fragment), and PROGRAM writes to the same stderr, so a report printed
 * while it runs must not be cut by its lines. */
void rp_text_finding(struct tg_report *r, const struct tg_finding *f, FILE *out)
{
    char *text = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&text, &len);

    if (!m) {
        render(r, f, out);
        fflush(out);
        return;
    }
    render(r, f, m);
    if (fclose(m) == 0)
        fwrite(text, 1, len, out);
    else
        render(r, f, out);
    free(text);
    fflush(out);
}

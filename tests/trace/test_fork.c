/* Processes: a fork child appends to the same file while its parent does,
 * and a writer killed with SIGKILL leaves a trace readable to its last
 * published event. */
#include <criterion/criterion.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

#define N 30000

static void body(struct tg_stream *s, uint32_t who)
{
    for (uint32_t i = 0; i < N; i++) {
        if (i % 5 == 0)
            tg_stream_emit1(s, TG_EV_SLEEP_BEGIN, 0, seq_obj(who, i), 0, tg_tick(s->w->clock), i, who);
        else
            tg_stream_emit(s, TG_EV_MUTEX_ACQ, 0, seq_obj(who, i), 0, tg_tick(s->w->clock));
        if (i % 1000 == 0) {
            uint64_t frames[2] = { who, i };
            tg_writer_stack(s->w, frames, 2);   /* both processes share the meta stream */
        }
    }
}

Test(fork, child_and_parent_append_together)
{
    char path[PATH_MAX];
    tmp_trace_path(path, sizeof path);
    static struct tg_writer w;
    cr_assert_eq(tg_writer_open(&w, path, "forker", "forker"), 0);
    struct tg_stream s;
    tg_stream_init(&s, &w, w.first_thread);
    emit_thread_start(&s, TG_NO_THREAD, 0, 0, tg_tick(w.clock));
    uint32_t parent_process = w.process;

    int go[2];
    cr_assert_eq(pipe(go), 0);
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        if (tg_writer_after_fork(&w, parent_process) < 0)
            _exit(10);
        struct tg_stream cs;      /* the inherited stream is the parent's */
        tg_stream_init(&cs, &w, w.first_thread);
        emit_thread_start(&cs, TG_NO_THREAD, 0, 0, tg_tick(w.clock));
        char c;
        if (read(go[0], &c, 1) != 1)
            _exit(11);
        body(&cs, 2);
        tg_stream_emit1(&cs, TG_EV_PROCESS_EXIT, 0, 0, 0, tg_tick(w.clock), 3 << 8, 0);
        tg_stream_close(&cs);
        tg_writer_finish(&w, 3 << 8);   /* not the root: must not finish the trace */
        _exit(0);
    }
    tg_stream_emit1(&s, TG_EV_FORK, 0, 0, 0, tg_tick(w.clock), (uint64_t)pid, 1);
    cr_assert_eq(write(go[1], "g", 1), 1);
    body(&s, 1);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);

    struct tg_trace *t;
    char err[200];
    cr_assert_eq(tg_trace_open(path, 0, &t, err, sizeof err), 0, "%s", err);
    struct tg_trace_summary sum;
    tg_trace_summary(t, &sum);
    cr_assert(!sum.finished, "only the root process finishes the trace");
    tg_trace_close(t);

    tg_stream_close(&s);
    tg_writer_finish(&w, 0);

    struct ev_list l;
    cr_assert_eq(read_all(path, &l, &t), 0);
    cr_assert_eq(l.end, 0, "%s", tg_trace_error(t) ? tg_trace_error(t) : "");
    uint32_t next[3] = {0};
    uint32_t thread_of[3] = { 0, TG_NO_THREAD, TG_NO_THREAD };
    for (size_t i = 0; i < l.n; i++) {
        const struct tg_ev *e = &l.ev[i];
        if (i)
            cr_assert_geq(e->ts, l.ev[i - 1].ts);
        if ((e->obj >> 44) != 1)
            continue;
        uint32_t who = (uint32_t)(e->obj >> 32) & 0xfff;
        cr_assert(who == 1 || who == 2);
        cr_assert_eq(e->process, who == 1 ? 0u : 1u);
        if (thread_of[who] == TG_NO_THREAD)
            thread_of[who] = e->thread;
        cr_assert_eq(e->thread, thread_of[who]);
        cr_assert_eq(e->obj, seq_obj(who, next[who]), "process %u event %u", who, next[who]);
        if (next[who] % 5 == 0)
            cr_assert_eq(e->p0, next[who]);
        next[who]++;
    }
    cr_assert_eq(next[1], N);
    cr_assert_eq(next[2], N);
    cr_assert_neq(thread_of[1], thread_of[2]);

    const struct tg_process_info *child = tg_trace_process(t, 1);
    cr_assert_not_null(child);
    cr_assert_eq(child->pid, (uint32_t)pid);
    cr_assert_eq(child->ppid, (uint32_t)getpid());
    cr_assert_eq(child->parent, 0);
    cr_assert(!child->exec);
    cr_assert(child->exited);
    cr_assert_eq(child->exit_status, 3 << 8);
    cr_assert_eq(child->first_thread, thread_of[2]);
    const struct tg_thread_info *ct = tg_trace_thread(t, thread_of[2]);
    cr_assert_not_null(ct);
    cr_assert_eq(ct->process, 1);
    cr_assert_eq(ct->parent, TG_NO_THREAD);

    const struct tg_module_info *pm, *cm;
    size_t np = tg_trace_modules(t, 0, &pm), nc = tg_trace_modules(t, 1, &cm);
    cr_assert_gt(np, 0);
    cr_assert_eq(nc, np, "a fork child inherits its parent's modules");
    cr_assert_str_eq(cm[0].path, pm[0].path);

    tg_trace_summary(t, &sum);
    cr_assert(sum.finished);
    cr_assert_eq(sum.processes, 2);
    cr_assert_eq(sum.stacks, 2 * N / 1000);
    tg_trace_close(t);
    ev_list_free(&l);
}

Test(fork, sigkilled_writer_leaves_a_readable_trace)
{
    char path[PATH_MAX];
    tmp_trace_path(path, sizeof path);
    int ready[2];
    cr_assert_eq(pipe(ready), 0);
    const uint32_t published = 50000;
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        static struct tg_writer w;
        if (tg_writer_open(&w, path, "victim", "victim") < 0)
            _exit(10);
        struct tg_stream s;
        tg_stream_init(&s, &w, w.first_thread);
        for (uint32_t i = 0;; i++) {
            tg_stream_emit(&s, TG_EV_MUTEX_ACQ, 0, seq_obj(0, i), 0, tg_tick(w.clock));
            if (i + 1 == published && write(ready[1], "r", 1) != 1)
                _exit(11);
        }
    }
    char c;
    cr_assert_eq(read(ready[0], &c, 1), 1);
    kill(pid, SIGKILL);
    int status;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

    struct ev_list l;
    struct tg_trace *t;
    cr_assert_eq(read_all(path, &l, &t), 0);
    cr_assert_eq(l.end, 0, "a killed writer's trace is whole, not corrupt");
    cr_assert_geq(l.n, published);
    for (uint32_t i = 0; i < l.n; i++)
        cr_assert_eq(l.ev[i].obj, seq_obj(0, i));
    struct tg_trace_summary sum;
    tg_trace_summary(t, &sum);
    cr_assert(!sum.finished);
    cr_assert_eq(sum.processes, 1);
    cr_assert_eq(tg_trace_now(t), l.ev[l.n - 1].ts, "now of a dead trace is its last event");
    tg_trace_close(t);
    ev_list_free(&l);
}

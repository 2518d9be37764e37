/* Processes: fork, exec, every way to end, SIGKILL; and the promise that a
 * traced program behaves as an untraced one (output, status, errno). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run.h"
#include "trace/format.h"

Test(process, fork_traces_parent_and_child)
{
    TRACED_RUN(0, "fork");
    int child_pid = (int)tr_value(&r, "child");
    cr_assert_gt(child_pid, 0);
    long f = tr_find(&e, 0, TG_EV_FORK, ANY_OBJ);
    cr_assert_geq(f, 0);
    cr_expect_eq(e.v[f].process, 0);
    cr_expect_eq(e.v[f].result, TG_OK);
    cr_expect_eq(e.v[f].p0, (uint64_t)child_pid, "FORK names the child's pid");
    uint32_t child = (uint32_t)e.v[f].p1;
    cr_assert_neq(child, 0);
    const struct tg_process_info *cp = tg_trace_process(e.t, child);
    cr_assert_not_null(cp, "the child's process record");
    cr_expect_eq(cp->pid, (uint32_t)child_pid);
    cr_expect_eq(cp->parent, 0);
    cr_expect_not(cp->exec);
    /* the child's thread: started by the forking thread, locked, exited 7 */
    long start = -1;
    for (size_t i = 0; i < e.n && start < 0; i++)
        if (e.v[i].kind == TG_EV_THREAD_START && e.v[i].process == child)
            start = (long)i;
    cr_assert_geq(start, 0);
    cr_expect_eq(e.v[start].thread, cp->first_thread);
    cr_expect_eq(e.v[start].p0 >> 32, e.v[f].thread, "parent thread is the forking one");
    size_t child_locks = 0, parent_locks = 0;
    for (size_t i = 0; i < e.n; i++) {
        if (e.v[i].kind != TG_EV_MUTEX_ACQ)
            continue;
        if (e.v[i].process == child)
            child_locks++;
        else
            parent_locks++;
    }
    cr_expect_eq(child_locks, 1);
    cr_expect_eq(parent_locks, 1);
    long cx = -1, px = -1;
    for (size_t i = 0; i < e.n; i++)
        if (e.v[i].kind == TG_EV_PROCESS_EXIT)
            *(e.v[i].process == child ? &cx : &px) = (long)i;
    cr_assert(cx >= 0 && px >= 0);
    cr_expect_eq(e.v[cx].p0, 7u << 8);
    cr_expect_eq(e.v[px].p0, 0);
    struct tg_trace_summary sum;
    tg_trace_summary(e.t, &sum);
    cr_expect(sum.finished);
    cr_expect_eq(sum.exit_status, 0, "the root's status, not the child's");
    cr_expect_eq(sum.processes, 2);
    TRACED_DONE();
}

Test(process, exec_joins_the_trace_as_a_new_process)
{
    TRACED_RUN(5, "exec");
    const struct tg_process_info *first = tg_trace_process(e.t, 0);
    const struct tg_process_info *second = tg_trace_process(e.t, 1);
    cr_assert_not_null(first);
    cr_assert_not_null(second, "the exec'd image has its own process record");
    cr_expect(second->exec);
    cr_expect_eq(second->pid, first->pid);
    cr_expect_eq(second->parent, 0);
    cr_expect_not_null(strstr(second->cmdline, "exec_target"), "cmdline: %s", second->cmdline);
    long x = tr_find(&e, 0, TG_EV_PROCESS_EXIT, ANY_OBJ);
    cr_assert_geq(x, 0);
    cr_expect_eq(e.v[x].process, 0);
    cr_expect_eq(e.v[x].p1, TG_EXIT_EXEC);
    size_t locks[2] = { 0, 0 };
    for (size_t i = 0; i < e.n; i++)
        if (e.v[i].kind == TG_EV_MUTEX_ACQ && e.v[i].process < 2)
            locks[e.v[i].process]++;
    cr_expect_eq(locks[0], 1);
    cr_expect_eq(locks[1], 1);
    struct tg_trace_summary sum;
    tg_trace_summary(e.t, &sum);
    cr_expect(sum.finished);
    cr_expect_eq(sum.exit_status, 5 << 8);
    TRACED_DONE();
}

/* A second, unrelated run with the same TANGLE_TRACE replaces the first
 * one's trace (no process of it is alive, this one's or its parent); an
 * exec'd image within the run still joins. */
Test(process, rerun_replaces_an_earlier_trace)
{
    TRACED_RUN(5, "exec");
    tr_events_free(&e);
    tr_run_free(&r);
    cr_assert_eq(tr_run(trace, argv_, NULL, &r), 0);
    cr_assert(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 5, "stderr: %s", r.err);
    cr_assert_eq(tr_load(trace, &e), 0, "trace opens");
    struct tg_trace_summary sum;
    tg_trace_summary(e.t, &sum);
    cr_expect_eq(sum.processes, 2, "the second run and its exec'd image only");
    const struct tg_process_info *second = tg_trace_process(e.t, 1);
    cr_assert_not_null(second);
    cr_expect(second->exec);
    cr_expect_eq(second->parent, 0);
    TRACED_DONE();
}

struct exit_case {
    char how[16];       /* not a pointer: parameters are copied to the test's process */
    int code;
    int want;           /* exit status */
    unsigned kind;      /* enum tg_exit_how */
};

ParameterizedTestParameters(process, exit_status_is_kept)
{
    static struct exit_case cases[] = {
        { "return", 42, 42, TG_EXIT_NORMAL },
        { "exit", 43, 43, TG_EXIT_NORMAL },
        { "_exit", 44, 44, TG_EXIT_UNDERSCORE },
        { "_Exit", 45, 45, TG_EXIT_UNDERSCORE },
        { "pthread_exit", 46, 0, TG_EXIT_NORMAL },
    };
    return cr_make_param_array(struct exit_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct exit_case *c, process, exit_status_is_kept)
{
    char code[16];
    snprintf(code, sizeof code, "%d", c->code);
    TRACED_RUN(c->want, "exit", c->how, code);
    long x = tr_find(&e, 0, TG_EV_PROCESS_EXIT, ANY_OBJ);
    cr_assert_geq(x, 0, "PROCESS_EXIT after %s", c->how);
    cr_expect_eq(e.v[x].p0, (uint64_t)c->want << 8);
    cr_expect_eq(e.v[x].p1, c->kind);
    cr_expect_eq(tr_count(&e, TG_EV_PROCESS_EXIT, ANY_OBJ), 1);
    struct tg_trace_summary sum;
    tg_trace_summary(e.t, &sum);
    cr_expect(sum.finished);
    cr_expect_eq(sum.exit_status, c->want << 8);
    TRACED_DONE();
}

/* The process ends when its last thread does, though tangle's helper
 * thread was running: PROCESS_EXIT comes from that last thread. */
Test(process, last_thread_ends_the_process, .timeout = 60)
{
    TRACED_RUN(0, "main_exits_first", "200000");
    const struct tg_process_info *p = tg_trace_process(e.t, 0);
    cr_assert_not_null(p);
    long x = tr_find(&e, 0, TG_EV_PROCESS_EXIT, ANY_OBJ);
    cr_assert_geq(x, 0);
    cr_expect_neq(e.v[x].thread, p->first_thread, "written by the worker");
    cr_expect_eq(e.v[x].p0, 0);
    cr_expect_eq(tr_count(&e, TG_EV_MUTEX_ACQ, ANY_OBJ), 200000);
    cr_expect_eq(tr_count(&e, TG_EV_THREAD_EXIT, ANY_OBJ), 2);
    cr_expect_eq(x, (long)e.n - 1);
    TRACED_DONE();
}

/* Modules looked at again after main() left through pthread_exit (the
 * worker loads one) still name the program: a module record with an empty
 * path over the program's range, newer than the right one, used to leave
 * every frame of the program without a name. */
Test(process, module_map_names_the_program_after_main_exits)
{
    TRACED_RUN(0, "main_exits_then_loads");
    uint64_t fn = tr_value(&r, "program_fn");
    cr_assert_neq(fn, 0, "stdout: %s", r.out);
    char program[PATH_MAX];
    cr_assert_not_null(realpath(TRACEE, program));
    const struct tg_module_info *mods;
    size_t n = tg_trace_modules(e.t, 0, &mods);
    size_t covering = 0;
    bool libm = false;
    for (size_t i = 0; i < n; i++) {
        cr_expect_neq(mods[i].path[0], '\0', "module %zu at 0x%" PRIx64 " has no path",
                      i, mods[i].base);
        if (fn >= mods[i].lo && fn < mods[i].hi) {
            covering++;
            cr_expect_str_eq(mods[i].path, program, "module %zu over the program", i);
        }
        libm |= strstr(mods[i].path, "/libm.so") != NULL;
    }
    cr_expect_eq(covering, 1, "one module over the program's code");
    cr_expect(libm, "the library loaded after main left is in the map");
    cr_expect_eq(tr_count(&e, TG_EV_THREAD_EXIT, ANY_OBJ), 2);
    TRACED_DONE();
}

/* A vfork child shares the parent's memory: its _exit must not end the
 * parent's trace. */
Test(process, vfork_child_leaves_the_parent_alone)
{
    TRACED_RUN(0, "vfork");
    cr_expect_eq(tr_count(&e, TG_EV_PROCESS_EXIT, ANY_OBJ), 1);
    long x = tr_find(&e, 0, TG_EV_PROCESS_EXIT, ANY_OBJ);
    cr_assert_geq(x, 0);
    cr_expect_eq(e.v[x].p0, 0);
    cr_expect_eq(tr_count(&e, TG_EV_MUTEX_ACQ, ANY_OBJ), 2);
    cr_expect_eq(x, (long)e.n - 1, "nothing after the end");
    TRACED_DONE();
}

Test(process, sigkill_leaves_a_readable_trace)
{
    char *trace = tr_trace_path("k.trace");
    const char *argv[] = { "kill", "50000", NULL };
    int out;
    pid_t pid = tr_spawn(trace, argv, &out);
    cr_assert_gt(pid, 0);
    char buf[16] = "";
    cr_assert_eq(read(out, buf, 6), 6);
    cr_assert_str_eq(buf, "ready\n");
    kill(pid, SIGKILL);
    int st;
    cr_assert_eq(waitpid(pid, &st, 0), pid);
    cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    close(out);
    struct events e;
    cr_assert_eq(tr_load(trace, &e), 0);
    cr_expect_eq(e.end, 0, "no corruption");
    cr_expect_eq(tr_count(&e, TG_EV_MUTEX_ACQ, ANY_OBJ), 50000, "every event before the kill");
    cr_expect_eq(tr_count(&e, TG_EV_MUTEX_REL, ANY_OBJ), 50000);
    cr_expect_eq(tr_count(&e, TG_EV_PROCESS_EXIT, ANY_OBJ), 0);
    struct tg_trace_summary sum;
    tg_trace_summary(e.t, &sum);
    cr_expect_not(sum.finished);
    cr_expect_eq(sum.lost, 0);
    tr_events_free(&e);
    tr_remove(trace);
}

Test(process, output_and_status_are_the_programs_own)
{
    const char *argv[] = { "stdout", NULL };
    struct run plain, traced;
    char *trace = tr_trace_path("o.trace");
    cr_assert_eq(tr_run(NULL, argv, NULL, &plain), 0);
    cr_assert_eq(tr_run(trace, argv, NULL, &traced), 0);
    cr_assert_gt(plain.out_len, 1000);
    cr_expect_eq(traced.out_len, plain.out_len);
    cr_expect_str_eq(traced.out, plain.out, "stdout byte for byte");
    cr_expect_str_eq(traced.err, plain.err, "stderr too");
    cr_expect_eq(traced.status, plain.status);
    cr_expect(WIFEXITED(traced.status) && WEXITSTATUS(traced.status) == 3);
    cr_expect_eq(access(trace, F_OK), 0, "and a trace was written");
    tr_run_free(&plain);
    tr_run_free(&traced);
    tr_remove(trace);
}

Test(process, errno_is_preserved_by_every_hook)
{
    /* 2 threads x 20,000 rounds of 13 calls from 40 call stacks: chunks
     * are claimed and stacks captured along the way */
    TRACED_RUN(0, "errno");
    cr_expect_eq(tr_value(&r, "errno changes"), 0, "stderr: %s", r.err);
    cr_expect_eq(tr_count(&e, TG_EV_MUTEX_ACQ, ANY_OBJ), 40000);
    cr_expect_gt(tr_count(&e, TG_EV_SEM_ACQ, ANY_OBJ), 0);
    TRACED_DONE();
}

/* The prefault helper grows the file a window (8 MiB and more) past the
 * chunks in use; the root's finish must still trim it to its last chunk,
 * so the helper has to be gone (or unable to grow it) by then. */
Test(process, finished_trace_is_trimmed_to_its_chunks)
{
    /* 600,000 records no dictionary repeats, 9.6 MiB: the helper starts
     * and grows the file */
    TRACED_RUN(0, "many_locks", "300000");
    int fd = open(trace, O_RDONLY);
    cr_assert_geq(fd, 0);
    struct tg_file_header hdr;
    struct stat st;
    cr_assert_eq(pread(fd, &hdr, sizeof hdr, 0), (ssize_t)sizeof hdr);
    cr_assert_eq(fstat(fd, &st), 0);
    close(fd);
    cr_expect(hdr.finished, "the root finished the trace");
    cr_expect_gt(hdr.chunks_used, 64u, "enough chunks for the helper to run");
    uint64_t want = TG_HEADER_SIZE + (uint64_t)hdr.chunks_used * TG_CHUNK_SIZE;
    cr_expect_eq((uint64_t)st.st_size, want, "file %lld bytes, chunks end at %llu",
                 (long long)st.st_size, (unsigned long long)want);
    cr_expect_eq(hdr.file_size, want, "the header says so too");
    TRACED_DONE();
}

/* When the trace cannot be written the program runs untouched; with
 * TANGLE_VERBOSE one line says why. */
Test(process, unopenable_trace_passes_through)
{
    const char *argv[] = { "stdout", NULL };
    const char *trace = "/nonexistent-dir/t.trace";
    struct run plain, quiet, verbose;
    const char *env[] = { "TANGLE_VERBOSE=1", NULL };
    cr_assert_eq(tr_run(NULL, argv, NULL, &plain), 0);
    cr_assert_eq(tr_run(trace, argv, NULL, &quiet), 0);
    cr_assert_eq(tr_run(trace, argv, env, &verbose), 0);
    cr_expect_str_eq(quiet.out, plain.out);
    cr_expect_str_eq(quiet.err, plain.err, "nothing said without TANGLE_VERBOSE");
    cr_expect_eq(quiet.status, plain.status);
    cr_expect_str_eq(verbose.out, plain.out);
    cr_expect_eq(verbose.status, plain.status);
    cr_expect_eq(strncmp(verbose.err, "tangle: ", 8), 0, "stderr: %s", verbose.err);
    const char *nl = strchr(verbose.err, '\n');
    cr_assert_not_null(nl);
    cr_expect_str_eq(nl + 1, plain.err, "exactly one line of its own");
    tr_run_free(&plain);
    tr_run_free(&quiet);
    tr_run_free(&verbose);
}

/* A normal traced run with TANGLE_VERBOSE: nothing failed, nothing said. */
Test(process, verbose_is_silent_when_all_is_well)
{
    const char *argv[] = { "threads", NULL };
    const char *env[] = { "TANGLE_VERBOSE=1", NULL };
    char *trace = tr_trace_path("v.trace");
    struct run r;
    cr_assert_eq(tr_run(trace, argv, env, &r), 0);
    cr_expect(WIFEXITED(r.status) && WEXITSTATUS(r.status) == 0);
    cr_expect_str_eq(r.err, "");
    tr_run_free(&r);
    tr_remove(trace);
}

Test(process, signal_handlers_inside_hooks_corrupt_nothing, .timeout = 60)
{
    TRACED_RUN(0, "signals", "300000");
    int posts = (int)tr_value(&r, "posts");
    cr_expect_gt(posts, 0, "the timer fired");
    cr_expect_eq(tr_count(&e, TG_EV_MUTEX_ACQ, ANY_OBJ), 300000, "no event of the thread lost");
    cr_expect_eq(tr_count(&e, TG_EV_MUTEX_REL, ANY_OBJ), 300000);
    /* a post that interrupted a hook passes through unrecorded; the rest
     * are in the trace */
    size_t recorded = tr_count(&e, TG_EV_SEM_POST, ANY_OBJ);
    cr_expect_leq(recorded, (size_t)posts);
    cr_expect_gt(recorded, 0);
    TRACED_DONE();
}

Test(process, fork_while_threads_write, .timeout = 60)
{
    TRACED_RUN(0, "fork_storm", "20");
    struct tg_trace_summary sum;
    tg_trace_summary(e.t, &sum);
    cr_expect_eq(sum.processes, 21);
    size_t exits = 0, forks = 0;
    for (size_t i = 0; i < e.n; i++) {
        if (e.v[i].kind == TG_EV_PROCESS_EXIT && e.v[i].process != 0) {
            cr_expect_eq(e.v[i].p0, 0);
            exits++;
        }
        if (e.v[i].kind == TG_EV_FORK) {
            const struct tg_process_info *c = tg_trace_process(e.t, (uint32_t)e.v[i].p1);
            cr_assert_not_null(c, "FORK names a recorded process");
            cr_expect_eq(c->pid, (uint32_t)e.v[i].p0);
            forks++;
        }
    }
    cr_expect_eq(forks, 20);
    cr_expect_eq(exits, 20, "every child ended and said so");
    TRACED_DONE();
}

/* A failed exec returns and the image goes on: each PROCESS_EXIT (exec)
 * written before the call is voided by an EXEC_FAIL with the errno right
 * after it, and the process ends once, at its real exit. */
Test(process, failed_exec_does_not_end_the_process)
{
    TRACED_RUN(0, "exec_fail");
    struct tg_trace_summary sum;
    tg_trace_summary(e.t, &sum);
    cr_expect(sum.features & TG_FEAT_EXEC_FAIL);
    cr_expect_eq(sum.processes, 2, "the fork child; no exec'd image");
    size_t voided = 0, ends = 0;
    long last = -1;
    for (size_t i = 0; i < e.n; i++) {
        const struct tg_ev *x = &e.v[i];
        if (x->process != 0)
            continue;
        if (x->kind == TG_EV_EXEC_FAIL) {
            cr_expect_eq(x->p0, ENOENT);
            long pe = -1;
            for (size_t k = 0; k < i; k++)
                if (e.v[k].thread == x->thread)
                    pe = (long)k;
            cr_assert_geq(pe, 0);
            cr_expect_eq(e.v[pe].kind, TG_EV_PROCESS_EXIT, "the thread's record before it");
            cr_expect_eq(e.v[pe].p1, TG_EXIT_EXEC);
            voided++;
        }
        if (x->kind == TG_EV_PROCESS_EXIT && x->p1 != TG_EXIT_EXEC) {
            ends++;
            last = (long)i;
        }
    }
    cr_expect_eq(voided, 2);
    cr_expect_eq(ends, 1);
    cr_assert_geq(last, 0);
    cr_expect_eq(tr_count(&e, TG_EV_FORK, ANY_OBJ), 1);
    const struct tg_process_info *p = tg_trace_process(e.t, 0);
    cr_assert_not_null(p);
    cr_expect(p->exited);
    cr_expect_eq(p->exit_status, 0);
    const struct tg_thread_info *main_t = tg_trace_thread(e.t, p->first_thread);
    cr_assert_not_null(main_t);
    cr_expect_eq(main_t->end_ts, e.v[last].ts, "main lives to the real exit");
    TRACED_DONE();
}

/* --json FILE: the findings for programs (docs/report-formats.md).
 *
 * Deterministic: everything comes from the trace and the findings, never
 * from the reporting process (no times of day, no paths of the report, no
 * pointer values) and no event times either (a live reader converts clock
 * ticks with the calibration it has so far, so times differ by some
 * microseconds from a later reading), in a fixed order, so `tangle report
 * TRACE --json` writes the same bytes the live run wrote. Thread ids are the trace's thread
 * indexes; stacks are numbered in the order the finding first uses them. */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <sys/wait.h>

#include "cli/report_int.h"
#include "tangle_config.h"

/* ---- the writer */

static void rj_sep(struct rp_json *j)
{
    if (j->after_key) {
        j->after_key = false;
        return;
    }
    if (j->depth == 0)
        return;
    if (!j->first[j->depth])
        fputc(',', j->f);
    j->first[j->depth] = false;
    fprintf(j->f, "\n%*s", 2 * j->depth, "");
}

static void rj_open(struct rp_json *j, char c)
{
    rj_sep(j);
    fputc(c, j->f);
    if (j->depth < (int)(sizeof j->first / sizeof j->first[0]) - 1)
        j->depth++;
    j->first[j->depth] = true;
}

static void rj_close(struct rp_json *j, char c)
{
    bool empty = j->first[j->depth];
    j->depth--;
    if (!empty)
        fprintf(j->f, "\n%*s", 2 * j->depth, "");
    fputc(c, j->f);
    if (j->depth == 0)
        fputc('\n', j->f);
}

void rj_begin_obj(struct rp_json *j) { rj_open(j, '{'); }
void rj_end_obj(struct rp_json *j) { rj_close(j, '}'); }
void rj_begin_arr(struct rp_json *j) { rj_open(j, '['); }
void rj_end_arr(struct rp_json *j) { rj_close(j, ']'); }

/* Length of the valid UTF-8 sequence at S, 0 if it is not one. */
static size_t utf8_len(const unsigned char *s)
{
    size_t n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 ? 2 : 0;
    for (size_t i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return s[0] >= 0xf8 ? 0 : n;
}

static void rj_raw_str(struct rp_json *j, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    fputc('"', j->f);
    while (*s) {
        if (*s == '"' || *s == '\\') {
            fputc('\\', j->f);
            fputc(*s++, j->f);
        } else if (*s == '\n') {
            fputs("\\n", j->f);
            s++;
        } else if (*s == '\t') {
            fputs("\\t", j->f);
            s++;
        } else if (*s < 0x20 || *s == 0x7f) {
            fprintf(j->f, "\\u%04x", *s++);
        } else if (*s < 0x80) {
            fputc(*s++, j->f);
        } else {
            size_t n = utf8_len(s);
            if (n) {
                fwrite(s, 1, n, j->f);
                s += n;
            } else {
                fputs("\\ufffd", j->f);   /* not UTF-8: JSON text must be */
                s++;
            }
        }
    }
    fputc('"', j->f);
}

void rj_key(struct rp_json *j, const char *key)
{
    rj_sep(j);
    rj_raw_str(j, key);
    fputs(": ", j->f);
    j->after_key = true;
}

void rj_str(struct rp_json *j, const char *s)
{
    rj_sep(j);
    if (s)
        rj_raw_str(j, s);
    else
        fputs("null", j->f);
}

void rj_int(struct rp_json *j, long long v)
{
    rj_sep(j);
    fprintf(j->f, "%lld", v);
}

void rj_null(struct rp_json *j)
{
    rj_sep(j);
    fputs("null", j->f);
}

void rj_bool(struct rp_json *j, bool v)
{
    rj_sep(j);
    fputs(v ? "true" : "false", j->f);
}

void rj_kstr(struct rp_json *j, const char *key, const char *s) { rj_key(j, key); rj_str(j, s); }
void rj_kint(struct rp_json *j, const char *key, long long v) { rj_key(j, key); rj_int(j, v); }

static void rj_khex(struct rp_json *j, const char *key, uint64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "0x%" PRIx64, v);
    rj_kstr(j, key, buf);
}

/* ---- one finding */

/* Stack ids in first-use order: their index in the finding's "stacks". */
struct stack_ids {
    uint32_t id[256];
    size_t n;
};

static long stack_index(struct stack_ids *s, uint32_t id)
{
    if (!id)
        return -1;
    for (size_t i = 0; i < s->n; i++)
        if (s->id[i] == id)
            return (long)i;
    if (s->n == sizeof s->id / sizeof s->id[0])
        return -1;
    s->id[s->n] = id;
    return (long)s->n++;
}

static void rj_kstack(struct rp_json *j, const char *key, struct stack_ids *s, uint32_t id)
{
    long i = stack_index(s, id);
    rj_key(j, key);
    if (i < 0)
        rj_null(j);
    else
        rj_int(j, i);
}

static const char *mode_name(uint8_t mode)
{
    static const char *const names[] = { NULL, "exclusive", "read", "write" };
    return mode < 4 ? names[mode] : NULL;
}

static const char *role_name(uint8_t role)
{
    static const char *const names[] = { "edge", "waits", "signal", "call", "owner", "access" };
    return role < 6 ? names[role] : "other";
}

static const char *wait_name(uint8_t wait)
{
    static const char *const names[] = { NULL, "lock", "condition", "semaphore", "barrier",
                                         "join", "sleep" };
    return wait < 7 ? names[wait] : NULL;
}

static const char *mtype_name(uint8_t t)
{
    static const char *const names[] = { "normal", "recursive", "errorcheck", "adaptive" };
    return t < 4 ? names[t] : NULL;
}

static void write_site(struct tg_report *r, struct rp_json *j, const char *key,
                       uint32_t process, uint32_t stack)
{
    char site[512];
    if (stack)
        rj_kstr(j, key, rp_site(r, process, stack, site, sizeof site));
    else
        rj_kstr(j, key, NULL);
}

static void write_threads(struct tg_report *r, struct rp_json *j, const struct tg_finding *f,
                          struct stack_ids *ids)
{
    rj_key(j, "threads");
    rj_begin_arr(j);
    for (uint32_t i = 0; i < f->nthreads; i++) {
        const struct tg_thread_info *ti = tg_trace_thread(r->trace, f->threads[i]);
        rj_begin_obj(j);
        rj_kint(j, "id", f->threads[i]);
        rj_kstr(j, "name", rp_thread_name(r, f->threads[i]));
        rj_key(j, "tid");
        if (ti)
            rj_int(j, ti->os_tid);
        else
            rj_null(j);
        write_site(r, j, "created_at", f->process, ti ? ti->create_stack : 0);
        rj_key(j, "created_by");
        if (ti && ti->parent != TG_NO_THREAD)
            rj_int(j, ti->parent);
        else
            rj_null(j);
        rj_kstack(j, "created_stack", ids, ti ? ti->create_stack : 0);
        rj_end_obj(j);
    }
    rj_end_arr(j);
}

static void write_locks(struct tg_report *r, struct rp_json *j, const struct tg_finding *f,
                        struct stack_ids *ids)
{
    char name[512];

    rj_key(j, "locks");
    rj_begin_arr(j);
    for (uint32_t i = 0; i < f->nobjs; i++) {
        const struct tg_obj_ref *o = &f->objs[i];
        rj_begin_obj(j);
        rj_kstr(j, "name", rp_obj_name(r, f, i, name, sizeof name));
        rj_khex(j, "address", o->addr);
        rj_kstr(j, "kind", tg_obj_kind_name(o->kind));
        if (o->kind == TG_OBJ_MUTEX)
            rj_kstr(j, "type", mtype_name(o->mtype));
        rj_key(j, "variable");
        rj_str(j, o->kind != TG_OBJ_THREAD && o->kind != TG_OBJ_MEMORY &&
                  rp_obj_global(r, o, name, sizeof name) ? name : NULL);
        write_site(r, j, "site", o->process, o->site_stack);
        rj_kstr(j, "site_is", !o->site_stack ? NULL : o->site_is_init ? "init" : "first-use");
        rj_kstack(j, "site_stack", ids, o->site_stack);
        rj_kint(j, "generation", o->generation);
        rj_key(j, "process_shared");
        rj_bool(j, o->pshared);
        rj_end_obj(j);
    }
    rj_end_arr(j);
}

static void rj_kobj(struct rp_json *j, const char *key, uint32_t obj)
{
    rj_key(j, key);
    if (obj == TG_NO_OBJ)
        rj_null(j);
    else
        rj_int(j, obj);
}

static void write_steps(struct rp_json *j, const struct tg_finding *f, struct stack_ids *ids)
{
    rj_key(j, "steps");
    rj_begin_arr(j);
    for (uint32_t i = 0; i < f->nsteps; i++) {
        const struct tg_step *s = &f->steps[i];
        rj_begin_obj(j);
        rj_kstr(j, "role", role_name(s->role));
        rj_key(j, "thread");
        if (s->thread == TG_NO_THREAD)
            rj_null(j);
        else
            rj_int(j, s->thread);
        rj_kstr(j, "call", s->event ? rp_call_name(s->event) : NULL);
        if (s->wait)
            rj_kstr(j, "wait", wait_name(s->wait));
        rj_kobj(j, "lock", s->obj);
        if (s->mode)
            rj_kstr(j, "mode", mode_name(s->mode));
        if (s->role == TG_ROLE_CALL)
            rj_kstr(j, "result", tg_result_name(s->result));
        if (s->other_thread != TG_NO_THREAD)
            rj_kint(j, "other_thread", s->other_thread);
        rj_kstack(j, "stack", ids, s->stack);
        if (s->held.obj != TG_NO_OBJ) {
            rj_key(j, "holding");
            rj_begin_obj(j);
            rj_kint(j, "lock", s->held.obj);
            rj_kstr(j, "mode", mode_name(s->held.mode));
            rj_kstack(j, "stack", ids, s->held.stack);
            rj_end_obj(j);
        }
        rj_key(j, "also_holding");
        rj_begin_arr(j);
        for (uint32_t k = 0; k < s->nothers; k++) {
            rj_begin_obj(j);
            rj_kint(j, "lock", s->others[k].obj);
            rj_kstr(j, "mode", mode_name(s->others[k].mode));
            rj_kstack(j, "stack", ids, s->others[k].stack);
            rj_end_obj(j);
        }
        rj_end_arr(j);
        if (s->role == TG_ROLE_ACCESS) {
            rj_key(j, "access");
            rj_begin_obj(j);
            rj_khex(j, "address", s->addr);
            rj_kint(j, "size", s->size);
            rj_key(j, "write");
            rj_bool(j, s->access & 1);
            rj_key(j, "atomic");
            rj_bool(j, s->access & 2);
            rj_khex(j, "pc", s->pc);
            rj_end_obj(j);
        }
        rj_end_obj(j);
    }
    rj_end_arr(j);
}

static void write_stacks(struct tg_report *r, struct rp_json *j, uint32_t process,
                         const struct stack_ids *ids)
{
    struct tg_frame fr[RP_MAX_FRAMES];

    rj_key(j, "stacks");
    rj_begin_arr(j);
    for (size_t i = 0; i < ids->n; i++) {
        size_t n = rp_frames(r, process, ids->id[i], fr, RP_MAX_FRAMES);
        rj_begin_arr(j);
        for (size_t k = 0; k < n; k++) {
            rj_begin_obj(j);
            rj_kstr(j, "function", fr[k].function);
            rj_kstr(j, "file", fr[k].file);
            rj_key(j, "line");
            if (fr[k].line > 0)
                rj_int(j, fr[k].line);
            else
                rj_null(j);
            rj_kstr(j, "module", fr[k].module);
            rj_khex(j, "pc", fr[k].pc);
            if (fr[k].inlined_into)
                rj_kstr(j, "inlined_into", fr[k].inlined_into);
            rj_end_obj(j);
        }
        rj_end_arr(j);
    }
    rj_end_arr(j);
}

static void write_finding(struct tg_report *r, struct rp_json *j, const struct tg_finding *f)
{
    struct stack_ids ids = { .n = 0 };
    char buf[4096];

    /* stacks are numbered in the order steps, threads, then locks use them */
    for (uint32_t i = 0; i < f->nsteps; i++) {
        stack_index(&ids, f->steps[i].stack);
        stack_index(&ids, f->steps[i].held.stack);
        for (uint32_t k = 0; k < f->steps[i].nothers; k++)
            stack_index(&ids, f->steps[i].others[k].stack);
    }
    rj_begin_obj(j);
    rj_kstr(j, "kind", tg_finding_kind_name(f->kind));
    const char *sub = tg_finding_sub_name(f->kind, f->sub);
    rj_kstr(j, "sub_kind", sub && *sub ? sub : NULL);
    rj_kstr(j, "summary", rp_summary(r, f, buf, sizeof buf));
    rj_kstr(j, "cycle", rp_cycle(r, f, buf, sizeof buf)[0] ? buf : NULL);
    rj_kstr(j, "fix", rp_fix(r, f, buf, sizeof buf)[0] ? buf : NULL);
    const struct tg_process_info *pi = tg_trace_process(r->trace, f->process);
    rj_key(j, "process");
    rj_begin_obj(j);
    rj_kint(j, "index", f->process);
    rj_key(j, "pid");
    if (pi)
        rj_int(j, pi->pid);
    else
        rj_null(j);
    rj_end_obj(j);
    rj_kint(j, "count", f->count);
    rj_khex(j, "key", f->key);
    write_threads(r, j, f, &ids);
    write_locks(r, j, f, &ids);
    write_steps(j, f, &ids);
    if (f->kind == TG_FIND_RACE) {
        rj_key(j, "memory");
        rj_begin_obj(j);
        rj_kstr(j, "name", rp_mem_name(r, f, buf, sizeof buf));
        rj_khex(j, "address", f->mem.addr);
        rj_kint(j, "size", f->mem.size);
        rj_key(j, "heap");
        rj_bool(j, f->mem.heap);
        if (f->mem.heap) {
            rj_khex(j, "block", f->mem.heap_block);
            rj_kint(j, "block_size", (long long)f->mem.heap_size);
            rj_kstack(j, "allocated_stack", &ids, f->mem.heap_stack);
        }
        rj_end_obj(j);
    }
    write_stacks(r, j, f->process, &ids);
    rj_end_obj(j);
}

int rp_json_write(struct tg_report *r, const struct tg_finding *const *fs, size_t n, FILE *out)
{
    struct rp_json j = { .f = out };
    struct tg_trace_summary sum;
    const struct tg_process_info *root = tg_trace_process(r->trace, 0);
    unsigned suppressed = 0;

    for (unsigned k = 0; k < TG_FIND_KIND_COUNT; k++)
        suppressed += r->suppressed[k];
    tg_trace_summary(r->trace, &sum);
    rj_begin_obj(&j);
    rj_kstr(&j, "tangle_version", TANGLE_VERSION);
    rj_kstr(&j, "program", sum.program);
    rj_kstr(&j, "command", root ? root->cmdline : NULL);
    /* how PROGRAM ended, as its trace records it (null: it could not say,
     * e.g. it was killed) */
    rj_key(&j, "exit_status");
    if (!sum.finished)
        rj_null(&j);
    else if (WIFSIGNALED(sum.exit_status))
        rj_int(&j, 128 + WTERMSIG(sum.exit_status));
    else
        rj_int(&j, WEXITSTATUS(sum.exit_status));
    rj_kint(&j, "suppressed", suppressed);
    rj_key(&j, "findings");
    rj_begin_arr(&j);
    for (size_t i = 0; i < n; i++)
        write_finding(r, &j, fs[i]);
    rj_end_arr(&j);
    rj_end_obj(&j);
    return ferror(out) ? -EIO : 0;
}

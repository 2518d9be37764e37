/* Names and sentences every renderer shares, so the text, the JSON and the
 * SARIF say the same thing in the same words: objects by their variable or
 * their init site, frames as `func file:line`, one-line summaries, the
 * banner of each kind and the fix a finding usually needs. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/report_int.h"

/* ---- a bounded string builder */

struct sb {
    char *buf;
    size_t len, cap;
};

static void sb_add(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(struct sb *b, const char *fmt, ...)
{
    if (b->len + 1 >= b->cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        b->len = b->len + (size_t)n < b->cap ? b->len + (size_t)n : b->cap - 1;
}

/* ---- frames */

size_t rp_frames(struct tg_report *r, uint32_t process, uint32_t stack,
                 struct tg_frame *out, size_t max)
{
    const uint64_t *pcs;
    uint32_t npcs;
    size_t n = 0;

    if (!stack || !tg_trace_stack(r->trace, stack, &pcs, &npcs))
        return 0;
    for (uint32_t i = 0; i < npcs && n < max; i++) {
        size_t got = r->syms ? tg_symbols_frames(r->syms, process, pcs[i], out + n, max - n) : 0;
        if (got == 0) {
            out[n++] = (struct tg_frame){ .pc = pcs[i] };
            continue;
        }
        /* the tracer's own frames (its thread trampoline) are not the
         * program's: TSan hides its runtime the same way */
        const char *mod = out[n].module ? strrchr(out[n].module, '/') : NULL;
        mod = mod ? mod + 1 : out[n].module;
        if (mod && strncmp(mod, "libtangle.", 10) == 0)
            continue;
        n += got < max - n ? got : max - n;
    }
    return n;
}

bool rp_site_frame(struct tg_report *r, uint32_t process, uint32_t stack, struct tg_frame *out)
{
    struct tg_frame fr[RP_MAX_FRAMES];
    size_t n = rp_frames(r, process, stack, fr, RP_MAX_FRAMES);

    for (size_t i = 0; i < n; i++) {
        if (fr[i].file && fr[i].line > 0) {
            *out = fr[i];
            return true;
        }
    }
    if (n)
        *out = fr[0];
    return n > 0;
}

const char *rp_site(struct tg_report *r, uint32_t process, uint32_t stack, char *buf, size_t len)
{
    struct tg_frame f;

    if (!rp_site_frame(r, process, stack, &f))
        snprintf(buf, len, "an unknown place");
    else if (f.function && f.file && f.line > 0)
        snprintf(buf, len, "%s %s:%d", f.function, f.file, f.line);
    else
        tg_symbols_format_frame(&f, buf, len);
    return buf;
}

const char *rp_step_site(struct tg_report *r, const struct tg_finding *f,
                         const struct tg_step *s, char *buf, size_t len)
{
    struct tg_frame fr;

    /* a watched access has its exact pc and maybe no stack */
    if (!s->stack && s->pc && r->syms && tg_symbols_pc(r->syms, f->process, s->pc, &fr)) {
        if (fr.function && fr.file && fr.line > 0)
            snprintf(buf, len, "%s %s:%d", fr.function, fr.file, fr.line);
        else
            tg_symbols_format_frame(&fr, buf, len);
        return buf;
    }
    return rp_site(r, f->process, s->stack, buf, len);
}

/* ---- objects and threads */

const char *rp_obj_kind(const struct tg_obj_ref *o)
{
    switch (o->kind) {
    case TG_OBJ_MUTEX:
        return o->mtype == TG_MUTEX_RECURSIVE ? "recursive mutex" : "mutex";
    case TG_OBJ_COND: return "condition variable";
    default: return tg_obj_kind_name(o->kind);
    }
}

const char *rp_thread_name(struct tg_report *r, uint32_t thread)
{
    static char buf[32];

    if (thread == TG_NO_THREAD)
        return "an unknown thread";
    if (!r->names) {
        snprintf(buf, sizeof buf, "T%" PRIu32, thread);
        return buf;
    }
    return tg_names_thread(r->names, thread);
}

bool rp_obj_global(struct tg_report *r, const struct tg_obj_ref *o, char *buf, size_t len)
{
    return r->syms && tg_symbols_data(r->syms, o->process, o->addr, buf, len, NULL, 0);
}

const char *rp_mem_name(struct tg_report *r, const struct tg_finding *f, char *buf, size_t len)
{
    const struct tg_finding_mem *m = &f->mem;
    char site[512];

    if (m->heap) {
        snprintf(buf, len, "heap block of %" PRIu64 " bytes (offset %" PRIu64 ") allocated at %s",
                 m->heap_size, m->addr - m->heap_block,
                 rp_site(r, f->process, m->heap_stack, site, sizeof site));
        return buf;
    }
    if (r->syms && tg_symbols_data(r->syms, f->process, m->addr, buf, len, NULL, 0))
        return buf;
    snprintf(buf, len, "0x%" PRIx64, m->addr);
    return buf;
}

/* Whether another object of F is called NAME too: two heap locks made by the
 * same code ("mutex initialised at open_account bank.c:7"), as in the
 * classic transfer(from, to) inversion. Globals never are. */
static bool named_alike(struct tg_report *r, const struct tg_finding *f, uint32_t obj,
                        const char *name)
{
    const struct tg_obj_ref *o = &f->objs[obj];
    char other[512];

    if (o->kind == TG_OBJ_THREAD || o->kind == TG_OBJ_MEMORY ||
        rp_obj_global(r, o, other, sizeof other))
        return false;
    for (uint32_t i = 0; i < f->nobjs; i++) {
        const struct tg_obj_ref *p = &f->objs[i];
        if (i == obj || p->kind != o->kind || p->mtype != o->mtype ||
            (p->addr == o->addr && p->process == o->process))
            continue;
        tg_symbols_object_name(r->syms, p->process, p->addr, rp_obj_kind(p),
                               p->site_stack, !p->site_is_init, other, sizeof other);
        if (strcmp(other, name) == 0)
            return true;
    }
    return false;
}

/* "mutex initialised at f a.c:7" -> "mutex 0x55d0c0a2b2a0 initialised at
 * f a.c:7": the address after the kind, where a debugger user looks. */
static void with_address(const struct tg_obj_ref *o, char *buf, size_t len)
{
    const char *kind = rp_obj_kind(o);
    size_t k = strlen(kind);
    char rest[512];

    if (strncmp(buf, kind, k) != 0 || buf[k] != ' ')
        k = strlen(buf);
    snprintf(rest, sizeof rest, "%s", buf + k);
    snprintf(buf + k, len - k, " 0x%" PRIx64 "%s", o->addr, rest);
}

const char *rp_obj_name(struct tg_report *r, const struct tg_finding *f, uint32_t obj,
                        char *buf, size_t len)
{
    if (obj >= f->nobjs) {
        snprintf(buf, len, "?");
        return buf;
    }
    const struct tg_obj_ref *o = &f->objs[obj];
    if (o->kind == TG_OBJ_THREAD) {
        /* a join target: the step that waits for it names the thread */
        for (uint32_t i = 0; i < f->nsteps; i++)
            if (f->steps[i].obj == obj && f->steps[i].other_thread != TG_NO_THREAD) {
                snprintf(buf, len, "thread %s", rp_thread_name(r, f->steps[i].other_thread));
                return buf;
            }
        snprintf(buf, len, "thread 0x%" PRIx64, o->addr);
        return buf;
    }
    if (o->kind == TG_OBJ_MEMORY)
        return rp_mem_name(r, f, buf, len);
    if (!r->syms) {
        snprintf(buf, len, "%s 0x%" PRIx64, rp_obj_kind(o), o->addr);
        return buf;
    }
    tg_symbols_object_name(r->syms, o->process, o->addr, rp_obj_kind(o),
                           o->site_stack, !o->site_is_init, buf, len);
    if (named_alike(r, f, obj, buf))
        with_address(o, buf, len);
    return buf;
}

/* ---- calls */

const char *rp_call_name(unsigned ev)
{
    switch (ev) {
    case TG_EV_MUTEX_INIT: return "pthread_mutex_init";
    case TG_EV_MUTEX_DESTROY: return "pthread_mutex_destroy";
    case TG_EV_MUTEX_REQ: case TG_EV_MUTEX_ACQ: case TG_EV_MUTEX_FAIL: return "pthread_mutex_lock";
    case TG_EV_MUTEX_TRY: return "pthread_mutex_trylock";
    case TG_EV_MUTEX_REL: return "pthread_mutex_unlock";
    case TG_EV_RW_INIT: return "pthread_rwlock_init";
    case TG_EV_RW_DESTROY: return "pthread_rwlock_destroy";
    case TG_EV_RD_REQ: case TG_EV_RD_ACQ: case TG_EV_RD_FAIL: return "pthread_rwlock_rdlock";
    case TG_EV_RD_TRY: return "pthread_rwlock_tryrdlock";
    case TG_EV_WR_REQ: case TG_EV_WR_ACQ: case TG_EV_WR_FAIL: return "pthread_rwlock_wrlock";
    case TG_EV_WR_TRY: return "pthread_rwlock_trywrlock";
    case TG_EV_RW_REL: return "pthread_rwlock_unlock";
    case TG_EV_SPIN_INIT: return "pthread_spin_init";
    case TG_EV_SPIN_DESTROY: return "pthread_spin_destroy";
    case TG_EV_SPIN_REQ: case TG_EV_SPIN_ACQ: return "pthread_spin_lock";
    case TG_EV_SPIN_TRY: return "pthread_spin_trylock";
    case TG_EV_SPIN_REL: return "pthread_spin_unlock";
    case TG_EV_COND_INIT: return "pthread_cond_init";
    case TG_EV_COND_DESTROY: return "pthread_cond_destroy";
    case TG_EV_COND_WAIT: case TG_EV_COND_WOKE: return "pthread_cond_wait";
    case TG_EV_COND_SIGNAL: return "pthread_cond_signal";
    case TG_EV_COND_BROADCAST: return "pthread_cond_broadcast";
    case TG_EV_SEM_INIT: return "sem_init";
    case TG_EV_SEM_DESTROY: return "sem_destroy";
    case TG_EV_SEM_REQ: case TG_EV_SEM_ACQ: case TG_EV_SEM_FAIL: return "sem_wait";
    case TG_EV_SEM_TRY: return "sem_trywait";
    case TG_EV_SEM_POST: return "sem_post";
    case TG_EV_BARRIER_INIT: return "pthread_barrier_init";
    case TG_EV_BARRIER_DESTROY: return "pthread_barrier_destroy";
    case TG_EV_BARRIER_WAIT: case TG_EV_BARRIER_DONE: return "pthread_barrier_wait";
    case TG_EV_ONCE_BEGIN: case TG_EV_ONCE_END: return "pthread_once";
    case TG_EV_JOIN_REQ: case TG_EV_JOIN_DONE: return "pthread_join";
    case TG_EV_DETACH: return "pthread_detach";
    case TG_EV_THREAD_CREATE: return "pthread_create";
    case TG_EV_THREAD_EXIT: return "the thread's end";
    default: return tg_event_name(ev);
    }
}

/* ---- sentences */

static const char *misuse_what(const struct tg_finding *f, const char *kind, char *buf, size_t len)
{
    const struct tg_step *call = f->nsteps ? &f->steps[0] : NULL;

    switch (f->sub) {
    case TG_MISUSE_UNLOCK_NOT_HELD: snprintf(buf, len, "unlock of a %s no thread holds", kind); break;
    case TG_MISUSE_UNLOCK_OTHER: snprintf(buf, len, "unlock of a %s another thread holds", kind); break;
    case TG_MISUSE_DESTROY_LOCKED: snprintf(buf, len, "destroy of a locked %s", kind); break;
    case TG_MISUSE_DESTROY_WAITERS: snprintf(buf, len, "destroy of a %s threads wait on", kind); break;
    case TG_MISUSE_EXIT_HOLDING: snprintf(buf, len, "thread exited holding a lock"); break;
    case TG_MISUSE_COND_NOT_HELD:
        snprintf(buf, len, "condition wait with a mutex the thread does not hold");
        break;
    case TG_MISUSE_COND_TWO_MUTEXES:
        snprintf(buf, len, "two mutexes used with one condition variable");
        break;
    case TG_MISUSE_RELOCK_TIMED:
        snprintf(buf, len, "timed lock of a %s the thread already holds", kind);
        break;
    case TG_MISUSE_ERROR_RETURN:
        snprintf(buf, len, "%s returned %s", call ? rp_call_name(call->event) : "a call",
                 call ? tg_result_name(call->result) : "an error");
        break;
    default: snprintf(buf, len, "%s", tg_finding_sub_name(f->kind, f->sub)); break;
    }
    return buf;
}

static const char *access_word(uint8_t access)
{
    bool write = access & 1, atomic = access & 2;
    return write ? (atomic ? "atomic write" : "write") : (atomic ? "atomic read" : "read");
}

const char *rp_banner(struct tg_report *r, const struct tg_finding *f, char *buf, size_t len)
{
    char what[512], kind[64];
    const struct tg_obj_ref *o = f->nsteps && f->steps[0].obj < f->nobjs ?
                                 &f->objs[f->steps[0].obj] : f->nobjs ? &f->objs[0] : NULL;

    snprintf(kind, sizeof kind, "%s", o ? rp_obj_kind(o) : "lock");
    switch (f->kind) {
    case TG_FIND_LOCK_ORDER:
        snprintf(buf, len, "lock-order inversion (potential deadlock)");
        break;
    case TG_FIND_DEADLOCK:
        switch (f->sub) {
        case TG_DEADLOCK_SELF:
            snprintf(buf, len, "deadlock (a thread relocks a %s it holds)", kind);
            break;
        case TG_DEADLOCK_ALL_BLOCKED:
            snprintf(buf, len, "deadlock (every thread is blocked)");
            break;
        case TG_DEADLOCK_LOST_WAKEUP:
            snprintf(buf, len, "deadlock (lost wakeup: every thread is blocked)");
            break;
        default:
            snprintf(buf, len, "deadlock");
        }
        break;
    case TG_FIND_MISUSE:
        snprintf(buf, len, "misuse: %s", misuse_what(f, kind, what, sizeof what));
        break;
    case TG_FIND_RACE: {
        /* The shape: "data race on ticket (global int, 4 bytes)"; the
         * accesses (who read, who wrote) follow in the body. */
        struct sb b = { buf, 0, len };
        const struct tg_finding_mem *m = &f->mem;
        uint32_t size = m->size ? m->size : f->nsteps ? f->steps[0].size : 0;
        char type[128] = "";
        buf[0] = '\0';
        if (m->heap) {
            sb_add(&b, "data race on %s", rp_mem_name(r, f, what, sizeof what));
            if (m->heap_thread != TG_NO_THREAD)
                sb_add(&b, " by %s", rp_thread_name(r, m->heap_thread));
            sb_add(&b, " (%u bytes at offset %" PRIu64 ")", size, m->addr - m->heap_block);
        } else if (r->syms && tg_symbols_data(r->syms, f->process, m->addr, what, sizeof what,
                                              type, sizeof type)) {
            sb_add(&b, "data race on %s (global %s%s%u bytes)", what, type,
                   type[0] ? ", " : "", size);
        } else {
            sb_add(&b, "data race on 0x%" PRIx64 " (%u bytes)", m->addr, size);
        }
        break;
    }
    default:
        snprintf(buf, len, "%s", tg_finding_kind_name(f->kind));
    }
    return buf;
}

const char *rp_cycle(struct tg_report *r, const struct tg_finding *f, char *buf, size_t len)
{
    struct sb b = { buf, 0, len };
    char name[512];
    bool cycle = f->kind == TG_FIND_LOCK_ORDER ||
                 (f->kind == TG_FIND_DEADLOCK &&
                  (f->sub == TG_DEADLOCK_CYCLE || f->sub == TG_DEADLOCK_SELF));

    buf[0] = '\0';
    if (!cycle || f->nsteps == 0)
        return buf;
    /* a long cycle: its first 8 and last 4 locks around "… N more …"
     * (the locks list has them all) */
    uint32_t head = 8, tail = 4;
    for (uint32_t i = 0; i < f->nsteps; i++) {
        if (f->nsteps + 1 > head + tail + 1 && i == head) {
            sb_add(&b, " → … %" PRIu32 " more …", f->nsteps + 1 - head - tail);
            i = f->nsteps - tail + 1;     /* then tail - 1 holds and the closing lock */
        }
        uint32_t held = f->steps[i].held.obj;
        sb_add(&b, "%s%s", i ? " → " : "",
               rp_obj_name(r, f, held != TG_NO_OBJ ? held : f->steps[i].obj, name, sizeof name));
    }
    sb_add(&b, " → %s", rp_obj_name(r, f, f->steps[f->nsteps - 1].obj, name, sizeof name));
    return buf;
}

/* One step as a clause: "Thread-1 holds mutexA and waits for mutexB at f a.c:3". */
static void step_clause(struct tg_report *r, const struct tg_finding *f,
                        const struct tg_step *s, struct sb *b)
{
    char obj[512], held[512], site[512], other[512];
    const char *who = rp_thread_name(r, s->thread);

    rp_obj_name(r, f, s->obj, obj, sizeof obj);
    rp_step_site(r, f, s, site, sizeof site);
    if (s->held.obj != TG_NO_OBJ)
        rp_obj_name(r, f, s->held.obj, held, sizeof held);
    switch (s->role) {
    case TG_ROLE_EDGE:
        sb_add(b, "%s takes %s while holding %s (%s)", who, obj, held, site);
        break;
    case TG_ROLE_WAITS:
        if (s->wait == TG_WAIT_JOIN) {
            snprintf(other, sizeof other, "%s", rp_thread_name(r, s->other_thread));
            sb_add(b, "%s waits in pthread_join for %s (%s)", who, other, site);
        } else if (s->held.obj != TG_NO_OBJ && s->held.obj != s->obj) {
            sb_add(b, "%s holds %s and waits for %s (%s)", who, held, obj, site);
        } else if (s->held.obj == s->obj && s->obj != TG_NO_OBJ) {
            sb_add(b, "%s locks %s again while holding it (%s)", who, obj, site);
        } else {
            sb_add(b, "%s waits in %s on %s (%s)", who, rp_call_name(s->event), obj, site);
        }
        break;
    case TG_ROLE_SIGNAL:
        sb_add(b, "%s signalled %s when no thread was waiting (%s)", who, obj, site);
        break;
    case TG_ROLE_CALL:
        sb_add(b, "%s calls %s on %s (%s)", who, rp_call_name(s->event), obj, site);
        if (s->result != TG_OK)
            sb_add(b, ", which returned %s", tg_result_name(s->result));
        break;
    case TG_ROLE_OWNER:
        sb_add(b, "%s holds it (%s)", who,
               rp_site(r, f->process, s->held.stack ? s->held.stack : s->stack, site, sizeof site));
        break;
    case TG_ROLE_ACCESS:
        sb_add(b, "%s of %" PRIu32 " bytes by %s (%s)", access_word(s->access), s->size, who, site);
        break;
    default:
        sb_add(b, "%s (%s)", who, site);
    }
}

const char *rp_summary(struct tg_report *r, const struct tg_finding *f, char *buf, size_t len)
{
    struct sb b = { buf, 0, len };
    char head[1024];
    uint32_t shown = f->nsteps < 6 ? f->nsteps : 5;

    buf[0] = '\0';
    if (f->kind == TG_FIND_LOCK_ORDER)
        sb_add(&b, "lock-order inversion");
    else
        sb_add(&b, "%s", rp_banner(r, f, head, sizeof head));
    for (uint32_t i = 0; i < shown; i++) {
        sb_add(&b, i ? "; " : ": ");
        step_clause(r, f, &f->steps[i], &b);
    }
    if (shown < f->nsteps)
        sb_add(&b, "; and %" PRIu32 " more", f->nsteps - shown);
    return buf;
}

/* ---- suppression words */

struct words {
    char **w;
    long n, cap;
    bool oom;
};

static void word(struct words *ws, const char *s)
{
    if (!s || !*s || ws->oom)
        return;
    if (ws->n == ws->cap) {
        long cap = ws->cap ? ws->cap * 2 : 32;
        char **p = realloc(ws->w, (size_t)cap * sizeof *p);
        if (!p) {
            ws->oom = true;
            return;
        }
        ws->w = p;
        ws->cap = cap;
    }
    if (!(ws->w[ws->n] = strdup(s)))
        ws->oom = true;
    else
        ws->n++;
}

static void stack_words(struct tg_report *r, uint32_t process, uint32_t stack, struct words *ws)
{
    struct tg_frame fr[RP_MAX_FRAMES];
    size_t n = rp_frames(r, process, stack, fr, RP_MAX_FRAMES);

    for (size_t i = 0; i < n; i++) {
        word(ws, fr[i].function);
        word(ws, fr[i].file);
        if (fr[i].file && strrchr(fr[i].file, '/'))
            word(ws, strrchr(fr[i].file, '/') + 1);
        if (fr[i].module)
            word(ws, strrchr(fr[i].module, '/') ? strrchr(fr[i].module, '/') + 1 : fr[i].module);
    }
}

long rp_finding_words(struct tg_report *r, const struct tg_finding *f, char ***out)
{
    struct words ws = { 0 };
    char name[512];

    for (uint32_t i = 0; i < f->nobjs; i++) {
        const struct tg_obj_ref *o = &f->objs[i];
        word(&ws, rp_obj_name(r, f, i, name, sizeof name));
        if (r->syms && o->kind != TG_OBJ_THREAD && o->kind != TG_OBJ_MEMORY)
            word(&ws, tg_symbols_object_name(r->syms, o->process, o->addr, rp_obj_kind(o),
                                             o->site_stack, !o->site_is_init, name, sizeof name));
        if (f->objs[i].kind != TG_OBJ_MEMORY && rp_obj_global(r, &f->objs[i], name, sizeof name))
            word(&ws, name);
    }
    if (f->kind == TG_FIND_RACE)
        word(&ws, rp_mem_name(r, f, name, sizeof name));
    for (uint32_t i = 0; i < f->nsteps; i++) {
        const struct tg_step *s = &f->steps[i];
        stack_words(r, f->process, s->stack, &ws);
        stack_words(r, f->process, s->held.stack, &ws);
        for (uint32_t k = 0; k < s->nothers; k++)
            stack_words(r, f->process, s->others[k].stack, &ws);
    }
    if (f->kind == TG_FIND_RACE && f->mem.heap)
        stack_words(r, f->process, f->mem.heap_stack, &ws);
    if (ws.oom) {
        rp_words_free(ws.w, ws.n);
        return -1;
    }
    *out = ws.w;
    return ws.n;
}

void rp_words_free(char **words, long n)
{
    for (long i = 0; i < n; i++)
        free(words[i]);
    free(words);
}

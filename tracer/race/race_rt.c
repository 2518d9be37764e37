/* tracer/race/: the runtime's life — __tsan_init, thread states, the
 * happens-before effect of every synchronisation the tracer's hooks see,
 * and the public annotation API (__tsan_acquire/release, __tsan_mutex_*,
 * ignores, fibers).
 */
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "trace/format.h"
#include "tracer/race/race.h"
#include "tracer/tracer.h"

struct race_global race_g;
RACE_TLS struct race_thread *race_cur;

static tg_hb_spin init_lock;
static uint32_t next_thread_id;                /* atomic */
static tg_hb_spin slot_owner_lock;
static struct race_tinfo *slot_owner[TG_HB_MAX_SLOTS];
#define MAX_THREAD_IDS (1u << 20)
static struct race_tinfo **tinfo_by_id;        /* MAX_THREAD_IDS, set in __tsan_init */

struct race_tinfo *race_tinfo_get(uint32_t id)
{
    if (id >= MAX_THREAD_IDS || tinfo_by_id == NULL)
        return NULL;
    return __atomic_load_n(&tinfo_by_id[id], __ATOMIC_ACQUIRE);
}

/* ---- thread states ---- */

/* The creation site: return addresses up the frame-pointer chain, minus
 * tangle's own frames. */
static uint32_t fp_stack(const struct race_thread *t, uint64_t *frames, uint32_t max)
{
    const uintptr_t *fp = __builtin_frame_address(0);
    uint32_t n = 0;
    for (unsigned i = 0; i < 64 && n < max; i++) {
        uintptr_t next = fp[0], ret = fp[1];
        if (ret - race_g.self_lo >= race_g.self_hi - race_g.self_lo && ret != 0)
            frames[n++] = ret;
        if (next <= (uintptr_t)fp || (next & 7) != 0
            || (t->stack_hi && (next < t->stack_lo || next + 16 > t->stack_hi)))
            break;
        fp = (const uintptr_t *)next;
    }
    return n;
}

void race_tinfo_name(struct race_tinfo *info)
{
    char name[16] = "";
    if (info->tid == (pid_t)syscall(SYS_gettid)) {
        prctl(PR_GET_NAME, name, 0, 0, 0);
    } else {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/task/%d/comm", (int)info->tid);
        FILE *f = fopen(path, "re");
        if (f == NULL)
            return;                  /* gone: keep what we had */
        if (fgets(name, sizeof name, f) == NULL)
            name[0] = '\0';
        fclose(f);
        name[strcspn(name, "\n")] = '\0';
    }
    if (name[0])
        memcpy(info->name, name, sizeof info->name);
}

struct race_tinfo *race_tinfo_at(uint32_t slot, uint64_t epoch)
{
    tg_hb_spin_lock(&slot_owner_lock);
    struct race_tinfo *i = slot < TG_HB_MAX_SLOTS ? slot_owner[slot] : NULL;
    while (i != NULL && i->start_epoch > epoch)
        i = i->prev_in_slot;
    tg_hb_spin_unlock(&slot_owner_lock);
    return i;
}

static struct race_thread *thread_new(const struct tg_hb_vc *parent, uint32_t parent_id,
                                      uint32_t create_stack)
{
    struct race_thread *t = tg_hb_alloc(sizeof *t);
    struct race_tinfo *info = tg_hb_alloc(sizeof *info);
    if (t == NULL || info == NULL)
        goto fail;
    if (tg_hb_thread_start(&t->hb, race_g.slots, parent) != 0)
        goto fail;
    t->hist = race_hist_for_slot(t->hb.slot);
    if (t->hist == NULL) {
        tg_hb_thread_end(&t->hb, race_g.slots, NULL);
        tg_hb_thread_free(&t->hb);
        goto fail;
    }
    t->ignore = 1;                   /* while we set up: libc calls below may malloc */
    t->info = info;
    t->pthread = (uint64_t)pthread_self();
    race_cur = t;

    info->id = __atomic_fetch_add(&next_thread_id, 1, __ATOMIC_RELAXED);
    if (info->id < MAX_THREAD_IDS)
        __atomic_store_n(&tinfo_by_id[info->id], info, __ATOMIC_RELEASE);
    info->slot = t->hb.slot;
    info->start_epoch = t->hb.epoch;
    info->trace_index = tg_tracer_thread();
    info->parent_id = parent_id;
    info->create_stack = create_stack;
    info->tid = (pid_t)syscall(SYS_gettid);
    prctl(PR_GET_NAME, info->name, 0, 0, 0);
    tg_hb_spin_lock(&slot_owner_lock);
    info->prev_in_slot = slot_owner[t->hb.slot];
    slot_owner[t->hb.slot] = info;
    tg_hb_spin_unlock(&slot_owner_lock);

    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        void *lo;
        size_t size;
        if (pthread_attr_getstack(&attr, &lo, &size) == 0) {
            t->stack_lo = (uintptr_t)lo;
            t->stack_hi = (uintptr_t)lo + size;
        }
        pthread_attr_destroy(&attr);
    }
    /* a thread's stack (and its static TLS, which glibc puts there) may be
     * a dead thread's reused: forget what that one did there */
    if (parent != NULL && t->stack_hi > t->stack_lo)
        tg_hb_shadow_reset(&race_g.shadow, t->stack_lo, t->stack_hi - t->stack_lo);
    t->ignore = 0;
    return t;
fail:
    tg_hb_free(t, sizeof *t);
    tg_hb_free(info, sizeof *info);
    return NULL;
}

struct race_thread *race_thread_adopt(void)
{
    if (!__atomic_load_n(&race_g.active, __ATOMIC_ACQUIRE))
        return NULL;
    /* a thread tangle did not see start: it is ordered after nothing */
    return thread_new(NULL, UINT32_MAX, 0);
}

/* Thread creation: the parent's clock at pthread_create waits here, keyed
 * by the child's trace index, until the child starts. */
struct handoff {
    struct handoff *next;
    uint32_t child;
    uint32_t parent_id;
    uint32_t create_stack;
    struct tg_hb_vc clock;
};
static tg_hb_spin handoff_lock;
static struct handoff *handoffs;

static void on_create(struct race_thread *t, uint32_t child)
{
    struct handoff *h = tg_hb_alloc(sizeof *h);
    if (h == NULL)
        return;
    uint64_t frames[RACE_REPORT_FRAMES];
    h->child = child;
    h->parent_id = t->info->id;
    h->create_stack = race_depot_put(frames, fp_stack(t, frames, RACE_REPORT_FRAMES));
    (void)tg_hb_vc_copy(&h->clock, &t->hb.clock);
    tg_hb_spin_lock(&handoff_lock);
    h->next = handoffs;
    handoffs = h;
    tg_hb_spin_unlock(&handoff_lock);
    tg_hb_tick(&t->hb);              /* what the parent does next is not the child's past */
    race_epoch_changed(t);
}

static void on_start(uint32_t child)
{
    struct handoff *h = NULL;
    tg_hb_spin_lock(&handoff_lock);
    for (struct handoff **pp = &handoffs; *pp; pp = &(*pp)->next)
        if ((*pp)->child == child) {
            h = *pp;
            *pp = h->next;
            break;
        }
    tg_hb_spin_unlock(&handoff_lock);
    if (race_cur != NULL && !race_cur->dead)
        return;                      /* already adopted */
    if (h == NULL) {
        thread_new(NULL, UINT32_MAX, 0);
        return;
    }
    thread_new(&h->clock, h->parent_id, h->create_stack);
    tg_hb_vc_free(&h->clock);
    tg_hb_free(h, sizeof *h);
}

static void on_exit_thread(struct race_thread *t, uint64_t self)
{
    race_tinfo_name(t->info);
    /* a joiner acquires the final clock from the object named by pthread_t */
    tg_hb_thread_end(&t->hb, race_g.slots, tg_hb_sync_get(race_g.syncs, self, true));
    if (t->stack_hi > t->stack_lo)
        tg_hb_shadow_reset(&race_g.shadow, t->stack_lo, t->stack_hi - t->stack_lo);
    t->dead = true;
    t->ignore++;                     /* destructors that run after this are not tracked */
    tg_hb_thread_free(&t->hb);
}

static void on_join(struct race_thread *t, uint64_t target)
{
    struct tg_hb_sync *o = tg_hb_sync_get(race_g.syncs, target, false);
    if (o != NULL) {
        tg_hb_acquire(&t->hb, o);
        tg_hb_sync_remove(race_g.syncs, target);   /* pthread_t values get reused */
    }
}

/* ---- synchronisation ---- */

void race_epoch_changed(struct race_thread *t)
{
    race_hist_put(t, race_hist_word(HIST_EPOCH, t->hb.epoch), 0);
}

void race_acquire(struct race_thread *t, uint64_t addr)
{
    struct tg_hb_sync *o = tg_hb_sync_get(race_g.syncs, addr, false);
    if (o != NULL)
        tg_hb_acquire_all(&t->hb, o);
}

void race_release(struct race_thread *t, uint64_t addr)
{
    struct tg_hb_sync *o = tg_hb_sync_get(race_g.syncs, addr, true);
    if (o == NULL)
        return;
    tg_hb_release(&t->hb, o);
    race_epoch_changed(t);
}

static void acquire_read(struct race_thread *t, uint64_t addr)
{
    struct tg_hb_sync *o = tg_hb_sync_get(race_g.syncs, addr, false);
    if (o != NULL)
        tg_hb_acquire(&t->hb, o);    /* not the other readers' releases */
}

static void release_read(struct race_thread *t, uint64_t addr)
{
    struct tg_hb_sync *o = tg_hb_sync_get(race_g.syncs, addr, true);
    if (o == NULL)
        return;
    tg_hb_release_read(&t->hb, o);
    race_epoch_changed(t);
}

void race_held_add(struct race_thread *t, uint64_t addr, bool read)
{
    race_hist_put(t, race_hist_word(HIST_LOCK, addr | ((uint64_t)read << 59)), 0);
    for (uint32_t i = 0; i < t->nheld; i++)
        if (t->held[i].addr == addr) {
            t->held[i].count++;
            return;
        }
    if (t->nheld < RACE_LOCKS_MAX)
        t->held[t->nheld++] = (struct race_held){ .addr = addr, .count = 1, .read = read };
}

int race_held_remove(struct race_thread *t, uint64_t addr)
{
    for (uint32_t i = 0; i < t->nheld; i++)
        if (t->held[i].addr == addr) {
            race_hist_put(t, race_hist_word(HIST_UNLOCK, addr), 0);
            int read = t->held[i].read;
            if (--t->held[i].count == 0)
                t->held[i] = t->held[--t->nheld];
            return read;
        }
    return -1;
}

static void lock_acquired(struct race_thread *t, uint64_t obj, bool read)
{
    if (read)
        acquire_read(t, obj);
    else
        race_acquire(t, obj);
    race_held_add(t, obj, read);
}

static void lock_released(struct race_thread *t, uint64_t obj)
{
    if (race_held_remove(t, obj) == 1)
        release_read(t, obj);
    else
        race_release(t, obj);
}

/* The tracer's notification: releasing kinds come before the real call,
 * acquiring kinds after it succeeded (tracer/tracer.h). */
static void on_sync(unsigned kind, uint64_t obj, unsigned arg)
{
    (void)arg;
    if (kind == TG_EV_THREAD_START) {
        on_start((uint32_t)obj);
        return;
    }
    struct race_thread *t = race_self();
    if (t == NULL || t->dead)
        return;
    t->ignore++;
    switch (kind) {
    case TG_EV_MUTEX_ACQ: case TG_EV_MUTEX_TRY: case TG_EV_SPIN_ACQ: case TG_EV_SPIN_TRY:
    case TG_EV_WR_ACQ: case TG_EV_WR_TRY: case TG_EV_COND_WOKE:
        lock_acquired(t, obj, false);
        break;
    case TG_EV_RD_ACQ: case TG_EV_RD_TRY:
        lock_acquired(t, obj, true);
        break;
    case TG_EV_MUTEX_REL: case TG_EV_SPIN_REL: case TG_EV_RW_REL: case TG_EV_COND_WAIT:
        lock_released(t, obj);
        break;
    case TG_EV_SEM_ACQ: case TG_EV_SEM_TRY: case TG_EV_BARRIER_DONE: case TG_EV_ONCE_END:
        race_acquire(t, obj);
        break;
    case TG_EV_SEM_POST: case TG_EV_BARRIER_WAIT: case TG_EV_ONCE_BEGIN:
        race_release(t, obj);
        break;
    case TG_EV_THREAD_CREATE:
        on_create(t, (uint32_t)obj);
        break;
    case TG_EV_THREAD_EXIT:
        on_exit_thread(t, obj);
        return;                      /* stays ignored */
    case TG_EV_JOIN_DONE:
        on_join(t, obj);
        break;
    case TG_EV_MUTEX_DESTROY: case TG_EV_RW_DESTROY: case TG_EV_SPIN_DESTROY:
    case TG_EV_SEM_DESTROY: case TG_EV_BARRIER_DESTROY: case TG_EV_COND_DESTROY:
    case TG_EV_MUTEX_INIT: case TG_EV_RW_INIT: case TG_EV_SPIN_INIT: case TG_EV_SEM_INIT:
    case TG_EV_BARRIER_INIT:
        tg_hb_sync_remove(race_g.syncs, obj);   /* a new object: no past */
        break;
    default:
        break;
    }
    t->ignore--;
}

/* ---- start-up ---- */

struct self_range { uintptr_t fbase, lo, hi; };

static int find_self(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct self_range *r = arg;
    if (info->dlpi_addr != r->fbase) {
        /* a non-PIE main program has dlpi_addr 0: compare the first segment */
        if (!(info->dlpi_phnum > 0 && info->dlpi_addr + info->dlpi_phdr[0].p_vaddr == r->fbase))
            return 0;
    }
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *p = &info->dlpi_phdr[i];
        if (p->p_type == PT_LOAD && (p->p_flags & PF_X)) {
            r->lo = info->dlpi_addr + p->p_vaddr;
            r->hi = r->lo + p->p_memsz;
            return 1;
        }
    }
    return 0;
}

static bool preloaded(void)
{
    const char *p = getenv("LD_PRELOAD");
    return p != NULL && strstr(p, "libtangle") != NULL;
}

/* A program linked with libtangle.so by `tangle cc` and run on its own
 * (not preloaded by `tangle run`) still needs the tracer's hooks — they are
 * where the runtime hears about locks and threads — but no trace: races are
 * printed at exit (race_report.c). Unless TANGLE_TRACE asks for one, the
 * tracer runs without a file. Runs before the tracer's constructor (101). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wunknown-warning-option"
#pragma GCC diagnostic ignored "-Wprio-ctor-dtor"
__attribute__((constructor(100)))
static void race_preinit(void)
{
    if (!preloaded() && getenv("TANGLE_TRACE") == NULL)
        tg_tracer_no_trace();
}
#pragma GCC diagnostic pop

void __tsan_init(void);
RACE_EXPORT void __tsan_init(void)
{
    if (__atomic_load_n(&race_g.active, __ATOMIC_ACQUIRE))
        return;
    tg_hb_spin_lock(&init_lock);
    if (race_g.active) {
        tg_hb_spin_unlock(&init_lock);
        return;
    }
    Dl_info dl;
    struct self_range self = { 0, 0, 0 };
    if (dladdr((void *)__tsan_init, &dl) != 0) {
        self.fbase = (uintptr_t)dl.dli_fbase;
        dl_iterate_phdr(find_self, &self);
    }
    race_g.self_lo = self.lo;
    race_g.self_hi = self.hi;
    race_g.standalone = !preloaded();
    race_g.exitcode = 66;
    const char *ec = getenv("TANGLE_RACE_EXITCODE");
    if (ec != NULL && *ec != '\0')
        race_g.exitcode = atoi(ec);
    if (tg_hb_shadow_init(&race_g.shadow) != 0
        || (race_g.syncs = tg_hb_syncs_new()) == NULL
        || (race_g.slots = tg_hb_slots_new()) == NULL
        || (tinfo_by_id = tg_hb_alloc(MAX_THREAD_IDS * sizeof *tinfo_by_id)) == NULL) {
        tg_hb_spin_unlock(&init_lock);
        return;                      /* no memory: the program runs unchecked */
    }
    race_report_init();
    __atomic_store_n(&race_g.active, 1, __ATOMIC_RELEASE);
    thread_new(NULL, UINT32_MAX, 0);
    tg_tracer_set_sync(on_sync);
    tg_hb_spin_unlock(&init_lock);
}

/* ---- the annotation API ---- */

void __tsan_acquire(void *addr);
void __tsan_release(void *addr);

RACE_EXPORT void __tsan_acquire(void *addr)
{
    struct race_thread *t = race_self();
    if (t == NULL || t->ignore)
        return;
    t->ignore++;
    race_acquire(t, (uint64_t)(uintptr_t)addr);
    tg_tracer_emit(TG_EV_SYNC_ACQUIRE, 0, (uint64_t)(uintptr_t)addr, 0, 0, 0);
    t->ignore--;
}

RACE_EXPORT void __tsan_release(void *addr)
{
    struct race_thread *t = race_self();
    if (t == NULL || t->ignore)
        return;
    t->ignore++;
    tg_tracer_emit(TG_EV_SYNC_RELEASE, 0, (uint64_t)(uintptr_t)addr, 0, 0, 0);
    race_release(t, (uint64_t)(uintptr_t)addr);
    t->ignore--;
}

/* Custom mutexes (sanitizer/tsan_interface.h flags). */
#define MUTEX_READ_LOCK       (1u << 3)
#define MUTEX_TRY_LOCK_FAILED (1u << 5)

void __tsan_mutex_create(void *addr, unsigned flags);
void __tsan_mutex_destroy(void *addr, unsigned flags);
void __tsan_mutex_pre_lock(void *addr, unsigned flags);
void __tsan_mutex_post_lock(void *addr, unsigned flags, int recursion);
int __tsan_mutex_pre_unlock(void *addr, unsigned flags);
void __tsan_mutex_post_unlock(void *addr, unsigned flags);
void __tsan_mutex_pre_signal(void *addr, unsigned flags);
void __tsan_mutex_post_signal(void *addr, unsigned flags);
void __tsan_mutex_pre_divert(void *addr, unsigned flags);
void __tsan_mutex_post_divert(void *addr, unsigned flags);

RACE_EXPORT void __tsan_mutex_create(void *addr, unsigned flags)
{
    (void)flags;
    if (race_g.active)
        tg_hb_sync_remove(race_g.syncs, (uint64_t)(uintptr_t)addr);
}

RACE_EXPORT void __tsan_mutex_destroy(void *addr, unsigned flags)
{
    (void)flags;
    if (race_g.active)
        tg_hb_sync_remove(race_g.syncs, (uint64_t)(uintptr_t)addr);
}

RACE_EXPORT void __tsan_mutex_pre_lock(void *addr, unsigned flags)
{
    (void)addr, (void)flags;
}

RACE_EXPORT void __tsan_mutex_post_lock(void *addr, unsigned flags, int recursion)
{
    struct race_thread *t = race_self();
    if (t == NULL || t->ignore || (flags & MUTEX_TRY_LOCK_FAILED))
        return;
    t->ignore++;
    for (int i = 0; i < (recursion > 1 ? recursion : 1); i++)
        lock_acquired(t, (uint64_t)(uintptr_t)addr, (flags & MUTEX_READ_LOCK) != 0);
    t->ignore--;
}

RACE_EXPORT int __tsan_mutex_pre_unlock(void *addr, unsigned flags)
{
    (void)flags;
    struct race_thread *t = race_self();
    if (t == NULL || t->ignore)
        return 0;
    t->ignore++;
    lock_released(t, (uint64_t)(uintptr_t)addr);
    t->ignore--;
    return 0;
}

RACE_EXPORT void __tsan_mutex_post_unlock(void *addr, unsigned flags) { (void)addr, (void)flags; }
RACE_EXPORT void __tsan_mutex_pre_signal(void *addr, unsigned flags) { (void)addr, (void)flags; }
RACE_EXPORT void __tsan_mutex_post_signal(void *addr, unsigned flags) { (void)addr, (void)flags; }
RACE_EXPORT void __tsan_mutex_pre_divert(void *addr, unsigned flags) { (void)addr, (void)flags; }
RACE_EXPORT void __tsan_mutex_post_divert(void *addr, unsigned flags) { (void)addr, (void)flags; }

void __tsan_ignore_thread_begin(void);
void __tsan_ignore_thread_end(void);

RACE_EXPORT void __tsan_ignore_thread_begin(void)
{
    struct race_thread *t = race_self();
    if (t != NULL)
        t->ignore++;
}

RACE_EXPORT void __tsan_ignore_thread_end(void)
{
    struct race_thread *t = race_cur;
    if (t != NULL && t->ignore > 0)
        t->ignore--;
}

void __tsan_flush_memory(void);
RACE_EXPORT void __tsan_flush_memory(void) {}

/* External APIs (objects whose accesses a library reports itself). */
void *__tsan_external_register_tag(const char *object_type);
void __tsan_external_register_header(void *tag, const char *header);
void __tsan_external_assign_tag(void *addr, void *tag);
void __tsan_external_read(void *addr, void *caller_pc, void *tag);
void __tsan_external_write(void *addr, void *caller_pc, void *tag);

RACE_EXPORT void *__tsan_external_register_tag(const char *object_type)
{
    (void)object_type;
    static uintptr_t next_tag;
    return (void *)__atomic_add_fetch(&next_tag, 1, __ATOMIC_RELAXED);
}
RACE_EXPORT void __tsan_external_register_header(void *tag, const char *header) { (void)tag, (void)header; }
RACE_EXPORT void __tsan_external_assign_tag(void *addr, void *tag) { (void)addr, (void)tag; }

RACE_EXPORT void __tsan_external_read(void *addr, void *caller_pc, void *tag)
{
    (void)tag;
    struct race_thread *t = race_self();
    if (t != NULL && !t->ignore)
        race_access_small(t, (uintptr_t)addr, 1, 0, (uint64_t)(uintptr_t)caller_pc);
}

RACE_EXPORT void __tsan_external_write(void *addr, void *caller_pc, void *tag)
{
    (void)tag;
    struct race_thread *t = race_self();
    if (t != NULL && !t->ignore)
        race_access_small(t, (uintptr_t)addr, 1, RACE_WRITE, (uint64_t)(uintptr_t)caller_pc);
}

/* Fibers: a fiber is a thread state of its own; switching to one moves
 * the calling thread onto it, ordered after the switch unless flags bit 0
 * (__tsan_switch_to_fiber_no_sync). */
void *__tsan_get_current_fiber(void);
void *__tsan_create_fiber(unsigned flags);
void __tsan_destroy_fiber(void *fiber);
void __tsan_switch_to_fiber(void *fiber, unsigned flags);
void __tsan_set_fiber_name(void *fiber, const char *name);

RACE_EXPORT void *__tsan_get_current_fiber(void)
{
    return race_self();
}

RACE_EXPORT void *__tsan_create_fiber(unsigned flags)
{
    (void)flags;
    struct race_thread *cur = race_self();
    if (cur == NULL)
        return NULL;
    cur->ignore++;
    struct race_thread *f = thread_new(&cur->hb.clock, cur->info->id, 0);
    race_cur = cur;                  /* thread_new installed the fiber */
    cur->ignore--;
    return f;
}

RACE_EXPORT void __tsan_destroy_fiber(void *fiber)
{
    struct race_thread *f = fiber;
    if (f == NULL || f == race_cur)
        return;
    tg_hb_thread_end(&f->hb, race_g.slots, NULL);
    tg_hb_thread_free(&f->hb);
    f->dead = true;
}

RACE_EXPORT void __tsan_switch_to_fiber(void *fiber, unsigned flags)
{
    struct race_thread *cur = race_self(), *f = fiber;
    if (cur == NULL || f == NULL || f->dead)
        return;
    if (!(flags & 1)) {
        cur->ignore++;
        uint64_t key = (uint64_t)(uintptr_t)f | 1;   /* a private sync object */
        race_release(cur, key);
        race_acquire(f, key);
        tg_hb_sync_remove(race_g.syncs, key);
        cur->ignore--;
    }
    race_cur = f;
}

RACE_EXPORT void __tsan_set_fiber_name(void *fiber, const char *name)
{
    struct race_thread *f = fiber;
    if (f != NULL && f->info != NULL && name != NULL)
        snprintf(f->info->name, sizeof f->info->name, "%s", name);
}

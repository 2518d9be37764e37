/* tracer/race/: a race was found. Deduplicate it (one report per pair of
 * code locations), gather what a person needs (both accesses' stacks and
 * locks, the threads, the heap block), then:
 *  - under a trace (`tangle run`, or TANGLE_TRACE set): a RACE event,
 *    rendered by `tangle run` / `tangle report` like every other finding;
 *  - run on its own: kept, and printed to stderr at exit (symbolised with
 *    symbols/), after which the process exits with 66 like TSan's.
 */
#include <inttypes.h>
#include <link.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tracer/symbols_plugin.h"
#include "trace/writer.h"
#include "tracer/race/race.h"
#include "tracer/tracer.h"

#define SEEN_BITS      12       /* dedup tables: open addressing, no deletion */
#define MAX_REPLAYS_PC 16       /* history replays per code location before giving up */
#define MAX_RECORDS    1024     /* reports kept for the exit summary */

struct record {
    pid_t pid;
    uint64_t addr;
    uint32_t size, prev_size;
    unsigned flags;             /* enum tg_race_flags */
    uint32_t cur_thread, prev_thread;       /* race_tinfo ids, UINT32_MAX unknown */
    uint32_t ncur, nprev;
    uint64_t cur[RACE_REPORT_FRAMES], prev[RACE_REPORT_FRAMES];
    uint32_t ncur_held, nprev_held;
    struct race_held cur_held[RACE_LOCKS_MAX], prev_held[RACE_LOCKS_MAX];
    bool prev_found;
    uint64_t prev_pc;
    struct race_block block;    /* size 0: not heap */
};

static struct {
    tg_hb_spin lock;
    uint64_t pairs[1u << SEEN_BITS];        /* reported (pc, pc) pairs, hashed */
    uint64_t hits[1u << SEEN_BITS];         /* raw race sightings already looked at */
    struct { uint64_t pc; uint32_t n; } replays[1u << SEEN_BITS];
    struct record *records[MAX_RECORDS];
    uint32_t nrecords;
} rep;

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h | 1;
}

/* Inserts KEY into a set; false if it was there already (or the set is full). */
static bool set_add(uint64_t *set, uint64_t key)
{
    for (uint32_t i = 0, k = (uint32_t)key; i < (1u << SEEN_BITS); i++, k++) {
        uint64_t *s = &set[k & ((1u << SEEN_BITS) - 1)];
        if (*s == key)
            return false;
        if (*s == 0) {
            *s = key;
            return true;
        }
    }
    return false;
}

/* How many times the history was replayed for code location PC; bumps it. */
static uint32_t replay_count(uint64_t pc)
{
    for (uint32_t i = 0, k = (uint32_t)mix(pc); i < (1u << SEEN_BITS); i++, k++) {
        __typeof__(rep.replays[0]) *r = &rep.replays[k & ((1u << SEEN_BITS) - 1)];
        if (r->pc == pc)
            return r->n++;
        if (r->pc == 0) {
            r->pc = pc;
            r->n = 1;
            return 0;
        }
    }
    return MAX_REPLAYS_PC;
}

static uint32_t trace_index(uint32_t id)
{
    struct race_tinfo *i = race_tinfo_get(id);
    return i ? i->trace_index : TG_NO_THREAD;
}

static uint32_t trace_stack(struct tg_writer *w, const uint64_t *frames, uint32_t n)
{
    return n ? tg_writer_stack(w, frames, n) : 0;
}

static void emit(const struct record *r)
{
    struct tg_writer *w = tg_tracer_writer();
    if (w == NULL)
        return;
    /* the payload and its lock list, in one 8-byte-aligned buffer */
    uint64_t buf[(sizeof(struct tg_race_payload) + 2 * RACE_LOCKS_MAX * sizeof(uint64_t)) / 8];
    memset(buf, 0, sizeof buf);
    struct tg_race_payload *p = (struct tg_race_payload *)buf;
    uint64_t *locks = p->locks;
    p->addr = r->addr;
    p->size = r->size;
    p->flags = r->flags;
    p->cur_thread = trace_index(r->cur_thread);
    p->prev_thread = trace_index(r->prev_thread);
    p->cur_stack = trace_stack(w, r->cur, r->ncur);
    p->prev_stack = r->prev_found ? trace_stack(w, r->prev, r->nprev) : 0;
    p->prev_pc = r->prev_pc;
    if (r->block.size) {
        const uint64_t *frames;
        uint32_t n = race_depot_get(r->block.stack, &frames);
        p->heap_block = r->block.addr;
        p->heap_size = r->block.size;
        p->heap_stack = trace_stack(w, frames, n);
        p->heap_thread = trace_index(r->block.thread);
    }
    p->prev_size = r->prev_size;
    p->ncur_locks = (uint16_t)r->ncur_held;
    p->nprev_locks = (uint16_t)r->nprev_held;
    uint32_t k = 0;
    for (uint32_t i = 0; i < r->ncur_held; i++)
        locks[k++] = r->cur_held[i].addr | (r->cur_held[i].read ? TG_RACE_LOCK_READ : 0);
    for (uint32_t i = 0; i < r->nprev_held; i++)
        locks[k++] = r->prev_held[i].addr | (r->prev_held[i].read ? TG_RACE_LOCK_READ : 0);
    tg_tracer_emit_var(TG_EV_RACE, r->addr, p->cur_stack, buf, sizeof *p + k * sizeof locks[0]);
}

static bool line_pair_new(const struct record *r);

void race_report(struct race_thread *t, uintptr_t addr, unsigned size, unsigned flags,
                 uint64_t pc, const struct tg_hb_result *res)
{
    tg_hb_cell prev = res->racy;
    uint32_t pslot = tg_hb_cell_slot(prev);
    uint64_t pepoch = tg_hb_cell_epoch(prev);
    uintptr_t granule = addr & ~(uintptr_t)7;
    t->ignore++;

    /* cheap filter first: the same sighting (same code, same earlier
     * access) over and over in a loop is looked at once */
    uint64_t sighting = mix(pc ^ mix(prev & ~(uint64_t)0xff) ^ mix(granule) ^ (flags & RACE_WRITE));
    tg_hb_spin_lock(&rep.lock);
    bool fresh = set_add(rep.hits, sighting) && replay_count(pc) < MAX_REPLAYS_PC;
    tg_hb_spin_unlock(&rep.lock);
    if (!fresh)
        goto out;

    struct race_prev p;
    race_hist_find(pslot, granule, prev, &p);
    if (!p.found) {
        /* the other thread may be between storing its cell and logging it */
        sched_yield();
        race_hist_find(pslot, granule, prev, &p);
    }
    uint64_t a = pc, b = p.found ? p.pc : 0;
    uint64_t pair = mix(a < b ? a ^ mix(b) : b ^ mix(a));
    tg_hb_spin_lock(&rep.lock);
    bool new_pair = set_add(rep.pairs, pair);
    tg_hb_spin_unlock(&rep.lock);
    if (!new_pair)
        goto out;

    struct record *r = tg_hb_alloc(sizeof *r);
    if (r == NULL)
        goto out;
    r->pid = getpid();
    r->addr = addr;
    r->size = size;
    r->prev_size = tg_hb_cell_size(prev);
    r->flags = ((flags & RACE_WRITE) ? TG_RACE_CUR_WRITE : 0)
             | ((flags & RACE_ATOMIC) ? TG_RACE_CUR_ATOMIC : 0)
             | ((flags & RACE_FREE) ? TG_RACE_CUR_FREE : 0)
             | (tg_hb_cell_write(prev) ? TG_RACE_PREV_WRITE : 0)
             | (tg_hb_cell_atomic(prev) ? TG_RACE_PREV_ATOMIC : 0);
    r->cur_thread = t->info->id;
    struct race_tinfo *pi = race_tinfo_at(pslot, pepoch);
    r->prev_thread = pi ? pi->id : UINT32_MAX;
    r->ncur = race_current_stack(t, pc, r->cur, RACE_REPORT_FRAMES);
    r->ncur_held = t->nheld;
    memcpy(r->cur_held, t->held, t->nheld * sizeof t->held[0]);
    r->prev_found = p.found;
    r->prev_pc = b;
    r->nprev = p.nframes;
    memcpy(r->prev, p.frames, p.nframes * sizeof p.frames[0]);
    r->nprev_held = p.nheld;
    memcpy(r->prev_held, p.held, p.nheld * sizeof p.held[0]);
    if (race_heap_find(addr, &r->block))
        r->flags |= TG_RACE_HEAP;
    race_tinfo_name(t->info);
    if (pi != NULL)
        race_tinfo_name(pi);

    /* the runtime tells accesses apart by instruction, a person by line:
     * `n -= 1` reads and writes on one line, and that is one race to fix,
     * in the trace as on stderr */
    tg_hb_spin_lock(&rep.lock);
    bool new_lines = line_pair_new(r);
    tg_hb_spin_unlock(&rep.lock);
    if (!new_lines) {
        tg_hb_free(r, sizeof *r);
        goto out;
    }
    __atomic_add_fetch(&race_g.races, 1, __ATOMIC_RELAXED);
    emit(r);
    tg_hb_spin_lock(&rep.lock);
    if (rep.nrecords < MAX_RECORDS)
        rep.records[rep.nrecords++] = r;
    tg_hb_spin_unlock(&rep.lock);
out:
    t->ignore--;
}

/* ---- the text report, for a program run on its own ---- */

struct mods {
    struct tg_module_info m[256];
    char paths[256][256];
    size_t n;
};

static int add_module(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct mods *ms = arg;
    if (ms->n >= 256)
        return 1;
    uint64_t lo = UINT64_MAX, hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *p = &info->dlpi_phdr[i];
        if (p->p_type != PT_LOAD)
            continue;
        uint64_t s = info->dlpi_addr + p->p_vaddr;
        if (s < lo)
            lo = s;
        if (s + p->p_memsz > hi)
            hi = s + p->p_memsz;
    }
    const char *path = info->dlpi_name;
    char *dst = ms->paths[ms->n];
    if (path == NULL || path[0] == '\0') {
        if (ms->n != 0)
            return 0;                /* the vdso */
        tg_writer_self_exe(dst, sizeof ms->paths[0]);
    } else {
        if (strstr(path, "linux-vdso") != NULL)
            return 0;
        snprintf(dst, sizeof ms->paths[0], "%s", path);
    }
    if (lo >= hi || dst[0] == '\0')
        return 0;
    ms->m[ms->n] = (struct tg_module_info){ .process = 0, .base = info->dlpi_addr,
                                            .lo = lo, .hi = hi, .path = dst };
    ms->n++;
    return 0;
}

/* libtangle-symbols.so (tracer/symbols_plugin.h), loaded with the first
 * report's symbols; without it (or them) reports show addresses. */
static const struct tg_symbols_plugin *plugin;

static bool frame_of(struct tg_symbols *s, uint64_t ret_addr, struct tg_frame *fr)
{
    if (s != NULL)
        return plugin->frame(s, 0, ret_addr, fr);
    *fr = (struct tg_frame){ .pc = ret_addr };
    return false;
}

static const char *format_frame(const struct tg_frame *fr, char *buf, size_t len)
{
    if (plugin != NULL)
        return plugin->format_frame(fr, buf, len);
    snprintf(buf, len, "0x%" PRIx64, fr->pc);
    return buf;
}

static bool data_of(struct tg_symbols *s, uint64_t addr, char *name, size_t namelen,
                    char *type, size_t typelen)
{
    return s != NULL && plugin->data(s, 0, addr, name, namelen, type, typelen);
}

/* Every frame is a return address, the access's own too (that of its
 * __tsan_* call), so each is looked up as one. A stack ends at main, as
 * TSan's do: what called main is libc's start-up, and looking it up would
 * make libdw read all of libc's debug information (tens of MiB at exit). */
static void print_stack(FILE *f, struct tg_symbols *s, const uint64_t *frames, uint32_t n)
{
    char buf[512];
    for (uint32_t i = 0; i < n; i++) {
        struct tg_frame fr;
        frame_of(s, frames[i], &fr);
        fprintf(f, "    #%u %s\n", i, format_frame(&fr, buf, sizeof buf));
        if (fr.function != NULL && strcmp(fr.function, "main") == 0 && fr.inlined_into == NULL)
            break;
    }
}

static const char *thread_name(uint32_t id, char *buf, size_t len)
{
    struct race_tinfo *i = race_tinfo_get(id);
    if (i == NULL)
        snprintf(buf, len, "an unknown thread");
    else if (id == 0 && (i->name[0] == '\0'))
        snprintf(buf, len, "main (T0)");
    else
        snprintf(buf, len, "%s (T%u)", id == 0 ? "main" : i->name[0] ? i->name : "thread", id);
    return buf;
}

static void print_locks(FILE *f, struct tg_symbols *s, const struct race_held *held, uint32_t n)
{
    fprintf(f, "    locks held: ");
    if (n == 0)
        fprintf(f, "none");
    for (uint32_t i = 0; i < n; i++) {
        char name[256], type[128];
        if (!data_of(s, held[i].addr, name, sizeof name, type, sizeof type))
            snprintf(name, sizeof name, "lock 0x%" PRIx64, held[i].addr);
        fprintf(f, "%s%s%s", i ? ", " : "", name, held[i].read ? " (read)" : "");
    }
    fprintf(f, "\n");
}

static const char *access_kind(bool write, bool atomic, bool is_free)
{
    if (is_free)
        return "free";
    if (atomic)
        return write ? "atomic write" : "atomic read";
    return write ? "write" : "read";
}

/* "file:line" of a frame, or its address: what two reports are compared by. */
static void location(struct tg_symbols *s, uint64_t pc, char *buf, size_t len)
{
    struct tg_frame fr;
    if (pc != 0 && frame_of(s, pc, &fr) && fr.file != NULL)
        snprintf(buf, len, "%s:%d", fr.file, fr.line);
    else
        snprintf(buf, len, "0x%" PRIx64, pc);
}

/* Symbols of the modules loaded now, made at the first race (libdw reads
 * the debug information once); under rep.lock. */
static struct tg_symbols *syms;

static struct tg_symbols *symbols(void)
{
    if (syms != NULL)
        return syms;
    struct mods *ms = tg_hb_alloc(sizeof *ms);
    if (ms == NULL)
        return NULL;
    dl_iterate_phdr(add_module, ms);
    plugin = tg_symbols_plugin();
    syms = plugin != NULL ? plugin->new_modules(ms->m, ms->n) : NULL;
    return syms;
}

/* Whether R's pair of source lines (in either order) is new; remembers it.
 * Without symbols every instruction pair counts as new. */
static bool line_pair_new(const struct record *r)
{
    static uint64_t seen[1u << SEEN_BITS];
    struct tg_symbols *s = symbols();
    if (s == NULL)
        return true;
    char a[600], b[600];
    location(s, r->ncur ? r->cur[0] : 0, a, sizeof a);
    location(s, r->prev_found ? r->prev[0] : r->prev_pc, b, sizeof b);
    uint64_t ha = 0xcbf29ce484222325ull, hb = 0xcbf29ce484222325ull;
    for (const char *p = a; *p; p++)
        ha = (ha ^ (uint8_t)*p) * 0x100000001b3ull;
    for (const char *p = b; *p; p++)
        hb = (hb ^ (uint8_t)*p) * 0x100000001b3ull;
    /* the variable too: two globals raced on by one pair of lines are two bugs */
    uint64_t key = mix((ha < hb ? ha ^ mix(hb) : hb ^ mix(ha)) ^ mix(r->block.size ? r->block.addr : r->addr));
    return set_add(seen, key);
}

static void print_record(FILE *f, struct tg_symbols *s, const struct record *r, uint32_t *created,
                         uint32_t *ncreated)
{
    char name[256], type[128], tn[64], tn2[64];
    fprintf(f, "==================\n");
    if (r->block.size) {
        fprintf(f, "tangle: data race on heap block of %" PRIu64 " bytes (%u bytes at offset %" PRIu64 ")\n",
                r->block.size, r->size, r->addr - r->block.addr);
    } else if (data_of(s, r->addr, name, sizeof name, type, sizeof type)) {
        fprintf(f, "tangle: data race on %s (global%s%s, %u bytes)\n", name,
                type[0] ? " " : "", type, r->size);
    } else {
        fprintf(f, "tangle: data race on 0x%" PRIx64 " (%u bytes)\n", r->addr, r->size);
    }
    const char *kind = access_kind(r->flags & TG_RACE_CUR_WRITE, r->flags & TG_RACE_CUR_ATOMIC,
                                   r->flags & TG_RACE_CUR_FREE);
    fprintf(f, "  %c%s of size %u by thread %s:\n", kind[0] - 'a' + 'A', kind + 1, r->size,
            thread_name(r->cur_thread, tn, sizeof tn));
    print_stack(f, s, r->cur, r->ncur);
    print_locks(f, s, r->cur_held, r->ncur_held);
    fprintf(f, "  Previous %s of size %u by thread %s:\n",
            access_kind(r->flags & TG_RACE_PREV_WRITE, r->flags & TG_RACE_PREV_ATOMIC, false),
            r->prev_size, thread_name(r->prev_thread, tn2, sizeof tn2));
    if (r->prev_found) {
        print_stack(f, s, r->prev, r->nprev);
        print_locks(f, s, r->prev_held, r->nprev_held);
    } else {
        fprintf(f, "    (its stack is no longer in the thread's history)\n");
    }
    if (r->block.size) {
        const uint64_t *frames;
        uint32_t n = race_depot_get(r->block.stack, &frames);
        fprintf(f, "  heap block of %" PRIu64 " bytes allocated by thread %s at:\n", r->block.size,
                thread_name(r->block.thread, tn, sizeof tn));
        print_stack(f, s, frames, n);
    }
    uint32_t ids[2] = { r->cur_thread, r->prev_thread };
    for (int k = 0; k < 2; k++) {
        struct race_tinfo *i = race_tinfo_get(ids[k]);
        if (i == NULL || i->parent_id == UINT32_MAX)
            continue;
        bool done = false;
        for (uint32_t j = 0; j < *ncreated; j++)
            done |= created[j] == i->id;
        if (done)
            continue;
        if (*ncreated < 64)
            created[(*ncreated)++] = i->id;
        const uint64_t *frames;
        uint32_t n = race_depot_get(i->create_stack, &frames);
        fprintf(f, "  thread %s created by %s at:\n", thread_name(i->id, tn, sizeof tn),
                thread_name(i->parent_id, tn2, sizeof tn2));
        print_stack(f, s, frames, n);
    }
    fprintf(f, "==================\n");
}

static void at_exit(void)
{
    struct race_thread *t = race_cur;
    if (t != NULL)
        t->ignore++;
    uint32_t mine = 0;
    for (uint32_t i = 0; i < rep.nrecords; i++)
        mine += rep.records[i]->pid == getpid();
    if (race_g.standalone && mine > 0) {
        tg_hb_spin_lock(&rep.lock);
        struct tg_symbols *s = symbols();
        uint32_t created[64], ncreated = 0;
        fflush(stdout);
        mine = 0;
        for (uint32_t i = 0; i < rep.nrecords; i++)
            if (rep.records[i]->pid == getpid()) {
                print_record(stderr, s, rep.records[i], created, &ncreated);
                mine++;
            }
        tg_hb_spin_unlock(&rep.lock);
        fprintf(stderr, "tangle: reported %u data race%s\n", mine, mine == 1 ? "" : "s");
    }
    if (race_g.standalone && mine > 0 && race_g.exitcode != 0) {
        fflush(NULL);
        _exit(race_g.exitcode);      /* the tracer's _exit hook still closes the trace */
    }
    if (t != NULL)
        t->ignore--;
}

void race_report_init(void)
{
    atexit(at_exit);
}

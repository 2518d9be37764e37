/* tracer/: call-stack ids.
 *
 * A hook needs a stack id for every record, at a cost far below one
 * libunwind capture (~80 ns) or glibc backtrace (~1.4 us). So:
 *
 *  1. walk the saved frame pointers from the hook's frame (validated against
 *     the thread's stack bounds, growing upwards) and hash the
 *     return addresses into a key (internal.h, inline);
 *  2. look the key up in a per-thread direct-mapped cache, then in a
 *     process-wide lock-free table (open addressing, insert by CAS);
 *  3. on a miss, capture the real stack with libunwind (DWARF, so exact
 *     where frame pointers are missing: unw_step for a thread's first few
 *     captures, unw_backtrace after them), drop tangle's own
 *     frames, and look the frames up in a second table keyed by their hash,
 *     so one stack gets one id however many keys lead to it; a new stack is
 *     written to the trace with tg_writer_stack.
 *
 * Code without frame pointers ends the walk early (its rbp is not a frame
 * pointer, and the checks usually reject it), so the key covers only the
 * frames up to there: two stacks that agree on those frames share the id
 * of the first one seen. docs/tracer.md says when ids are exact.
 */
#include <link.h>
#include <string.h>
#include <sys/mman.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "tracer/internal.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

#define TABLE_BITS  16u
#define TABLE_SIZE  (1u << TABLE_BITS)
#define TABLE_PROBE 64u

/* key → stack id; key 0 is an empty slot, id 0 one being filled in. */
struct table {
    struct tg_stack_slot *slots;
};

static struct table chains;      /* frame-pointer chain key → id */
static struct table stacks;      /* hash of captured frames → id */
static unsigned long long modules_seen;   /* dl_iterate_phdr's dlpi_adds */

/* Both tables (1 MiB each) in one 2 MiB-aligned region backed by a huge
 * page where the kernel allows (MADV_HUGEPAGE): lookups land on random
 * slots, and with 4 KiB pages each would be a TLB miss, which costs about
 * a microsecond under nested paging. */
static int tables_init(void)
{
    const size_t one = TABLE_SIZE * sizeof(struct tg_stack_slot);
    const size_t huge = 2u << 20;
    size_t want = 2 * one, len = want + huge;
    uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return -errno;
    uint8_t *aligned = (uint8_t *)(((uintptr_t)p + huge - 1) & ~(uintptr_t)(huge - 1));
    if (aligned > p)
        munmap(p, (size_t)(aligned - p));
    size_t tail = (size_t)((p + len) - (aligned + want));
    if (tail > 0)
        munmap(aligned + want, tail);
    /* best effort; written now, so the first lookup does not map the
     * huge zero page that the first insert then has to split */
    madvise(aligned, want, MADV_HUGEPAGE);
    madvise(aligned, want, MADV_POPULATE_WRITE);
    chains.slots = (struct tg_stack_slot *)aligned;
    stacks.slots = (struct tg_stack_slot *)(aligned + one);
    return 0;
}

/* A key's first slot: keys are not mixed on the hot path (their low bits
 * can cluster), so they are here. */
static uint32_t table_start(uint64_t key)
{
    return (uint32_t)((key * 0x9e3779b97f4a7c15ull) >> (64 - TABLE_BITS));
}

static uint32_t table_find(const struct table *t, uint64_t key)
{
    if (t->slots == NULL)
        return 0;
    uint32_t start = table_start(key);
    for (uint32_t i = 0; i < TABLE_PROBE; i++) {
        const struct tg_stack_slot *s = &t->slots[(start + i) & (TABLE_SIZE - 1)];
        uint64_t k = __atomic_load_n(&s->key, __ATOMIC_ACQUIRE);
        if (k == key)
            return __atomic_load_n(&s->id, __ATOMIC_ACQUIRE);
        if (k == 0)
            return 0;
    }
    return 0;
}

/* A full table (or a lost race for the key) just means the next thread
 * misses too; nothing is wrong, only slower. */
static void table_insert(struct table *t, uint64_t key, uint32_t id)
{
    if (t->slots == NULL)
        return;
    uint32_t start = table_start(key);
    for (uint32_t i = 0; i < TABLE_PROBE; i++) {
        struct tg_stack_slot *s = &t->slots[(start + i) & (TABLE_SIZE - 1)];
        uint64_t k = __atomic_load_n(&s->key, __ATOMIC_ACQUIRE);
        if (k == 0) {
            uint64_t expected = 0;
            if (__atomic_compare_exchange_n(&s->key, &expected, key, false,
                                            __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
                __atomic_store_n(&s->id, id, __ATOMIC_RELEASE);
                return;
            }
            k = expected;
        }
        if (k == key)
            return;
    }
}

static int find_self(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    uintptr_t here = (uintptr_t)data;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
            continue;
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        uintptr_t hi = lo + ph->p_memsz;
        if (here >= lo && here < hi) {
            tg_g.text_lo = lo;
            tg_g.text_hi = hi;
            return 1;
        }
    }
    return 0;
}

static int count_modules(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    *(unsigned long long *)data = info->dlpi_adds;
    return 1;
}

int tg_stack_init(void)
{
    dl_iterate_phdr(find_self, (void *)(uintptr_t)&tg_stack_init);
    dl_iterate_phdr(count_modules, &modules_seen);
    return tables_init();
}

void tg_stack_bounds(struct tg_thread *t)
{
    pthread_attr_t attr;
    void *addr;
    size_t size;
    t->stack_lo = t->stack_top = 0;
    if (pthread_getattr_np(pthread_self(), &attr) != 0)
        return;
    if (pthread_attr_getstack(&attr, &addr, &size) == 0 && size >= 2 * sizeof(uintptr_t)) {
        t->stack_lo = (uintptr_t)addr;
        t->stack_top = (uintptr_t)addr + size - 2 * sizeof(uintptr_t);
    }
    pthread_attr_destroy(&attr);
}

static bool in_tangle(uintptr_t pc)
{
    return pc >= tg_g.text_lo && pc < tg_g.text_hi;
}

/* The id of the stack above tangle's own frames (and SKIP more), captured
 * now. Callers hold the busy flag: libunwind may lock and allocate. */
/* A thread's first captures step through the stack with unw_step rather
 * than unw_backtrace: unw_backtrace's first call in each thread builds a
 * 256 KiB per-thread cache (16384 entries written one by one into fresh
 * pages), ~1 ms here, most of a short thread's traced cost, while a thread
 * usually captures only a few stacks (the process-wide table answers for
 * stacks another thread saw first). Past STEP_CAPTURES a thread's captures
 * go to unw_backtrace, whose cache then pays for itself (a new stack costs
 * 2.5-8 us there, against 15-45 us stepping: ~3 us a frame). A thread that
 * captures many stacks pays its first few stepping, ~0.3 ms once. */
#define STEP_CAPTURES 8u
static __thread unsigned thread_captures;

/* The pcs of the frames above this one, as unw_backtrace gives them (the
 * return addresses; a frame a signal interrupted, its pc), so that a stack
 * captured either way has one id. */
static int steps(void **buf, int size)
{
    unw_context_t ctx;
    unw_cursor_t cursor;
    if (unw_getcontext(&ctx) != 0 || unw_init_local(&cursor, &ctx) != 0)
        return 0;
    int n = 0;
    while (n < size && unw_step(&cursor) > 0) {
        unw_word_t ip;
        if (unw_get_reg(&cursor, UNW_REG_IP, &ip) != 0 || ip == 0)
            break;
        buf[n++] = (void *)(uintptr_t)ip;
    }
    return n;
}

static uint32_t capture(unsigned skip)
{
    void *buf[TG_MAX_DEPTH + 32];
    uint64_t frames[TG_MAX_DEPTH];
    int n = thread_captures++ < STEP_CAPTURES ? steps(buf, (int)(sizeof buf / sizeof buf[0]))
          : unw_backtrace(buf, (int)(sizeof buf / sizeof buf[0]));
    int i = 0;
    while (i < n && in_tangle((uintptr_t)buf[i]))
        i++;
    i += (int)skip;
    uint32_t nframes = 0;
    uint64_t h = 0x84222325cbf29ce4ull;
    for (; i < n && nframes < tg_g.depth; i++) {
        frames[nframes++] = (uint64_t)(uintptr_t)buf[i];
        h = (h ^ (uint64_t)(uintptr_t)buf[i]) * 0x100000001b3ull;
    }
    if (nframes == 0)
        return 0;
    h = (h ^ nframes) | 1;
    uint32_t id = table_find(&stacks, h);
    if (id != 0)
        return id;
    /* a frame in a module loaded since the last look (dlopen) needs the
     * module map to be symbolised once the process is gone */
    unsigned long long adds = 0;
    dl_iterate_phdr(count_modules, &adds);
    if (adds != __atomic_load_n(&modules_seen, __ATOMIC_RELAXED)) {
        __atomic_store_n(&modules_seen, adds, __ATOMIC_RELAXED);
        tg_writer_modules(&tg_g.w);
    }
    id = tg_writer_stack(&tg_g.w, frames, nframes);
    if (id != 0)
        table_insert(&stacks, h, id);
    else
        tg_failure("stack", ENOSPC);
    return id;
}

uint32_t tg_stack_miss(struct tg_thread *t, uint64_t key)
{
    if (tg_tracer_writer() == NULL)
        return 0;               /* no trace (tg_tracer_no_trace): nowhere to keep it */
    int saved = errno;
    /* busy: a signal handler's hook must not capture (libunwind, the
     * table) in the middle of ours; callers on the hot path need not be */
    uint8_t was_busy = t->busy;
    tg_busy(t);
    uint32_t id = table_find(&chains, key);
    if (id == 0) {
        tg_gate_enter();
        id = capture(0);
        tg_gate_leave();
        if (id != 0)
            table_insert(&chains, key, id);
    }
    /* cache even a failure: retrying a capture on every call would turn a
     * full trace into a slow program */
    struct tg_stack_slot *slot = tg_stack_slot_of(t, key);
    slot->key = key;
    slot->id = id;
    if (!was_busy)
        tg_idle(t);
    errno = saved;
    return id;
}

uint32_t tg_tracer_stack(unsigned skip)
{
    struct tg_thread *t = tg_enter();
    if (t == NULL)
        return 0;
    tg_busy(t);
    int saved = errno;
    tg_gate_enter();
    uint32_t id = capture(skip);
    tg_gate_leave();
    errno = saved;
    tg_idle(t);
    return id;
}

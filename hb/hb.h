/* hb/: the happens-before engine behind both race detectors — the
 * in-process runtime of `tangle cc` builds (tracer/race/) and the trace
 * analysis of `tangle run --watch` (detectors/race/). Written once, used by
 * both.
 *
 * The model is FastTrack over TSan-style shadow cells:
 *  - each thread runs in a *slot* (a small integer; a slot is reused by a
 *    later thread only when the creator already happens-after the previous
 *    occupant's end) and carries a vector clock whose own entry is its
 *    *epoch*;
 *  - each 8-byte granule of memory has TG_HB_CELLS shadow cells; a cell is
 *    one past access as an epoch (slot, clock) plus the bytes it touched and
 *    whether it wrote or was atomic — no per-variable vector clock;
 *  - each synchronisation object (mutex, semaphore, atomic variable...) has
 *    a release clock that acquirers join into their own.
 * An access races with a cell when their bytes overlap, one of them writes,
 * not both are atomic, and the cell's epoch is not covered by the accessing
 * thread's clock.
 *
 * Everything allocates with tg_hb_alloc (mmap-backed, never malloc), so the
 * in-process runtime can use it from inside malloc and signal-free hooks.
 * Functions return 0 or -errno; nothing prints.
 */
#ifndef TG_HB_H
#define TG_HB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- memory ---- */

/* Thread-safe allocation from mmap'd slabs; sizes up to 64 KiB are pooled,
 * larger ones are their own mapping. Memory comes zeroed. tg_hb_free needs
 * the size that was asked for. */
void *tg_hb_alloc(size_t size);
void tg_hb_free(void *p, size_t size);
/* Bytes currently mapped by the allocator (for memory figures). */
size_t tg_hb_alloc_mapped(void);

/* A tiny spinlock (yields after spinning a while): the engine's only lock,
 * held for a few hundred instructions at most. */
typedef struct { uint32_t v; } tg_hb_spin;
void tg_hb_spin_lock_slow(tg_hb_spin *l);
static inline void tg_hb_spin_lock(tg_hb_spin *l)
{
    if (__builtin_expect(__atomic_exchange_n(&l->v, 1, __ATOMIC_ACQUIRE) == 0, 1))
        return;
    tg_hb_spin_lock_slow(l);
}
static inline void tg_hb_spin_unlock(tg_hb_spin *l)
{
    __atomic_store_n(&l->v, 0, __ATOMIC_RELEASE);
}

/* ---- vector clocks ---- */

#define TG_HB_SLOT_BITS  14
#define TG_HB_MAX_SLOTS  (1u << TG_HB_SLOT_BITS)
#define TG_HB_EPOCH_BITS 40
#define TG_HB_EPOCH_MAX  ((1ull << TG_HB_EPOCH_BITS) - 1)

/* Entries past len are 0. */
struct tg_hb_vc {
    uint64_t *c;
    uint32_t len, cap;
};

static inline uint64_t tg_hb_vc_get(const struct tg_hb_vc *vc, uint32_t slot)
{
    return slot < vc->len ? vc->c[slot] : 0;
}
int tg_hb_vc_set(struct tg_hb_vc *vc, uint32_t slot, uint64_t value);
/* dst = max(dst, src) entry by entry */
int tg_hb_vc_join(struct tg_hb_vc *dst, const struct tg_hb_vc *src);
int tg_hb_vc_copy(struct tg_hb_vc *dst, const struct tg_hb_vc *src);
/* a <= b entry by entry: everything a knows, b knows */
bool tg_hb_vc_leq(const struct tg_hb_vc *a, const struct tg_hb_vc *b);
void tg_hb_vc_clear(struct tg_hb_vc *vc);
void tg_hb_vc_free(struct tg_hb_vc *vc);

/* ---- threads and slots ---- */

struct tg_hb_thread {
    uint32_t slot;
    uint64_t epoch;             /* == clock.c[slot], cached for the fast path */
    struct tg_hb_vc clock;
};

/* Slot allocation shared by the threads of one process. */
struct tg_hb_slots;
struct tg_hb_slots *tg_hb_slots_new(void);
void tg_hb_slots_free(struct tg_hb_slots *s);
/* Slots ever handed out (the highest slot + 1). */
uint32_t tg_hb_slots_used(const struct tg_hb_slots *s);

/* Starts thread T with the clock the creator had when it created it
 * (PARENT, NULL for a first thread). T's slot is a fresh one or a freed one
 * whose last occupant's end PARENT already covers, so the reuse orders
 * nothing new. Returns 0, -ENOMEM, or -EAGAIN when every slot is taken. */
int tg_hb_thread_start(struct tg_hb_thread *t, struct tg_hb_slots *s,
                       const struct tg_hb_vc *parent);
struct tg_hb_sync;
/* Ends T: publishes its final clock into EXIT (what a joiner acquires; may
 * be NULL) without starting a new epoch, and frees its slot for reuse by a
 * thread whose creator covers that final epoch. */
void tg_hb_thread_end(struct tg_hb_thread *t, struct tg_hb_slots *s, struct tg_hb_sync *exit);
void tg_hb_thread_free(struct tg_hb_thread *t);

/* A new epoch for T: what T does from now on is not covered by what it
 * released before. Returns the new epoch. */
static inline uint64_t tg_hb_tick(struct tg_hb_thread *t)
{
    uint64_t e = t->epoch + 1;
    if (__builtin_expect(e > TG_HB_EPOCH_MAX, 0))
        return t->epoch;        /* saturate: orders a little too much, never crashes */
    t->epoch = e;
    t->clock.c[t->slot] = e;
    return e;
}

/* ---- synchronisation objects ---- */

/* Keyed by address. `clock` is what a releaser published; `read_clock`
 * what rwlock readers published (a reader does not acquire it, so readers
 * stay unordered among themselves; a writer acquires both). */
struct tg_hb_sync {
    uint64_t addr;
    struct tg_hb_sync *next;
    tg_hb_spin lock;
    uint32_t user_kind;         /* free for the caller (object kind) */
    uint64_t user;              /* free for the caller (e.g. a creation stack) */
    struct tg_hb_vc clock;
    struct tg_hb_vc read_clock;
};

struct tg_hb_syncs;
struct tg_hb_syncs *tg_hb_syncs_new(void);
void tg_hb_syncs_free(struct tg_hb_syncs *s);
/* The object at ADDR; created (clocks empty) if CREATE. NULL if absent or
 * out of memory. The pointer stays valid until tg_hb_sync_remove(ADDR). */
struct tg_hb_sync *tg_hb_sync_get(struct tg_hb_syncs *s, uint64_t addr, bool create);
void tg_hb_sync_remove(struct tg_hb_syncs *s, uint64_t addr);
size_t tg_hb_syncs_count(const struct tg_hb_syncs *s);

/* Lock-based operations on a sync object; each takes the object's lock. */
void tg_hb_acquire(struct tg_hb_thread *t, struct tg_hb_sync *o);        /* t ⊔= clock */
void tg_hb_acquire_all(struct tg_hb_thread *t, struct tg_hb_sync *o);    /* t ⊔= clock, read_clock */
void tg_hb_release(struct tg_hb_thread *t, struct tg_hb_sync *o);        /* clock ⊔= t; tick */
void tg_hb_release_store(struct tg_hb_thread *t, struct tg_hb_sync *o);  /* clock = t; tick */
void tg_hb_release_read(struct tg_hb_thread *t, struct tg_hb_sync *o);   /* read_clock ⊔= t; tick */

/* ---- shadow cells ---- */

/* A cell, 64 bits: an access by SLOT at EPOCH to the bytes in MASK of an
 * 8-byte granule, writing or not, atomic or not. 0 is an empty cell. */
typedef uint64_t tg_hb_cell;
#define TG_HB_CELLS        4
#define TG_HB_CELL_WRITE   (1ull << 8)
#define TG_HB_CELL_ATOMIC  (1ull << 9)
#define TG_HB_CELL_SLOT_SHIFT  10
#define TG_HB_CELL_EPOCH_SHIFT (TG_HB_CELL_SLOT_SHIFT + TG_HB_SLOT_BITS)

static inline tg_hb_cell tg_hb_cell_make(uint32_t slot, uint64_t epoch, unsigned mask,
                                         bool write, bool atomic)
{
    return (tg_hb_cell)(mask & 0xffu) | (write ? TG_HB_CELL_WRITE : 0)
         | (atomic ? TG_HB_CELL_ATOMIC : 0)
         | ((tg_hb_cell)slot << TG_HB_CELL_SLOT_SHIFT)
         | (epoch << TG_HB_CELL_EPOCH_SHIFT);
}
static inline unsigned tg_hb_cell_mask(tg_hb_cell c) { return (unsigned)(c & 0xffu); }
static inline bool tg_hb_cell_write(tg_hb_cell c) { return (c & TG_HB_CELL_WRITE) != 0; }
static inline bool tg_hb_cell_atomic(tg_hb_cell c) { return (c & TG_HB_CELL_ATOMIC) != 0; }
static inline uint32_t tg_hb_cell_slot(tg_hb_cell c)
{
    return (uint32_t)(c >> TG_HB_CELL_SLOT_SHIFT) & (TG_HB_MAX_SLOTS - 1);
}
static inline uint64_t tg_hb_cell_epoch(tg_hb_cell c) { return c >> TG_HB_CELL_EPOCH_SHIFT; }
/* The first byte and the size of the bytes in the mask (a contiguous run). */
static inline unsigned tg_hb_cell_offset(tg_hb_cell c) { return (unsigned)__builtin_ctzll(c | 0x100); }
static inline unsigned tg_hb_cell_size(tg_hb_cell c) { return (unsigned)__builtin_popcountll(c & 0xff); }

/* Mask of SIZE bytes at byte OFFSET of a granule (offset + size <= 8). */
static inline unsigned tg_hb_mask(unsigned offset, unsigned size)
{
    return ((1u << size) - 1u) << offset;
}

/* The outcome of one access. */
struct tg_hb_result {
    tg_hb_cell racy;            /* the earlier access it races with, 0 if none */
    int racy_index;             /* which cell held it, -1 if none */
    int stored;                 /* cell index the access was stored in, -1 if not stored */
};

/* Checks access CUR by thread T against CELLS and records it. The slow path
 * (out of line) does the full FastTrack check and picks the cell to keep.
 * Returns true if it raced (res->racy says with what). */
bool tg_hb_access_slow(tg_hb_cell *cells, tg_hb_cell cur, const struct tg_hb_vc *clock,
                       struct tg_hb_result *res);

/* Fast path: the same thread made the same access in the same epoch (or a
 * write covering this read): nothing new to check or store. Cells are read
 * and written with relaxed atomics: a lost update between two threads
 * storing into one granule at once costs a cell, never a false race. */
static inline bool tg_hb_access(tg_hb_cell *cells, tg_hb_cell cur, const struct tg_hb_vc *clock,
                                struct tg_hb_result *res)
{
    for (int i = 0; i < TG_HB_CELLS; i++) {
        tg_hb_cell c = __atomic_load_n(&cells[i], __ATOMIC_RELAXED);
        if (c == cur || c == (cur | TG_HB_CELL_WRITE)) {
            res->racy = 0;
            res->racy_index = -1;
            res->stored = -1;
            return false;
        }
    }
    return tg_hb_access_slow(cells, cur, clock, res);
}

/* ---- shadow memory ---- */

/* A two-level map from application addresses (47 bits) to their cells: a
 * directory of regions, each region's cells one mmap (MAP_NORESERVE, so only
 * the pages of cells really used cost memory). */
#define TG_HB_REGION_SHIFT 22   /* 4 MiB of application memory per region */
#define TG_HB_ADDR_BITS    47
struct tg_hb_shadow {
    tg_hb_cell **dir;           /* 1 << (ADDR_BITS - REGION_SHIFT) entries */
    size_t regions;             /* regions mapped */
    uint32_t *mapped;           /* their directory indexes, in mapping order */
};

int tg_hb_shadow_init(struct tg_hb_shadow *s);
void tg_hb_shadow_fini(struct tg_hb_shadow *s);
tg_hb_cell *tg_hb_shadow_cells_slow(struct tg_hb_shadow *s, uintptr_t addr);

/* The cells of the granule holding ADDR; NULL if ADDR is outside the
 * 47-bit user space or no memory could be had for its region. */
static inline tg_hb_cell *tg_hb_shadow_cells(struct tg_hb_shadow *s, uintptr_t addr)
{
    if (__builtin_expect(addr >> TG_HB_ADDR_BITS, 0))
        return NULL;
    tg_hb_cell *r = __atomic_load_n(&s->dir[addr >> TG_HB_REGION_SHIFT], __ATOMIC_ACQUIRE);
    if (__builtin_expect(r == NULL, 0))
        return tg_hb_shadow_cells_slow(s, addr);
    return r + ((addr & ((1ul << TG_HB_REGION_SHIFT) - 1)) >> 3) * TG_HB_CELLS;
}

/* Forgets every access to [addr, addr+len): memory that was freed, a dead
 * thread's stack. Whole pages of cells are given back to the kernel. */
void tg_hb_shadow_reset(struct tg_hb_shadow *s, uintptr_t addr, size_t len);

/* Bytes of cells resident (touched) right now, from mincore: a figure for
 * benches. */
size_t tg_hb_shadow_resident(const struct tg_hb_shadow *s);

#endif

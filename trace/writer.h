/* trace/: writing a tangle trace. Used by the preloaded tracer (tracer/) and
 * by tests and benches that make synthetic traces.
 *
 * The fast path (tg_stream_emit) is inline: a dictionary probe, a bounds
 * check, a 2- or 4-byte (repeat) or 16-byte store and a release store of
 * the chunk's `used`. No locks, no malloc, no system call. Everything else
 * (claiming a chunk, growing the file, the meta stream) is in writer.c
 * behind the run-wide lock in the file header.
 *
 * Every function returns 0 or -errno; none prints, none aborts.
 */
#ifndef TG_TRACE_WRITER_H
#define TG_TRACE_WRITER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "trace/format.h"

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#define TG_WRITER_MAX_MODULES 512

/* A process's handle on the trace: the shared mapping of the whole file.
 * One per process; after fork the child calls tg_writer_after_fork(). */
/* Closed chunks whose unused pages are given back together (trace/writer.c). */
#define TG_WRITER_TAIL_BATCH 32u

struct tg_writer {
    int fd;
    struct tg_file_header *hdr;   /* start of the mapping */
    size_t reserved;              /* bytes of address space reserved for the mapping */
    uint32_t process;             /* this process's index */
    uint32_t clock;               /* enum tg_clock, copied from the header */
    /* the meta stream's current chunk is shared by all processes: found
     * through the header under the lock, never cached here */

    /* Thread index reserved for the process's first thread (the one that
     * called tg_writer_open or, in a fork child, tg_writer_after_fork); its
     * PROCESS record names it. Pass it to tg_stream_init for that thread. */
    uint32_t first_thread;
    /* identity of the file behind fd, checked before growing it, and its
     * absolute path to reopen it if the program closed or reused the fd */
    uint64_t dev, ino;
    char path[4096];
    /* modules already recorded by this process (or inherited over fork,
     * which the reader mirrors): hashes of base, range and path */
    uint32_t nmodules;
    uint64_t modules[TG_WRITER_MAX_MODULES];
    /* Chunks below this index have their pages populated already (by
     * tracer/'s prefault helper): a claim of one skips its own populate
     * call. Written with atomics; 0 when nobody populates ahead. */
    uint64_t populated;
    /* Set (under the run-wide lock) by the root's finish before it trims
     * the file: tg_writer_grow then grows it no more, so a helper still
     * running at exit cannot undo the trim. */
    bool finishing;
    /* Closed chunks of this process whose pages past their records are
     * still to be given back (tg_writer_release_tail), under the lock. */
    uint32_t ntails;
    uint64_t tails[TG_WRITER_TAIL_BATCH];
};

/* The tracer interposes pthread_mutex_*; the run-wide lock must be taken with
 * the real functions. Members left NULL use the libc functions this library
 * was linked against. Set once, before tg_writer_open. */
struct tg_writer_sync_ops {
    int (*mutex_init)(pthread_mutex_t *, const pthread_mutexattr_t *);
    int (*mutex_lock)(pthread_mutex_t *);
    int (*mutex_unlock)(pthread_mutex_t *);
    int (*mutex_consistent)(pthread_mutex_t *);
    int (*mutexattr_init)(pthread_mutexattr_t *);
    int (*mutexattr_setpshared)(pthread_mutexattr_t *, int);
    int (*mutexattr_setrobust)(pthread_mutexattr_t *, int);
    int (*mutexattr_destroy)(pthread_mutexattr_t *);
};
void tg_writer_set_sync_ops(const struct tg_writer_sync_ops *ops);

/* A remembered record (format.h): tg_dict_key and stack id. */
struct tg_dict_ent {
    uint64_t key;
    uint64_t stack;
};

/* A thread's stream: lives in the thread's TLS, written only by it. */
struct tg_stream {
    struct tg_writer *w;
    struct tg_chunk_header *chunk;   /* NULL until the first record */
    uint8_t *pos, *end;              /* free space of the current chunk */
    uint64_t tick_base;
    uint64_t last_tick;              /* the chunk's last event: short records count from it */
    uint8_t mru[TG_DICT_SLOTS / 2];  /* the way of set 2n used last */
    struct tg_dict_ent dict[TG_DICT_SLOTS];   /* emptied with each new chunk */
    uint32_t owner;                  /* thread index */
    uint32_t seq;                    /* next chunk's sequence number */
    uint64_t lost;                   /* records dropped since the last LOST record */
    uint64_t retry_at;               /* lost count at which to try for space again */
    uint64_t fail_tick;              /* when space last could not be had */
};

/* Opens PATH for writing: creates and initialises it if it is empty or does
 * not exist, joins it otherwise (another process of the run made it; exec'd
 * images and tracers started under `tangle run` join). Allocates this
 * process's index and writes its PROCESS meta record and module map.
 * PROGRAM is argv[0] (for the header of a new file), CMDLINE argv joined.
 * A new file's clock is the TSC when it is invariant (constant_tsc and
 * nonstop_tsc), CLOCK_MONOTONIC otherwise; TANGLE_CLOCK=monotonic|tsc in
 * the environment overrides the choice. Returns -EPROTO if PATH holds
 * something that is not a trace this writer can append to. */
int tg_writer_open(struct tg_writer *w, const char *path, const char *program,
                   const char *cmdline);

/* The executable's path into BUF (LEN > 0), "" if it cannot be had; its
 * length. Works after main() left through pthread_exit. */
size_t tg_writer_self_exe(char *buf, size_t len);
/* In a fork child: new process index and PROCESS record (parent = the
 * forking process). The mapping is inherited; nothing is reopened. The
 * child's thread must then start a fresh stream with w->first_thread: the
 * stream it inherited belongs to the parent's thread. */
int tg_writer_after_fork(struct tg_writer *w, uint32_t parent_process);
/* The same in two steps, so that the parent's FORK record can name the
 * child's process index: the parent reserves it before fork (atomic, never
 * fails), the child registers under it. (Added for tracer/'s fork hook.) */
uint32_t tg_writer_reserve_process(struct tg_writer *w);
int tg_writer_after_fork_as(struct tg_writer *w, uint32_t parent_process,
                            uint32_t process);
/* Process end: marks FINISHED + exit status if this is the root process,
 * closes nothing the kernel would not (the mapping stays valid for other
 * threads still writing). Not for an image about to exec: the new image
 * joins the file and finishes it (same pid, so still the root). */
void tg_writer_finish(struct tg_writer *w, int wait_status);
/* For the launcher that reaped the root process (`tangle run`): when the
 * trace is not finished (the process was killed by SIGKILL and could not
 * finish it), records WAIT_STATUS as its end and gives back the file's
 * space past the last chunk, as tg_writer_finish would have. A finished
 * trace is left as it is. 0 or -errno (-EPROTO: not a trace of this
 * version). */
int tg_writer_finish_reaped(const char *path, int wait_status);
/* Adds feature bits (TG_FEAT_RACES, TG_FEAT_WATCH) to the file header. */
void tg_writer_add_features(struct tg_writer *w, uint64_t features);

uint32_t tg_writer_new_thread(struct tg_writer *w);   /* atomic, never fails */

/* The run-wide lock (also declared in trace/internal.h, where writer.c's
 * users find it). Public for tracer/'s prefault helper, which reads pages
 * past the last chunk and must not race with the root's trim of the file.
 * 0 or -errno. (Added for tracer/.) */
int tg_writer_lock(struct tg_writer *w);
void tg_writer_unlock(struct tg_writer *w);

/* Grows the file (blocks allocated) so that it holds at least END bytes,
 * ahead of any claim: a claim that finds its chunk inside the file makes
 * no system call, and pages can be populated before they are needed.
 * Takes the run-wide lock. 0 or -errno (-ENOSPC past the mapping); does
 * nothing once this process has finished the trace. (Added for tracer/'s
 * prefault helper.) */
int tg_writer_grow(struct tg_writer *w, uint64_t end);

/* Meta stream appends, serialised by the run-wide lock. */
int tg_writer_meta(struct tg_writer *w, const struct tg_meta *rec);
/* Records a stack; returns its new id (>0) or 0 if it could not. */
uint32_t tg_writer_stack(struct tg_writer *w, const uint64_t *frames, uint32_t n);
/* Rescans the loaded modules (dl_iterate_phdr) and records those not yet
 * recorded for this process. Call when a new address is unknown (dlopen). */
int tg_writer_modules(struct tg_writer *w);

/* ---- time ---- */
static inline uint64_t tg_tick(uint32_t clock)
{
#if defined(__x86_64__) || defined(__i386__)
    if (__builtin_expect(clock == TG_CLOCK_TSC, 1))
        return __rdtsc();
#endif
    (void)clock;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- streams ---- */
void tg_stream_init(struct tg_stream *s, struct tg_writer *w, uint32_t thread);
/* Slow path: claims a new chunk or writes a TIME record, then reserves room.
 * Returns NULL (and counts the record lost) if no space can be had. */
struct tg_record *tg_stream_reserve_slow(struct tg_stream *s, unsigned nslots,
                                         uint64_t tick);
/* Closes the stream's chunk (thread end, and the exiting thread at process
 * end): readers stop waiting on it, and the chunk's pages past its records
 * go back to the file system (a hole; one system call). */
void tg_stream_close(struct tg_stream *s);

/* Padding before a full record at P: to 4 bytes, to 8 with payload. */
static inline size_t tg_record_pad(const uint8_t *p, unsigned nslots)
{
    size_t align = nslots ? 8 : 4;
    return (align - ((uintptr_t)p & (align - 1))) & (align - 1);
}

/* The inline part of a reservation: NULL when the slow path must run
 * (no chunk, chunk full, time base too old), with nothing changed. */
static inline struct tg_record *tg_stream_reserve_fast(struct tg_stream *s, unsigned nslots,
                                                       uint64_t tick)
{
    size_t pad = s->pos ? tg_record_pad(s->pos, nslots) : 0;
    size_t need = pad + (size_t)(1 + nslots) * sizeof(struct tg_record);
    if (__builtin_expect(s->pos == NULL || (size_t)(s->end - s->pos) < need
                         || tick - s->tick_base > UINT32_MAX, 0))
        return NULL;
    if (pad)
        memset(s->pos, TG_PAD_TAG, pad);
    struct tg_record *r = (struct tg_record *)(s->pos + pad);
    r->dt = (uint32_t)(tick - s->tick_base);
    s->last_tick = tick;
    s->pos += need;
    return r;
}

/* Reserves a record and NSLOTS payload slots; returns NULL if lost. The
 * caller fills the payload, then calls tg_stream_commit. */
static inline struct tg_record *tg_stream_reserve(struct tg_stream *s, unsigned nslots,
                                                  uint64_t tick)
{
    struct tg_record *r = tg_stream_reserve_fast(s, nslots, tick);
    return __builtin_expect(r != NULL, 1) ? r : tg_stream_reserve_slow(s, nslots, tick);
}

static inline void tg_stream_commit(struct tg_stream *s)
{
    uint32_t used = (uint32_t)(s->pos - (uint8_t *)(s->chunk + 1));
    __atomic_store_n(&s->chunk->used, used, __ATOMIC_RELEASE);
}

static inline void tg_record_fill(struct tg_record *r, unsigned kind, unsigned arg,
                                  uint64_t obj, uint32_t stack)
{
    r->kind = (uint8_t)kind;
    r->arg = (uint8_t)arg;
    r->obj_hi = (uint16_t)(obj >> 32);
    r->obj_lo = (uint32_t)obj;
    r->stack = stack;
}

/* The repeat of a remembered record, as a short record (2 bytes when its
 * dt is below 256 ticks, else 4): true when written (and published).
 * False when a full record must be written, in *SLOT: the set's least
 * recently used way. */
static inline bool tg_stream_emit_short(struct tg_stream *s, uint64_t key, uint32_t stack,
                                        uint64_t tick, unsigned *slot)
{
    unsigned set = tg_dict_set(key, stack);
    const struct tg_dict_ent *e = &s->dict[set];
    unsigned way;
    if (__builtin_expect(e[0].key == key && e[0].stack == stack, 1))
        way = 0;
    else if (e[1].key == key && e[1].stack == stack)
        way = 1;
    else {
        *slot = set + !s->mru[set >> 1];
        return false;
    }
    uint64_t dt = tick - s->last_tick;
    uint8_t *p = s->pos;
    if (__builtin_expect(dt >= TG_SHORT_DT_LIMIT || s->end - p < 4, 0)) {
        *slot = set + way;
        return false;
    }
    s->mru[set >> 1] = (uint8_t)way;
    unsigned slot_used = set + way;
    if (__builtin_expect(dt < TG_TINY_DT_LIMIT && slot_used != 63, 1)) {
        uint16_t half = (uint16_t)(dt << 8 | TG_TINY_TAG | slot_used);
        memcpy(p, &half, sizeof half);
        p += sizeof half;
    } else {
        uint32_t word = (uint32_t)dt << 8 | TG_SHORT_TAG | slot_used;
        memcpy(p, &word, sizeof word);
        p += sizeof word;
    }
    s->pos = p;
    s->last_tick = tick;
    tg_stream_commit(s);
    return true;
}

/* Fills a reserved record that the stream remembers in SLOT, so that its
 * repeats can be short, and publishes it. */
static inline void tg_stream_fill_remembered(struct tg_stream *s, struct tg_record *r,
                                             unsigned kind, unsigned arg, uint64_t obj,
                                             uint32_t stack, uint64_t key, unsigned slot)
{
    tg_record_fill(r, kind, arg, obj, stack | slot << 25 | TG_STACK_REMEMBER);
    s->dict[slot].key = key;
    s->dict[slot].stack = stack;
    s->mru[slot >> 1] = slot & 1;
    tg_stream_commit(s);
}

/* The hot path: one record, no payload; short when it repeats one. */
static inline void tg_stream_emit(struct tg_stream *s, unsigned kind, unsigned arg,
                                  uint64_t obj, uint32_t stack, uint64_t tick)
{
    uint64_t key = tg_dict_key(kind, arg, obj);
    unsigned slot;
    if (__builtin_expect(tg_stream_emit_short(s, key, stack, tick, &slot), 1))
        return;
    struct tg_record *r = tg_stream_reserve(s, 0, tick);
    if (__builtin_expect(r == NULL, 0))
        return;
    tg_stream_fill_remembered(s, r, kind, arg, obj, stack, key, slot);
}

/* One record with one payload slot. */
static inline void tg_stream_emit1(struct tg_stream *s, unsigned kind, unsigned arg,
                                   uint64_t obj, uint32_t stack, uint64_t tick,
                                   uint64_t a, uint64_t b)
{
    struct tg_record *r = tg_stream_reserve(s, 1, tick);
    if (__builtin_expect(r == NULL, 0))
        return;
    tg_record_fill(r, kind, arg, obj, stack);
    struct tg_slot p = { a, b };
    memcpy(r + 1, &p, sizeof p);
    tg_stream_commit(s);
}

/* A record with LEN bytes of variable payload (THREAD_NAME, RACE): arg is
 * set to the slot count. LEN is capped at 254 slots. */
void tg_stream_emit_var(struct tg_stream *s, unsigned kind, uint64_t obj,
                        uint32_t stack, uint64_t tick, const void *data, size_t len);

#endif

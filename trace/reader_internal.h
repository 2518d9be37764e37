/* trace/: the reader's private state, shared by reader.c (open, mapping,
 * clock), merge.c (streams, heap, follow), reader_meta.c (meta stream) and
 * tables.c (threads, processes, modules, stacks). */
#ifndef TG_TRACE_READER_INTERNAL_H
#define TG_TRACE_READER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trace/internal.h"
#include "trace/trace.h"

/* A list of chunk indices in claim order (= the order of the stream). */
struct chunk_list {
    uint32_t *idx;
    uint32_t n, cap;
};

/* What the reader knows of a chunk, by index. Data chunks are read with
 * pread (merge.c says why), so their headers are copied here. */
struct chunk_info {
    uint64_t tick_base;
    uint32_t used;              /* bytes published, as last read */
    bool     closed;            /* as last read */
};

/* One thread's stream of records. */
struct rstream {
    const uint8_t *pos, *end;   /* unread records in the window */
    uint8_t *buf;               /* the window: part of the current chunk's payload */
    uint32_t win_off;           /* payload offset of buf[0] */
    uint32_t bufcap;            /* bytes of buf */
    uint32_t avail;             /* payload bytes published and in the file */
    uint64_t tick_base;
    uint64_t head;              /* tick of the record at pos, when in the heap */
    uint64_t last;              /* tick of the last record returned (frontier) */
    uint32_t head_bytes;        /* size of the record at pos, with its payload */
    uint32_t thread, process;
    uint32_t cur;               /* position in chunks of the current chunk */
    struct chunk_list chunks;
    bool in_heap;
    bool listed;                /* in tg_trace.active */
    bool quiet;                 /* its thread or process ended: not a frontier */
    bool thread_exited;         /* THREAD_EXIT read: an EXEC_FAIL does not revive it */
    bool cut;                   /* its current chunk is cut short by the file's end */
    bool started;               /* a first record was returned */
    uint8_t polls;              /* header reads of the current chunk (merge.c) */
    /* the chunk's remembered records (format.h), which short ones repeat,
     * decoded once (merge.c); kind 0: nothing remembered */
    struct rdict {
        uint64_t obj;
        uint32_t stack;
        uint16_t kind;
        uint8_t arg, result, mtype;
        bool timed, pshared;
    } dict[TG_DICT_SLOTS];
    /* the dictionary's events, whole, so that a run's record is one copy
     * (merge.c); bit i of tmpl_ok: tmpl[i] is dict[i]'s event. Allocated
     * by the stream's first run, freed with the window. */
    struct tg_ev *tmpl;
    uint64_t tmpl_ok;
    uint64_t dict_used;         /* bit i: dict[i] holds a record */
};

#define TG_RUN_MAX 128          /* records of a run (merge.c) */

struct heap_ent {               /* the stream is by_thread[thread] */
    uint64_t key;
    uint32_t thread;
};

struct rprocess {
    struct tg_process_info info;
    uint64_t exec_exit_ts;      /* its PROCESS_EXIT (exec), until an EXEC_FAIL voids it */
    bool exec_exit;
    struct tg_module_info *mods;   /* its own modules */
    size_t nmods, cap;
    struct tg_module_info *view;   /* own + inherited, as last returned */
    size_t nview;
    uint64_t view_gen;
};

struct rstack {
    uint64_t off;               /* file offset of frames[] */
    uint32_t n;
};

struct pthread_ent {            /* (process, pthread) -> thread, latest start */
    uint64_t pthread;
    uint32_t process;
    uint32_t thread;            /* latest started with it, or TG_NO_THREAD */
    uint32_t created;           /* created with it, not started yet, or TG_NO_THREAD */
};

struct tg_trace {
    int fd;
    unsigned flags;
    const uint8_t *map;         /* current mapping of the file */
    size_t map_len;
    struct old_map { const void *p; size_t len; } *old_maps;  /* kept: pointers into them were handed out */
    size_t nold;
    uint64_t file_size;         /* bytes of the file we may touch */
    const struct tg_file_header *hdr;

    /* copied from the header at open */
    uint32_t clock;
    uint64_t tick0, mono_ns0;
    bool same_boot;             /* the writer's clock is our clock */

    /* tick -> ns: ns = (tick - tick0) * rate, rate from the calibration
     * pair farthest from the origin */
    double rate;
    uint64_t rate_fx;           /* rate * 2^48: a multiply per event, not two conversions */
    uint64_t cal_tick, cal_ns;  /* that pair */
    uint64_t last_ts;           /* ts returned last: output never goes back */
    uint64_t last_own_cal;      /* mono ns of our last own calibration sample */

    /* streams */
    uint32_t scanned;           /* chunks examined */
    struct chunk_info *cinfo;   /* by chunk index, scanned of them */
    uint32_t cinfo_cap;
    struct rstream **by_thread; /* thread index -> stream */
    uint32_t nby_thread;
    struct rstream **active;    /* streams that may still produce records */
    uint32_t nactive, cap_active;
    struct heap_ent *heap;
    uint32_t nheap, cap_heap;
    struct heap_ent runner_up;  /* the top's smallest child (merge.c) */
    /* a run of the top stream's short records, handed out one per call
     * without heap or stream work (merge.c): all before the runner-up and
     * within the bound; the stream's own state moves past them at the end */
    struct run_ent { uint64_t ts; const struct tg_ev *tmpl; } run[TG_RUN_MAX];
    uint32_t run_i, run_n;
    struct rstream *run_s;
    const uint8_t *run_end;     /* in run_s's window: after the run */
    uint64_t run_last;          /* tick of the run's last record */
    uint64_t bound;             /* follow: ticks at or below it may be returned */
    /* a truncated trace: the last tick of the earliest stream whose records
     * the file's end cut off; nothing after it is returned (merge.c) */
    uint64_t damage;
    /* follow: threads created whose stream has not appeared yet (merge.c) */
    struct pending_child { uint32_t thread; uint64_t tick; } *pending;
    uint32_t npending, cap_pending;

    /* meta stream */
    struct chunk_list meta;
    uint32_t meta_cur, meta_off;

    /* tables */
    struct tg_thread_info **threads;
    uint32_t nthreads_cap, nthreads;
    struct rprocess **procs;
    uint32_t nprocs_cap, nprocs;
    struct rstack *stacks;
    uint32_t nstacks_cap, nstacks;
    uint64_t mod_gen;           /* bumped by every module recorded */
    struct pthread_ent *pmap;
    uint32_t pmap_cap, pmap_n;
    const char **early_names;   /* by thread index: named before it started */
    uint32_t early_names_cap;
    struct arena_block *arena;

    /* state and counters */
    int err;                    /* sticky: corruption seen */
    char errmsg[160];
    bool truncated;             /* the file ends before something it announces */
    bool finished;              /* header said finished before the last refresh */
    uint64_t events, lost;
    uint64_t end_tick;          /* last record's tick (finished traces), 0 = unknown */
    char strbuf[256 * 16 + 1];
};

/* reader.c */
int tg_reader_fail(struct tg_trace *t, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int tg_reader_remap(struct tg_trace *t);   /* follows the file's growth */
void tg_reader_calib_point(struct tg_trace *t, uint64_t tick, uint64_t ns);
static inline uint64_t tg_reader_ns(const struct tg_trace *t, uint64_t tick)
{
    if (tick <= t->tick0)
        return 0;
    uint64_t d = tick - t->tick0;
    if (t->clock != TG_CLOCK_TSC)
        return d;
    return (uint64_t)(((unsigned __int128)d * t->rate_fx) >> 48);
}
/* Sets the tick -> ns rate (0.01 to 100 ns a tick). */
static inline void tg_reader_set_rate(struct tg_trace *t, double rate)
{
    t->rate = rate;
    t->rate_fx = (uint64_t)(rate * 281474976710656.0);   /* 2^48 */
}
bool tg_reader_now_tick(struct tg_trace *t, uint64_t *tick);
/* Follow mode: THREAD_CREATE of CHILD at TICK was read (merge.c). */
void tg_reader_child_created(struct tg_trace *t, uint32_t child, uint64_t tick);

/* merge.c */
int tg_reader_scan(struct tg_trace *t);    /* new chunks -> streams */
int tg_reader_refresh(struct tg_trace *t);
/* Bytes of chunk IDX the file holds (less than USED if the file was cut). */
uint32_t tg_reader_in_file(const struct tg_trace *t, uint32_t idx, uint32_t used);
/* File offset of chunk IDX's payload. */
static inline uint64_t tg_reader_payload_off(uint32_t idx)
{
    return TG_HEADER_SIZE + (uint64_t)idx * TG_CHUNK_SIZE + sizeof(struct tg_chunk_header);
}
void tg_reader_free_streams(struct tg_trace *t);
uint64_t tg_reader_end_tick(struct tg_trace *t);

/* reader_meta.c */
int tg_reader_meta(struct tg_trace *t);    /* reads newly published meta records */

/* tables.c */
char *tg_reader_strdup(struct tg_trace *t, const char *s, size_t len);
int tg_reader_add_process(struct tg_trace *t, const struct tg_meta_process *m, size_t len);
int tg_reader_add_module(struct tg_trace *t, const struct tg_meta_module *m, size_t len);
int tg_reader_add_stack(struct tg_trace *t, const struct tg_meta_stack *m, uint64_t off);
void tg_reader_on_event(struct tg_trace *t, struct rstream *s, const struct tg_ev *ev);
void tg_reader_free_tables(struct tg_trace *t);
void *tg_reader_alloc(struct tg_trace *t, size_t size);   /* freed at close */
int tg_list_push(struct chunk_list *l, uint32_t v);
void *tg_grow(void *p, uint32_t *cap, uint32_t need, size_t elem);

#endif

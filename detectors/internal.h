/* detectors/ internals shared by its .c files; never included elsewhere.
 *
 * The analysis keeps one table of objects (locks, conditions, semaphores,
 * barriers) keyed by (process, address), one of threads indexed by the
 * trace's thread index, and one of processes. analysis.c dispatches each
 * event to the bookkeeping in state.c, which calls the lock graph
 * (lockgraph*.c), the wait-for graph (waitgraph.c) and the misuse checks
 * (misuse.c); all of them report through findings.c.
 */
#ifndef TG_DETECTORS_INTERNAL_H
#define TG_DETECTORS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "detectors/detectors.h"

#define NONE UINT32_MAX

/* ---- map.c: open addressing, (a, b) -> u32; no deletion (values are
 * overwritten instead). Keys (UINT64_MAX, UINT64_MAX) are reserved. */
struct dmap {
    uint64_t *ka, *kb;
    uint32_t *val;
    uint32_t cap, count;        /* cap is a power of two */
};
int dmap_init(struct dmap *m, uint32_t cap);
void dmap_free(struct dmap *m);
uint32_t *dmap_find(const struct dmap *m, uint64_t a, uint64_t b);
int dmap_put(struct dmap *m, uint64_t a, uint64_t b, uint32_t val);

static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 30; x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27; x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}
static inline uint64_t hash2(uint64_t h, uint64_t v) { return mix64(h ^ mix64(v + 0x9e3779b97f4a7c15ull)); }

/* growable arrays: ensure room for N more elements */
int grow(void **p, uint32_t *cap, uint32_t need, size_t elem);
#define GROW(arr, cap, need) \
    ((need) <= (cap) ? 0 : grow((void **)&(arr), &(cap), (need), sizeof *(arr)))

/* ---- objects */
struct dheld {
    uint32_t obj;
    uint8_t  mode;              /* enum tg_lock_mode */
    uint32_t count;             /* recursive holds */
    uint32_t stack;
    uint64_t ts;
};

struct dobj {
    uint64_t addr;
    uint32_t process, generation;
    uint8_t  kind, mtype;
    bool     pshared, site_is_init, dead;
    uint32_t site_stack, site_thread;
    uint64_t site_ts;
    /* holds */
    uint32_t owner;             /* exclusive or write holder, NONE */
    uint32_t nreaders, capreaders;
    uint32_t *readers;          /* read holders, one entry per hold */
    uint32_t waiters;           /* threads in a request / wait on it */
    /* lock graph */
    uint32_t *out, *in;         /* edge ids */
    uint32_t nout, capout, nin, capin;
    /* its place in the order of components (lockgraph_order.c) */
    bool     ordered;
    uint8_t  pk_flags;
    uint32_t ord, scc, pk_epoch;
    uint32_t *members;          /* on a component's representative, when > 1 */
    uint32_t nmembers, capmembers;
    uint32_t bfs_epoch[2], bfs_edge[2];
    uint8_t  bfs_from_mode[2], bfs_combo[2];
    /* condition variable */
    uint32_t cond_mutex;        /* obj id of the mutex of its current waiters, NONE */
    uint32_t cond_mutex_thread, cond_mutex_stack;
    uint32_t wakeups;           /* signalled waiters that have not returned yet */
    bool     unheard;           /* last signal/broadcast found no waiter */
    uint32_t unheard_thread, unheard_stack;
    uint16_t unheard_event;
    uint64_t unheard_ts;
    /* semaphore: posts not yet taken by a waiter; barrier: count, arrived */
    uint32_t posts;
    uint32_t bcount, barrived;
};

/* ---- threads */
enum { TH_UNKNOWN = 0, TH_PENDING, TH_LIVE, TH_DEAD };

struct dthread {
    uint32_t index;
    uint32_t alive_pos;         /* in tg_analysis.alive, NONE when dead or unknown */
    uint8_t  state;
    bool     seen;              /* any event from it */
    bool     exec_ended;        /* ended by its process's exec (which may fail) */
    bool     lost;              /* the tracer lost some of its events */
    uint32_t process;
    uint64_t pthread;
    struct dheld *held;
    uint32_t nheld, capheld;
    uint64_t heldhash;          /* xor of held_hash() of its holds */
    /* the call it is in */
    uint8_t  wait, wmode;       /* enum tg_wait, enum tg_lock_mode */
    bool     wtimed, wpshared, blocked, wedges;
    bool     woken;             /* counted as woken by a signal/post it has not returned from */
    uint16_t wevent;
    uint32_t wobj, wtarget, wstack, wserial;
    uint64_t wts, wpthread;     /* wpthread: the pthread_t a join names */
    /* locks whose hold another thread's acquisition took over (its release
     * was still on its way: events reordered live, or lost): the release
     * that comes later is that one, not a misuse */
    uint32_t displaced[4];
    uint8_t  ndisplaced, displaced_next;    /* entries in use (at most 4), next slot */
    /* the mutex a condition wait gave back, re-held when it returns */
    struct dheld cond_held;
    bool     cond_has_held;
    /* (held set, lock, mode) acquisitions whose edges and labels are all
     * known: repeats skip the lock graph (labels are never removed) */
    uint64_t seen_acq[64];
    uint32_t joiner;            /* thread blocked joining this one, NONE */
    uint32_t ncands;            /* deadlock candidates it is part of */
    uint32_t bfs_epoch, bfs_parent;
};

struct dproc {
    bool     seen, exited, forked_child;
    bool     exec_exited;       /* exited by exec: a failed exec goes on */
    uint32_t live, pending, blocked, blocked_pshared;
    uint32_t parent_process;    /* forked_child: who forked it */
    struct dheld *inherit;      /* held by the forking thread, for the child's first thread */
    uint32_t ninherit;
};

/* ---- lock graph (lockgraph.c) */
#define LABELS_MAX 8
#define REJECTED_MAX 4

struct dlabel {
    uint64_t key;
    uint32_t thread;
    uint8_t  hmode, rmode;      /* 0 read, 1 write/exclusive */
    uint16_t revent;
    uint32_t hstack, rstack;
    uint64_t hts, rts;
    uint32_t ngates;
    struct dheld *gates;        /* other locks held, sorted by obj */
};

struct dedge {
    uint32_t from, to;
    uint8_t  combos;            /* bit (hmode*2 + rmode) set when a label has it */
    uint8_t  nlabels, rejpos;
    uint64_t keys[LABELS_MAX];  /* labels[i].key, kept here: one cache line to scan */
    uint64_t rejected[REJECTED_MAX];
    struct dlabel *labels;      /* LABELS_MAX */
};

/* ---- deadlock candidates (waitgraph.c) */
struct dcand {
    uint8_t  form;              /* enum tg_deadlock_form */
    bool     confirmed, broken;
    uint32_t process;
    uint64_t t0;
    uint32_t n;
    uint32_t *threads, *serials;
    struct tg_finding *f;       /* built when it formed; owned until committed */
};

/* ---- findings (findings.c) */
struct fbuild {
    struct tg_finding f;
    struct tg_obj_ref *objs;
    uint32_t *obj_ids;          /* analysis obj id of each objs[] entry, NONE for none */
    uint32_t nobjs, capobjs;
    struct tg_step *steps;
    uint32_t nsteps, capsteps;
    uint32_t *others_off;       /* where each step's others start in pool */
    struct tg_held_ref *pool;   /* the others of all steps */
    uint32_t npool, cappool;
    struct dmap idx;            /* obj id -> objs index, once there are many */
    bool     idx_ready, oom;
};

struct pk;

struct tg_analysis {
    struct tg_analysis_config cfg;
    uint64_t settle_ns;
    bool     oom;
    uint64_t last_ts;
    struct tg_analysis_counters counters;

    /* objects and edges live in pages so pointers to them stay valid */
    struct dmap objmap;         /* (process, addr) -> obj id */
    uint32_t last_obj;          /* st_obj's last answer, NONE: a lock loop asks again and again */
    /* analysis.c's lock-pair fast path: the thread and lock of the last
     * pair and what it looked up for them (threads, processes and object
     * pages never move, so the pointers stay valid) */
    struct dthread *fast_t;     /* NULL: none yet, or the config rules it out */
    uint32_t fast_process;
    uint32_t fast_obj;          /* NONE: none yet */
    struct dobj *fast_o;
    uint64_t fast_hash;         /* held_hash(fast_obj, exclusive) */
    struct dobj **objpages;
    uint32_t nobjs, capobjpages;

    struct dthread **threads;   /* by thread index, NULL until seen */
    uint32_t capthreads;
    uint32_t *alive;            /* indexes of the threads live or pending, any order */
    uint32_t nalive, capalive;
    struct dmap pthmap;         /* (process, pthread_t) -> thread */

    struct dproc **procs;       /* by process index */
    uint32_t capprocs;
    uint32_t first_process;
    uint32_t unresolved_joins;  /* joins whose target has not been seen yet */
    uint32_t g_live, g_pending, g_blocked;

    struct dmap edgemap;        /* (from << 32 | to) -> edge id */
    struct dedge **edgepages;
    uint32_t nedges, capedgepages;
    uint32_t bfs_epoch;
    uint32_t next_ord, pk_epoch;
    struct pk *pk;              /* lockgraph_order.c's work buffers */
    uint32_t *scratch;          /* BFS queue etc. */
    uint32_t capscratch;

    struct dcand **cands;
    uint32_t ncands, capcands;
    uint32_t tbfs_epoch;

    struct tg_finding **findings;
    uint32_t nfindings, capfindings;
    struct dmap keymap;         /* key -> finding index */
    const struct tg_finding **view;
    uint32_t nview, capview;
    bool     view_dirty;

    struct rc_watch *race;      /* detectors/race/: happens-before over the trace */
};

#define PAGE_BITS 10
#define PAGE_SIZE_ (1u << PAGE_BITS)
static inline struct dobj *OBJ(const struct tg_analysis *a, uint32_t id)
{
    return &a->objpages[id >> PAGE_BITS][id & (PAGE_SIZE_ - 1)];
}
static inline struct dedge *EDGE(const struct tg_analysis *a, uint32_t id)
{
    return &a->edgepages[id >> PAGE_BITS][id & (PAGE_SIZE_ - 1)];
}
/* Appends a zeroed element to a paged array; returns its id or NONE. */
uint32_t page_alloc(void ***pages, uint32_t *cappages, uint32_t *n, size_t elem);

/* state.c */
struct dthread *st_thread_new(struct tg_analysis *a, uint32_t index);
struct dproc *st_proc_new(struct tg_analysis *a, uint32_t index);
/* Thread INDEX (created at first sight), NULL if out of range or no memory. */
static inline struct dthread *st_thread(struct tg_analysis *a, uint32_t index)
{
    if (__builtin_expect(index < a->capthreads && a->threads[index] != NULL, 1))
        return a->threads[index];
    return st_thread_new(a, index);
}
static inline struct dproc *st_proc(struct tg_analysis *a, uint32_t index)
{
    if (__builtin_expect(index < a->capprocs && a->procs[index] != NULL, 1))
        return a->procs[index];
    return st_proc_new(a, index);
}
uint32_t st_obj(struct tg_analysis *a, const struct tg_ev *ev, uint8_t kind);
uint32_t st_obj_find(struct tg_analysis *a, uint32_t process, uint64_t addr);
void st_obj_init(struct tg_analysis *a, const struct tg_ev *ev, uint8_t kind);
void st_obj_destroy(struct tg_analysis *a, const struct tg_ev *ev, uint8_t kind);
struct dheld *st_holds(struct dthread *t, uint32_t obj);
void st_held_add(struct tg_analysis *a, struct dthread *t, uint32_t thread,
                 const struct dheld *in);
void st_held_drop(struct tg_analysis *a, uint32_t thread, uint32_t obj);
/* state_threads.c: counts THREAD as blocked (or not) in its process */
void st_set_blocked(struct tg_analysis *a, struct dthread *t, bool on);
void st_acquire(struct tg_analysis *a, const struct tg_ev *ev, uint32_t obj,
                uint8_t mode, bool blocking);
void st_release(struct tg_analysis *a, const struct tg_ev *ev, uint8_t kind);
void st_request(struct tg_analysis *a, const struct tg_ev *ev, uint8_t kind, uint8_t mode);
void st_request_end(struct tg_analysis *a, const struct tg_ev *ev, uint8_t kind, uint8_t mode,
                    bool acquired);
void st_wait_begin(struct tg_analysis *a, struct dthread *t, const struct tg_ev *ev,
                   uint8_t wait, uint32_t obj, bool timed);
void st_wait_end(struct tg_analysis *a, struct dthread *t, const struct tg_ev *ev);
void st_cond_wait(struct tg_analysis *a, const struct tg_ev *ev);
void st_cond_woke(struct tg_analysis *a, const struct tg_ev *ev);
void st_cond_signal(struct tg_analysis *a, const struct tg_ev *ev);
/* Any event from a thread makes it live (its THREAD_START may predate the trace). */
void st_touch(struct tg_analysis *a, struct dthread *t, uint32_t process);
void st_thread_start(struct tg_analysis *a, const struct tg_ev *ev);
void st_thread_create(struct tg_analysis *a, const struct tg_ev *ev);
void st_thread_exit(struct tg_analysis *a, const struct tg_ev *ev);
void st_join(struct tg_analysis *a, const struct tg_ev *ev, bool done);
void st_process_exit(struct tg_analysis *a, const struct tg_ev *ev);
void st_fork(struct tg_analysis *a, const struct tg_ev *ev);
void st_sem(struct tg_analysis *a, const struct tg_ev *ev);
void st_barrier(struct tg_analysis *a, const struct tg_ev *ev);
void st_free(struct tg_analysis *a);
static inline uint64_t held_hash(uint32_t obj, uint8_t mode)
{
    return mix64(((uint64_t)obj << 1 | (mode != TG_MODE_READ)) + 1);
}
static inline uint8_t mode_bit(uint8_t mode) { return mode != TG_MODE_READ; }

/* lockgraph.c */
void lg_blocking_acquire(struct tg_analysis *a, struct dthread *t, uint32_t thread,
                         uint32_t obj, uint8_t mode, const struct tg_ev *ev);
void lg_free(struct tg_analysis *a);
/* lockgraph_order.c */
void lg_order_node(struct tg_analysis *a, uint32_t id);
bool lg_order_edge(struct tg_analysis *a, uint32_t from, uint32_t to);
void lg_order_free(struct tg_analysis *a);
/* lockgraph_check.c: a new edge or label; search a valid cycle through it */
void lg_check(struct tg_analysis *a, uint32_t edge, const struct dlabel *label, uint64_t ts);

/* waitgraph.c */
void wg_blocked(struct tg_analysis *a, uint32_t thread, const struct tg_ev *ev);
void wg_unblocked(struct tg_analysis *a, uint32_t thread, uint64_t ts);
/* Every live thread of PROCESS blocked now (also after a thread ended)? */
void wg_check_all_blocked(struct tg_analysis *a, uint32_t process, uint64_t ts);
int wg_tick(struct tg_analysis *a, uint64_t now);
void wg_finish(struct tg_analysis *a);
void wg_free(struct tg_analysis *a);

/* misuse.c */
void mu_result(struct tg_analysis *a, const struct tg_ev *ev, uint8_t objkind);
void mu_simple(struct tg_analysis *a, const struct tg_ev *ev, uint8_t rule, uint32_t obj,
               uint32_t other_thread, const struct dheld *other_held);
void mu_exit_holding(struct tg_analysis *a, const struct tg_ev *ev, struct dthread *t);
void mu_destroy(struct tg_analysis *a, const struct tg_ev *ev, uint32_t obj);
bool mu_expected(const struct tg_ev *ev);

/* findings.c */
void fb_init(struct fbuild *b, uint8_t kind, uint8_t sub, uint32_t process, uint64_t ts);
void fb_discard(struct fbuild *b);
uint32_t fb_obj(struct fbuild *b, struct tg_analysis *a, uint32_t obj);
uint32_t fb_obj_ref(struct fbuild *b, const struct tg_obj_ref *ref);
struct tg_step *fb_step(struct fbuild *b);
void fb_others(struct fbuild *b, struct tg_analysis *a, struct tg_step *s,
               const struct dheld *held, uint32_t nheld, uint32_t except);
/* Turns the builder into one allocation; NULL on failure (b is freed either way). */
struct tg_finding *fb_done(struct fbuild *b, struct tg_analysis *a);
/* Takes ownership of f: dedups, stores, announces. Returns 1 new, 0 repeat, <0. */
int fd_commit(struct tg_analysis *a, struct tg_finding *f);
uint64_t fd_obj_key(struct tg_analysis *a, const struct tg_obj_ref *o);
uint64_t fd_stack_key(struct tg_analysis *a, uint32_t stack);
/* Start index of the smallest rotation of H[0..n-1]. */
uint32_t fd_min_rotation(const uint64_t *h, uint32_t n);
void fd_free(struct tg_analysis *a);
void obj_ref_fill(struct tg_analysis *a, uint32_t obj, struct tg_obj_ref *out);

/* detectors/race/ (race_int.h): RACE and WATCH_ACCESS events into race
 * findings; fed every event before the bookkeeping above sees it */
void rc_feed(struct tg_analysis *a, const struct tg_ev *ev);
void rc_free(struct tg_analysis *a);

#endif

/* The tangle trace file format, version 2. Included by the writer (the
 * preloaded tracer) and the reader alike; docs/trace-format.md explains it.
 *
 * One trace file holds a whole run: every process of the tree (fork children
 * and exec'd images open the same file) appends to it through one shared,
 * file-backed mapping.
 *
 *   [tg_file_header, TG_HEADER_SIZE bytes][chunk 0][chunk 1]...
 *
 * A chunk (TG_CHUNK_SIZE bytes) belongs to one stream: a thread's events, or
 * the meta stream (processes, modules, stacks, clock calibration). A thread
 * writes its chunk without locks; it publishes each record by storing the
 * chunk's `used` with release order, so a reader that loads `used` with
 * acquire order may read every record below it, while the program runs and
 * after it was killed.
 */
#ifndef TG_TRACE_FORMAT_H
#define TG_TRACE_FORMAT_H

#include <stdint.h>

#define TG_MAGIC            "TANGLETR"      /* 8 bytes, no NUL */
#define TG_VERSION          2
#define TG_MIN_READ_VERSION 2               /* oldest reader that can read this */
#define TG_OLDEST_READ      2               /* oldest format this reader reads */
#define TG_HEADER_SIZE      4096u
#define TG_CHUNK_SIZE       65536u
#define TG_CHUNK_MAGIC      0x4b4e4854u     /* "THNK" little-endian */
#define TG_NO_THREAD        0xffffffffu
#define TG_META_STREAM      0xfffffffeu     /* chunk owner of the meta stream */
#define TG_SLOTS_VAR        255             /* events.def: count is in arg */

/* Feature bits: what the writer may put in the trace. A reader refuses a
 * trace with required features it does not know (TG_FEATURES_KNOWN). */
enum tg_feature {
    TG_FEAT_TSC       = 1u << 0,  /* ticks are TSC, convert with calibration */
    TG_FEAT_STACKS    = 1u << 1,  /* stack ids refer to STACK meta records */
    TG_FEAT_RACES     = 1u << 2,  /* RACE / SYNC_* events may appear */
    TG_FEAT_WATCH     = 1u << 3,  /* WATCH_ACCESS events may appear */
    TG_FEAT_EXEC_FAIL = 1u << 4,  /* EXEC_FAIL events may appear */
};
#define TG_FEATURES_KNOWN 0x1fu

enum tg_clock {
    TG_CLOCK_MONOTONIC = 0,       /* ticks are CLOCK_MONOTONIC nanoseconds */
    TG_CLOCK_TSC       = 1,       /* ticks are rdtsc; CALIB records map to ns */
};

/* The file header. Only the writer that creates the file initialises it;
 * the counters are updated atomically by every process of the run. */
struct tg_file_header {
    char     magic[8];            /* TG_MAGIC */
    uint16_t version;             /* TG_VERSION of the writer */
    uint16_t min_read_version;    /* TG_MIN_READ_VERSION */
    uint32_t header_size;         /* TG_HEADER_SIZE */
    uint64_t features;            /* enum tg_feature */
    uint32_t chunk_size;          /* TG_CHUNK_SIZE */
    uint32_t clock;               /* enum tg_clock */

    /* allocation counters, atomic (shared by all processes of the run) */
    uint32_t chunks_used;         /* chunks published; written after the chunk header */
    uint32_t next_thread;         /* thread index allocator */
    uint32_t next_process;        /* process index allocator */
    uint32_t next_stack;          /* stack id allocator; ids start at 1 */
    uint64_t file_size;           /* bytes the file has been grown to */

    /* clock origin: tick value and CLOCK_MONOTONIC / CLOCK_REALTIME ns at the
     * moment the file was created; times shown are relative to it */
    uint64_t tick0;
    uint64_t mono_ns0;
    uint64_t real_ns0;

    /* set when the first process of the run ends (any way it can) */
    uint32_t finished;            /* 0 running, 1 ended (exit_status valid) */
    int32_t  exit_status;         /* wait-status style: code << 8 or signal */

    uint32_t root_pid;
    uint32_t reserved0;
    char     program[256];        /* argv[0] of the first process, NUL-terminated */

    /* the lock that serialises chunk allocation, file growth and the meta
     * stream across the processes of the run: a process-shared robust
     * pthread mutex, taken with the real (not interposed) functions */
    uint8_t  lock[64];

    /* the meta stream's current chunk: index + 1, 0 before the first meta
     * record; read and written under the lock only */
    uint32_t meta_chunk;
    uint32_t reserved1;
    /* /proc/sys/kernel/random/boot_id of the machine that created the file:
     * a reader on the same boot shares the writer's clock (follow mode) */
    uint8_t  boot_id[16];

    uint8_t  reserved[TG_HEADER_SIZE - 8 - 2 - 2 - 4 - 8 - 4 - 4
                      - 4 * 4 - 8 - 3 * 8 - 4 - 4 - 4 - 4 - 256 - 64
                      - 4 - 4 - 16];
};
_Static_assert(sizeof(struct tg_file_header) == TG_HEADER_SIZE, "header is one page");

struct tg_chunk_header {
    uint32_t magic;               /* TG_CHUNK_MAGIC */
    uint32_t owner;               /* thread index, or TG_META_STREAM */
    uint32_t process;             /* process index of the writer */
    uint32_t seq;                 /* 0, 1, 2... within the owner's stream */
    uint32_t used;                /* bytes of records published, atomic, release */
    uint32_t closed;              /* 1 when the owner moved on to a new chunk or ended */
    uint64_t tick_base;           /* records' dt count from here (TIME resets it) */
    uint64_t mono_ns;             /* CLOCK_MONOTONIC ns when the chunk was claimed */
    uint64_t tick_at_claim;       /* tick value at the same moment: calibration */
    uint64_t reserved[2];
};
_Static_assert(sizeof(struct tg_chunk_header) == 64, "chunk header is 64 bytes");
#define TG_CHUNK_PAYLOAD (TG_CHUNK_SIZE - sizeof(struct tg_chunk_header))

/* Records. A stream's payload is a sequence of 2-byte-aligned records; the
 * first byte tells which:
 *
 *   0x01..0x7f  a full record (struct tg_record, 16 bytes, 4-aligned) of
 *               that kind, followed by its payload slots (8-aligned), if
 *               the kind has some
 *   0x80..0xbf  a short record (4 bytes): the same kind, arg, object and
 *               stack as the full record remembered in slot (byte & 63),
 *               `dt` ticks after the stream's previous event (bits 8-31)
 *   0xc0..0xfe  a short record in 2 bytes: slot (byte & 63) and a `dt`
 *               below 256 in the second byte
 *   0xff        padding (2 bytes, 0xff 0xff) before a full record
 *
 * A full record whose stack field has TG_STACK_REMEMBER set is remembered
 * in its stream's 64-slot dictionary, in the slot its stack field names
 * (the writer chooses: two ways per tg_dict_set, least recently used goes).
 * The dictionary is empty at the start of every chunk, so a chunk reads on
 * its own. An uncontended lock+unlock pair repeated at one call site is
 * then two short records, 8 bytes, where two full records took 32
 * (docs/trace-format.md).
 *
 * Object addresses are 48-bit (x86-64 and AArch64 user space). A record and
 * its payload never straddle chunks. */
struct tg_record {
    uint8_t  kind;                /* enum tg_event_kind, < 0x80 */
    uint8_t  arg;                 /* kind-specific; tg_lockarg for lock events */
    uint16_t obj_hi;              /* object address bits 32..47 */
    uint32_t dt;                  /* ticks since the stream's current time base */
    uint32_t obj_lo;              /* object address bits 0..31 */
    uint32_t stack;               /* stack id (0 = none), dictionary slot and flag */
};
_Static_assert(sizeof(struct tg_record) == 16, "records are 16 bytes");

/* The full record's stack field: bits 0-24 the stack id, bits 25-30 the
 * dictionary slot and bit 31 the flag that remembers the record there. */
#define TG_STACK_ID_LIMIT   (1u << 25)  /* stack ids are below it */
#define TG_STACK_ID(field)  ((field) & (TG_STACK_ID_LIMIT - 1))
#define TG_STACK_SLOT(field) (((field) >> 25) & 63u)
#define TG_STACK_REMEMBER   0x80000000u
#define TG_SHORT_TAG        0x80u       /* 4-byte short records */
#define TG_SHORT_MAX_TAG    0xbfu
#define TG_SHORT_DT_LIMIT   (1u << 24)
#define TG_TINY_TAG         0xc0u       /* 2-byte short records, slots 0-62 */
#define TG_TINY_MAX_TAG     0xfeu
#define TG_TINY_DT_LIMIT    256u
#define TG_DICT_SLOTS       64u
#define TG_PAD_TAG          0xffu       /* a 2-byte unit of padding: 0xff 0xff */

/* A remembered record's identity: kind, arg and the 48-bit object in one
 * word (0 is never a record: kind 0 is NONE), and its stack id. */
static inline uint64_t tg_dict_key(unsigned kind, unsigned arg, uint64_t obj)
{
    return (uint64_t)kind << 56 | (uint64_t)(arg & 0xffu) << 48 | (obj & 0xffffffffffffull);
}

/* The first of the two slots a record may be remembered in (even). */
static inline unsigned tg_dict_set(uint64_t key, uint32_t stack)
{
    return (unsigned)(((key ^ stack) * 0x9e3779b97f4a7c15ull) >> 59) << 1;
}

struct tg_slot { uint64_t a, b; };
_Static_assert(sizeof(struct tg_slot) == 16, "payload slots are 16 bytes");

enum tg_event_kind {
#define X(name, slots, doc) TG_EV_##name,
#include "trace/events.def"
#undef X
    TG_EV_COUNT
};

/* Lock and result encoding in `arg`:
 *   bits 0-1  mutex type (enum tg_mutex_type), 0 for other objects
 *   bit  2    process-shared object
 *   bit  3    timed call (timedlock, clocklock, timedwait...)
 *   bits 4-7  result (enum tg_result)
 */
enum tg_mutex_type {
    TG_MUTEX_NORMAL     = 0,
    TG_MUTEX_RECURSIVE  = 1,
    TG_MUTEX_ERRORCHECK = 2,
    TG_MUTEX_ADAPTIVE   = 3,
};
enum tg_result {
    TG_OK = 0, TG_BUSY, TG_TIMEDOUT, TG_DEADLK, TG_PERM, TG_INVAL, TG_AGAIN,
    TG_OWNERDEAD, TG_NOTRECOVERABLE, TG_INTR, TG_SERIAL, TG_NOMEM, TG_SRCH,
    TG_RESULT_OTHER = 15,
};
#define TG_ARG(type, pshared, timed, result) \
    ((uint8_t)(((type) & 3u) | ((pshared) ? 4u : 0u) | ((timed) ? 8u : 0u) | (((result) & 15u) << 4)))
#define TG_ARG_TYPE(a)    ((a) & 3u)
#define TG_ARG_PSHARED(a) (((a) >> 2) & 1u)
#define TG_ARG_TIMED(a)   (((a) >> 3) & 1u)
#define TG_ARG_RESULT(a)  (((a) >> 4) & 15u)

#define TG_ACCESS_WRITE   0x80u   /* WATCH_ACCESS arg: size in bits 0-6 */

enum tg_exit_how {
    TG_EXIT_NORMAL = 0,           /* exit() or return from main */
    TG_EXIT_UNDERSCORE = 1,       /* _exit / _Exit */
    TG_EXIT_EXEC = 2,             /* image replaced by exec (a new process record follows),
                                     unless an EXEC_FAIL from the same thread voids it */
};

/* ---- the meta stream ----
 * Variable-length records, each starting with this 8-byte header and padded
 * to a multiple of 8 bytes; `size` includes the header. */
struct tg_meta {
    uint16_t type;                /* enum tg_meta_type */
    uint16_t reserved;
    uint32_t size;
};

enum tg_meta_type {
    TG_META_PROCESS = 1,          /* struct tg_meta_process */
    TG_META_MODULE  = 2,          /* struct tg_meta_module */
    TG_META_STACK   = 3,          /* struct tg_meta_stack */
    TG_META_CALIB   = 4,          /* struct tg_meta_calib */
};

struct tg_meta_process {
    struct tg_meta h;
    uint32_t index;               /* process index */
    uint32_t parent;              /* parent process index, TG_NO_THREAD if none */
    uint32_t pid, ppid;
    uint64_t tick;                /* when it started (or exec'd) */
    uint32_t first_thread;        /* thread index of its first thread */
    uint32_t exec;                /* 1 if this image came from an exec of pid */
    char     path[];              /* /proc/self/exe, NUL-terminated, then argv joined by spaces */
};

struct tg_meta_module {
    struct tg_meta h;
    uint32_t process;
    uint32_t reserved;
    uint64_t base;                /* load bias (dlpi_addr) */
    uint64_t lo, hi;              /* address range of its PT_LOAD segments */
    char     path[];              /* NUL-terminated; "" for the main program = /proc/self/exe */
};

struct tg_meta_stack {
    struct tg_meta h;
    uint32_t id;
    uint32_t process;
    uint32_t nframes;
    uint32_t reserved;
    uint64_t frames[];            /* return addresses, innermost (the caller) first */
};

struct tg_meta_calib {
    struct tg_meta h;
    uint64_t tick;
    uint64_t mono_ns;
};

/* RACE payload: a data race the in-process runtime of a `tangle cc` build
 * found (docs/races.md). The record's obj is the racing address. Stack ids
 * refer to STACK meta records; prev_stack is 0 when the earlier access's
 * history was already overwritten (prev_pc may still say where it was). */
enum tg_race_flags {
    TG_RACE_CUR_WRITE   = 1u << 0,
    TG_RACE_PREV_WRITE  = 1u << 1,
    TG_RACE_HEAP        = 1u << 2,    /* heap_* describe the block */
    TG_RACE_CUR_ATOMIC  = 1u << 3,
    TG_RACE_PREV_ATOMIC = 1u << 4,
    TG_RACE_CUR_FREE    = 1u << 5,    /* the current access is free() of the block */
};
#define TG_RACE_LOCK_READ (1ull << 63) /* locks[]: held for reading (rwlock) */

struct tg_race_payload {
    uint64_t addr;
    uint32_t size;                /* bytes of the current access */
    uint32_t flags;               /* enum tg_race_flags */
    uint32_t cur_thread, prev_thread;   /* thread indexes, TG_NO_THREAD if unknown */
    uint32_t cur_stack, prev_stack;
    uint64_t prev_pc;
    uint64_t heap_block;          /* start of the heap block, 0 if not heap */
    uint64_t heap_size;
    uint32_t heap_stack;          /* allocation stack id */
    uint32_t heap_thread;
    uint32_t prev_size;           /* bytes of the previous access */
    uint16_t ncur_locks, nprev_locks;
    uint64_t locks[];             /* lock addresses held: the current access's, then the previous one's */
};
_Static_assert(sizeof(struct tg_race_payload) == 72, "RACE payload header is 72 bytes");

#endif

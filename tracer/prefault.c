/* tracer/: keeping page faults off the hot path.
 *
 * Every 4 KiB of trace is a fresh page of the shared file mapping. The
 * first store into it is a page fault (3-15 us on the VM this was measured
 * on), and even once the kernel has mapped it (MADV_POPULATE_WRITE, which
 * trace/ does when a chunk is claimed), the first access through this
 * process's mapping still costs ~3.5 us: the hypervisor fills its own
 * page tables (shadow/nested paging) lazily, per page. At 256 records a
 * page that is 10-60 ns a record, more than the rest of a hook costs.
 *
 * So a helper thread works ahead of the chunks in use: it grows the file a
 * window (2 MiB) past the last claimed chunk (fallocate, through the
 * writer, so no claim has to), populates the chunks (madvise
 * MADV_POPULATE_WRITE: page tables writable, data untouched) and then
 * writes to each page without changing it, through the mapping, which pays
 * the hypervisor's share too. None of it changes the file's contents, so
 * racing with a claimer in another process is harmless. (Where the kernel
 * maps the trace in huge pages, trace/writer.c, there is little left for
 * it to do: lock_pair measures the same with and without it.) It tells the writer how far it got (w->populated), and a
 * claim of a chunk below that skips its own populate call. The hooks'
 * stores then land on pages that are mapped all the way down.
 *
 * It can only move the cost, not remove it: with no idle core (the program
 * keeps both busy) the helper's pages cost the program as much CPU time as
 * faulting them itself would.
 *
 * The helper is started only once the process writes more than its first
 * chunks (a short program never gets one), blocks every signal (the
 * program's handlers never run on it), is never traced, and is started
 * again in a fork child. It is joined when the program's last traced
 * thread ends, so that it never keeps a process alive whose main thread
 * called pthread_exit. TANGLE_PREFAULT=0 turns it off.
 */
#include <limits.h>
#include <linux/futex.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "tracer/internal.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

/* 2 MiB kept ready ahead of chunks_used: at 2-4 bytes an event that is
 * 0.5-1 million events of lead (tens of ms of a lock-heavy program), while
 * the pages populated past the trace's end, work thrown away when the root
 * trims the file, stay few */
#define WINDOW_CHUNKS 32u
/* The helper starts once this process writes a lot: two claims of a
 * stream's next chunk (a thread filled 64 KiB), or many first chunks (many
 * threads). A short program's threads each claim one chunk and end: a
 * helper would only cost it a thread, pages it never uses and a join. */
#define START_AFTER_NEXT  2u
#define START_AFTER_ANY   16u
#define BATCH_CHUNKS  16u      /* 1 MiB per populate call: fewer calls, cheaper pages */

static unsigned claims;         /* chunk claims seen by this process */
static unsigned next_claims;    /* of them, claims of a stream's next chunk */
static int started;
static int stopping;
static pthread_t helper_thread;
static uint32_t wake;           /* futex word, bumped on each wake-up */

static void futex_wait(uint32_t *word, uint32_t seen, long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    syscall(SYS_futex, word, FUTEX_WAIT_PRIVATE, seen, &ts, NULL, 0);
}

static void futex_wake(uint32_t *word)
{
    syscall(SYS_futex, word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Writes each page of [P, P+LEN) through the mapping, with a locked add of
 * 0 to its first word: contents unchanged, even with the owner storing
 * there at the same time, but a write, so the hypervisor maps the page
 * writable now (after a read it mapped it read-only, and the program's
 * first store paid a second fill: 42 -> 35 ns per traced lock pair). Each
 * page is touched under the run-wide lock, after checking it is inside the
 * file: the root's finish trims the file to its last chunk under that
 * lock, and touching a mapped page past the end of the file raises SIGBUS.
 * Returns false when the file ends before P+LEN. */
static bool touch(struct tg_writer *w, uint8_t *p, uint64_t len)
{
    uint64_t base = (uint64_t)(p - (const uint8_t *)w->hdr);
    for (uint64_t off = 0; off < len; off += 4096) {
        if (tg_writer_lock(w) < 0)
            return false;
        bool inside = base + off + 4096 <= __atomic_load_n(&w->hdr->file_size, __ATOMIC_ACQUIRE);
        if (inside)
            __atomic_fetch_add((uint32_t *)(p + off), 0u, __ATOMIC_RELAXED);
        tg_writer_unlock(w);
        if (!inside)
            return false;
    }
    return true;
}

/* The file's size in whole chunks, as far as the mapping reaches. */
static uint64_t chunks_in_file(const struct tg_writer *w)
{
    uint64_t size = __atomic_load_n(&w->hdr->file_size, __ATOMIC_ACQUIRE);
    if (size > w->reserved)
        size = w->reserved;
    return size > TG_HEADER_SIZE ? (size - TG_HEADER_SIZE) / TG_CHUNK_SIZE : 0;
}

static void *helper(void *arg)
{
    (void)arg;
    tg_self.state = TG_T_DONE;          /* never traced, never adopted */
    struct tg_writer *w = &tg_g.w;
    uint64_t done = 0;                  /* chunks below this are populated */
    while (!__atomic_load_n(&stopping, __ATOMIC_ACQUIRE)) {
        uint32_t seen = __atomic_load_n(&wake, __ATOMIC_ACQUIRE);
        uint64_t used = __atomic_load_n(&w->hdr->chunks_used, __ATOMIC_ACQUIRE);
        uint64_t target = used + WINDOW_CHUNKS;
        /* The file first: a claim past its end would grow it (fallocate)
         * on the program's thread, and pages past it cannot be populated,
         * so the program would catch up with the helper after each growth
         * and fault on every page of the new part itself. Growing a whole
         * window more at once keeps this to one call per window. A failure
         * (disk full, RLIMIT_FSIZE) is the claim's to report. */
        if (chunks_in_file(w) < target)
            (void)tg_writer_grow(w, TG_HEADER_SIZE
                                    + (target + WINDOW_CHUNKS) * (uint64_t)TG_CHUNK_SIZE);
        uint64_t in_file = chunks_in_file(w);
        if (target > in_file)
            target = in_file;
        if (done < used)
            done = used;
        while (done < target && !__atomic_load_n(&stopping, __ATOMIC_RELAXED)) {
            uint64_t n = target - done < BATCH_CHUNKS ? target - done : BATCH_CHUNKS;
            uint8_t *p = (uint8_t *)w->hdr + TG_HEADER_SIZE + done * TG_CHUNK_SIZE;
            /* past the end of the file madvise fails (EFAULT/ENOMEM), it
             * does not raise SIGBUS */
            if (madvise(p, n * TG_CHUNK_SIZE, MADV_POPULATE_WRITE) != 0) {
                if (errno == EINVAL)
                    return NULL;        /* kernel older than 5.14: nothing to do */
                break;                  /* the file is shorter than we read */
            }
            if (!touch(w, p, n * TG_CHUNK_SIZE))
                break;
            done += n;
            /* claims of these chunks skip their own populate call */
            if (done > __atomic_load_n(&w->populated, __ATOMIC_RELAXED))
                __atomic_store_n(&w->populated, done, __ATOMIC_RELEASE);
        }
        futex_wait(&wake, seen, 50);
    }
    return NULL;
}

static void start(void)
{
    pthread_attr_t attr;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);   /* the helper inherits it */
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 64 * 1024 > PTHREAD_STACK_MIN ? 64 * 1024 : PTHREAD_STACK_MIN);
    __atomic_store_n(&stopping, 0, __ATOMIC_RELEASE);
    int r = REAL(pthread_create)(&helper_thread, &attr, helper, NULL);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (r != 0) {
        tg_failure("prefault thread", r);
        return;
    }
    __atomic_store_n(&started, 2, __ATOMIC_RELEASE);
    REAL(pthread_setname_np)(helper_thread, "tangle-prefault");
}

void tg_prefault_claimed(bool next)
{
    if (!tg_g.prefault)
        return;
    unsigned n = __atomic_add_fetch(&claims, 1, __ATOMIC_RELAXED);
    unsigned m = next ? __atomic_add_fetch(&next_claims, 1, __ATOMIC_RELAXED)
                      : __atomic_load_n(&next_claims, __ATOMIC_RELAXED);
    if (n < START_AFTER_ANY && m < START_AFTER_NEXT)
        return;
    if (!__atomic_load_n(&started, __ATOMIC_ACQUIRE)) {
        if (!__atomic_exchange_n(&started, 1, __ATOMIC_ACQ_REL))
            start();
        return;
    }
    /* Woken only once its lead is down to half the window: a wake-up is a
     * system call that costs the claiming thread ~7 us of CPU here, and its
     * code after it ~2.6 us more (measured with a standalone loop); at one
     * per 64 KiB claim that was ~1.7 ns per traced lock pair in lock_pair.
     * The helper then populates half a window per wake-up. */
    struct tg_writer *w = &tg_g.w;
    uint64_t used = __atomic_load_n(&w->hdr->chunks_used, __ATOMIC_RELAXED);
    if (__atomic_load_n(&w->populated, __ATOMIC_RELAXED) > used + WINDOW_CHUNKS / 2)
        return;
    __atomic_add_fetch(&wake, 1, __ATOMIC_RELEASE);
    futex_wake(&wake);
}

void tg_prefault_after_fork(void)
{
    claims = next_claims = 0;
    started = 0;
}

void tg_prefault_stop(void)
{
    /* 2: running; 1: being started by another thread, which cannot be
     * (this is the last traced thread) unless start failed */
    if (__atomic_load_n(&started, __ATOMIC_ACQUIRE) != 2)
        return;
    __atomic_store_n(&stopping, 1, __ATOMIC_RELEASE);
    __atomic_add_fetch(&wake, 1, __ATOMIC_RELEASE);
    futex_wake(&wake);
    REAL(pthread_join)(helper_thread, NULL);
    claims = next_claims = 0;
    __atomic_store_n(&started, 0, __ATOMIC_RELEASE);
}

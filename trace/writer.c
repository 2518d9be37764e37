/* trace/: the writer's process-wide part: creating or joining the file, the
 * run-wide lock, growing the file, claiming chunks, fork and process end.
 *
 * Nothing here runs on the fast path. Every function returns 0 or -errno
 * and leaves the program alone when it fails: the caller counts and moves on.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trace/internal.h"
#include "trace/writer.h"

_Static_assert(sizeof(pthread_mutex_t) <= sizeof(((struct tg_file_header *)0)->lock),
               "the run-wide lock fits its header field");

#define RESERVE_MAX  (64ull << 30)    /* address space asked for the mapping */
#define RESERVE_MIN  (256ull << 20)   /* least we settle for */
#define INITIAL_CHUNKS 16u
/* The file grows in whole 2 MiB units (of file offset), the mapping is
 * 2 MiB-aligned: see map_file */
#define HUGE_ALIGN   (2ull << 20)
#define GROW_MIN     HUGE_ALIGN
#define GROW_MAX     (64ull << 20)

static struct tg_writer_sync_ops sync_ops;

void tg_writer_set_sync_ops(const struct tg_writer_sync_ops *ops)
{
    sync_ops = *ops;
}

#define SYNC(fn) (sync_ops.fn ? sync_ops.fn : pthread_##fn)

int tg_writer_lock(struct tg_writer *w)
{
    pthread_mutex_t *m = (pthread_mutex_t *)w->hdr->lock;
    int rc = SYNC(mutex_lock)(m);
    if (rc == EOWNERDEAD) {
        /* The owner died inside a locked section. Everything the lock guards
         * is published by a final store, so what it left is consistent. */
        rc = SYNC(mutex_consistent)(m);
    }
    return -rc;
}

void tg_writer_unlock(struct tg_writer *w)
{
    SYNC(mutex_unlock)((pthread_mutex_t *)w->hdr->lock);
}

static int init_lock(struct tg_file_header *hdr)
{
    pthread_mutexattr_t attr;
    int rc = SYNC(mutexattr_init)(&attr);
    if (rc)
        return -rc;
    rc = SYNC(mutexattr_setpshared)(&attr, PTHREAD_PROCESS_SHARED);
    if (rc == 0)
        rc = SYNC(mutexattr_setrobust)(&attr, PTHREAD_MUTEX_ROBUST);
    if (rc == 0)
        rc = SYNC(mutex_init)((pthread_mutex_t *)hdr->lock, &attr);
    SYNC(mutexattr_destroy)(&attr);
    return -rc;
}

bool tg_writer_mapped(const struct tg_writer *w, uint64_t idx)
{
    return TG_HEADER_SIZE + (idx + 1) * (uint64_t)TG_CHUNK_SIZE <= w->reserved;
}

/* ---- the file ---- */

/* Extends FD to TO bytes with blocks allocated, so that a full disk shows
 * up here as ENOSPC instead of SIGBUS on a store into the mapping. */
static int extend(int fd, uint64_t from, uint64_t to)
{
    struct rlimit lim;
    if (getrlimit(RLIMIT_FSIZE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY
        && to > lim.rlim_cur)
        return -EFBIG;             /* going past it would raise SIGXFSZ */
    int rc;
    do
        rc = fallocate(fd, 0, (off_t)from, (off_t)(to - from));
    while (rc < 0 && errno == EINTR);
    if (rc == 0)
        return 0;
    if (errno != EOPNOTSUPP && errno != ENOSYS)
        return -errno;
    struct stat st;               /* no fallocate here: a sparse extension */
    if (fstat(fd, &st) < 0)
        return -errno;
    if ((uint64_t)st.st_size >= to)
        return 0;
    return ftruncate(fd, (off_t)to) < 0 ? -errno : 0;
}

/* The program may have closed our descriptor, or reused its number for a
 * file of its own: check before changing the file, reopen by path. */
static int check_fd(struct tg_writer *w)
{
    struct stat st;
    if (fstat(w->fd, &st) == 0 && (uint64_t)st.st_dev == w->dev
        && (uint64_t)st.st_ino == w->ino)
        return 0;
    int fd = open(w->path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (fstat(fd, &st) < 0 || (uint64_t)st.st_dev != w->dev
        || (uint64_t)st.st_ino != w->ino) {
        close(fd);
        return -ESTALE;
    }
    w->fd = fd;                   /* the old number is the program's now */
    return 0;
}

static int grow_locked(struct tg_writer *w, uint64_t end)
{
    struct tg_file_header *hdr = w->hdr;
    uint64_t have = __atomic_load_n(&hdr->file_size, __ATOMIC_ACQUIRE);
    if (end <= have)
        return 0;
    if (end > w->reserved)
        return -ENOSPC;
    uint64_t step = have / 8;
    step = step < GROW_MIN ? GROW_MIN : step > GROW_MAX ? GROW_MAX : step;
    uint64_t want = have + step < end ? end : have + step;
    /* to a 2 MiB boundary: a huge page's worth of file past the end
     * could only be mapped in small pages */
    want = (want + HUGE_ALIGN - 1) & ~(HUGE_ALIGN - 1);
    if (want > w->reserved)
        want = w->reserved;
    int rc = check_fd(w);
    if (rc < 0)
        return rc;
    rc = extend(w->fd, have, want);
    if (rc < 0 && want > end) {
        want = end;
        rc = extend(w->fd, have, want);
    }
    if (rc < 0)
        return rc;
    __atomic_store_n(&hdr->file_size, want, __ATOMIC_RELEASE);
    return 0;
}

int tg_writer_grow(struct tg_writer *w, uint64_t end)
{
    if (w->hdr == NULL)
        return -EBADF;
    if (end <= __atomic_load_n(&w->hdr->file_size, __ATOMIC_ACQUIRE))
        return 0;
    int rc = tg_writer_lock(w);
    if (rc < 0)
        return rc;
    rc = w->finishing ? 0 : grow_locked(w, end);
    tg_writer_unlock(w);
    return rc;
}

int tg_writer_claim_locked(struct tg_writer *w, uint32_t owner, uint32_t seq,
                           uint64_t tick_base, struct tg_chunk_header **out)
{
    struct tg_file_header *hdr = w->hdr;
    uint32_t idx = __atomic_load_n(&hdr->chunks_used, __ATOMIC_ACQUIRE);
    if (idx == UINT32_MAX || !tg_writer_mapped(w, idx))
        return -ENOSPC;
    int rc = grow_locked(w, TG_HEADER_SIZE + (idx + 1) * (uint64_t)TG_CHUNK_SIZE);
    if (rc < 0)
        return rc;
    struct tg_chunk_header *c = tg_chunk_at(hdr, idx);
    memset(c, 0, sizeof *c);     /* a claimer that died here left garbage */
    c->magic = TG_CHUNK_MAGIC;
    c->owner = owner;
    c->process = w->process;
    c->seq = seq;
    c->tick_base = tick_base;
    tg_calib_pair(w->clock, &c->tick_at_claim, &c->mono_ns);
    __atomic_store_n(&hdr->chunks_used, idx + 1, __ATOMIC_RELEASE);
    *out = c;
    return 0;
}

/* Punches a hole over the pages of the chunk at file offset OFF past its
 * USED bytes of records. */
static void punch_tail(int fd, uint64_t off, uint32_t used)
{
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    uint64_t start = (off + sizeof(struct tg_chunk_header) + used + page - 1) / page * page;
    uint64_t end = off + TG_CHUNK_SIZE;
    if (start < end)
        fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)start,
                  (off_t)(end - start));
}

/* One hole punched where the kernel maps the trace in huge pages (map_file)
 * splits the 2 MiB page-cache folio and its mapping: ~0.6 ms a thread end
 * here, most of a short thread's cost. So tails are given back in batches
 * (one split per folio), and a short program leaves them to the root's
 * finish, which skips them too when they are few (free_closed_tails). */
void tg_writer_release_tail(struct tg_writer *w, const struct tg_chunk_header *c)
{
    uint32_t used = __atomic_load_n(&c->used, __ATOMIC_ACQUIRE);
    /* a full chunk (most of them) has no page to give back: no lock */
    if (used + sizeof *c + 4096 > TG_CHUNK_SIZE || tg_writer_lock(w) < 0)
        return;
    uint64_t batch[TG_WRITER_TAIL_BATCH];
    uint32_t n = 0;
    int fd = -1;
    w->tails[w->ntails++] = (uint64_t)((const uint8_t *)c - (const uint8_t *)w->hdr);
    if (w->ntails == TG_WRITER_TAIL_BATCH) {
        /* punched once the lock is let go (claims wait for it), through a
         * duplicate of the descriptor: the program may close or reuse the
         * number of w->fd meanwhile. Closed chunks are nobody's to write. */
        if (check_fd(w) == 0 && (fd = fcntl(w->fd, F_DUPFD_CLOEXEC, 0)) >= 0) {
            memcpy(batch, w->tails, sizeof batch);
            n = w->ntails;
        }
        w->ntails = 0;
    }
    tg_writer_unlock(w);
    for (uint32_t i = 0; i < n; i++) {
        const struct tg_chunk_header *t = (const void *)((const uint8_t *)w->hdr + batch[i]);
        punch_tail(fd, batch[i], __atomic_load_n(&t->used, __ATOMIC_ACQUIRE));
    }
    if (fd >= 0)
        close(fd);
}

/* Maps SIZE bytes of the file at an address aligned to 2 MiB (so that
 * file offset 0, and every 2 MiB of the file, starts a huge page's worth
 * of the mapping): room for the alignment is reserved first, then the
 * file is mapped over the aligned part and the rest is given back. */
static void *map_aligned(int fd, uint64_t size)
{
    uint8_t *room = mmap(NULL, size + HUGE_ALIGN, PROT_NONE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (room == MAP_FAILED)
        return MAP_FAILED;
    uint8_t *at = (uint8_t *)(((uintptr_t)room + HUGE_ALIGN - 1) & ~(uintptr_t)(HUGE_ALIGN - 1));
    void *p = mmap(at, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE | MAP_FIXED,
                   fd, 0);
    if (p == MAP_FAILED) {
        int err = errno;
        munmap(room, size + HUGE_ALIGN);
        errno = err;
        return MAP_FAILED;
    }
    if (at > room)
        munmap(room, (size_t)(at - room));
    if (room + HUGE_ALIGN > at)
        munmap(at + size, (size_t)(room + HUGE_ALIGN - at));
    return p;
}

/* Maps the whole reservation: pages past the end of the file are never
 * touched, and growing the file makes them valid in every process.
 *
 * Aligned and marked MADV_HUGEPAGE, the kernel can map the trace 2 MiB at
 * a time (a file system with large folios, ext4 since Linux 6.x, and THP
 * not "never"): one fault and one page-table entry where 512 pages each
 * cost their own. Measured on this project's VMs (shadow page tables),
 * writing a fresh file mapping costs ~0.65 us a 4 KiB page that way
 * against ~8 us populated and touched page by page. Elsewhere the advice
 * is ignored and nothing changes. TANGLE_HUGEPAGES=0 leaves it out
 * (docs/tracer.md: what it costs in disk while a run lasts). */
static int map_file(struct tg_writer *w)
{
    for (uint64_t size = RESERVE_MAX; size >= RESERVE_MIN; size /= 2) {
        void *p = map_aligned(w->fd, size);
        if (p != MAP_FAILED) {
            const char *huge = getenv("TANGLE_HUGEPAGES");
            if (huge == NULL || strcmp(huge, "0") != 0)
                (void)madvise(p, size, MADV_HUGEPAGE);
            w->hdr = p;
            w->reserved = size;
            return 0;
        }
    }
    return -errno;
}

static int init_header(struct tg_writer *w, const char *program)
{
    uint64_t size = TG_HEADER_SIZE + INITIAL_CHUNKS * (uint64_t)TG_CHUNK_SIZE;
    size = (size + HUGE_ALIGN - 1) & ~(HUGE_ALIGN - 1);
    int rc = extend(w->fd, 0, size);
    if (rc < 0)
        return rc;
    if ((rc = map_file(w)) < 0)
        return rc;
    struct tg_file_header *hdr = w->hdr;
    hdr->version = TG_VERSION;
    hdr->min_read_version = TG_MIN_READ_VERSION;
    hdr->header_size = TG_HEADER_SIZE;
    hdr->chunk_size = TG_CHUNK_SIZE;
    hdr->clock = tg_clock_choose();
    hdr->features = TG_FEAT_STACKS | (hdr->clock == TG_CLOCK_TSC ? TG_FEAT_TSC : 0);
    hdr->next_stack = 1;
    hdr->file_size = size;
    tg_calib_pair(hdr->clock, &hdr->tick0, &hdr->mono_ns0);
    hdr->real_ns0 = tg_real_ns();
    hdr->root_pid = (uint32_t)getpid();
    if (program)
        strncpy(hdr->program, program, sizeof hdr->program - 1);
    tg_boot_id(hdr->boot_id);
    if ((rc = init_lock(hdr)) < 0)
        return rc;
    /* The magic goes last: a reader that sees it sees the rest. */
    __atomic_thread_fence(__ATOMIC_RELEASE);
    memcpy(hdr->magic, TG_MAGIC, sizeof hdr->magic);
    return 0;
}

static int join_header(struct tg_writer *w, uint64_t file_size)
{
    if (file_size < TG_HEADER_SIZE)
        return -EPROTO;
    int rc = map_file(w);
    if (rc < 0)
        return rc;
    const struct tg_file_header *hdr = w->hdr;
    if (memcmp(hdr->magic, TG_MAGIC, sizeof hdr->magic) != 0 || hdr->version != TG_VERSION
        || hdr->header_size != TG_HEADER_SIZE || hdr->chunk_size != TG_CHUNK_SIZE)
        return -EPROTO;
    uint8_t boot[16];
    if (tg_boot_id(boot) == 0 && memcmp(boot, hdr->boot_id, sizeof boot) != 0)
        return -ESTALE;          /* left over from before a reboot */
    return 0;
}

/* A file whose creator died before writing the magic (it writes it last),
 * or that the caller created as zeroes: start it afresh. We hold flock. */
static bool never_initialised(int fd)
{
    char magic[8];
    static const char zero[8];
    if (pread(fd, magic, sizeof magic, 0) != (ssize_t)sizeof magic
        || memcmp(magic, zero, sizeof magic) != 0)
        return false;
    return ftruncate(fd, 0) == 0;
}

static void unmap(struct tg_writer *w)
{
    if (w->hdr)
        munmap(w->hdr, w->reserved);
    w->hdr = NULL;
}

int tg_writer_open(struct tg_writer *w, const char *path, const char *program,
                   const char *cmdline)
{
    memset(w, 0, sizeof *w);
    w->fd = -1;
    if (path == NULL || strlen(path) >= sizeof w->path)
        return -ENAMETOOLONG;
    w->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (w->fd < 0)
        return -errno;
    if (realpath(path, w->path) == NULL)
        strcpy(w->path, path);

    /* Creator and joiners serialise on flock: a joiner sees either an empty
     * file or a complete header. */
    int rc;
    bool created = false;
    while ((rc = flock(w->fd, LOCK_EX)) < 0 && errno == EINTR)
        ;
    struct stat st;
    if (rc < 0 || fstat(w->fd, &st) < 0) {
        rc = -errno;
    } else {
        w->dev = (uint64_t)st.st_dev;
        w->ino = (uint64_t)st.st_ino;
        created = st.st_size == 0 || never_initialised(w->fd);
        rc = created ? init_header(w, program) : join_header(w, (uint64_t)st.st_size);
        if (!created && (rc == -ESTALE || (rc == 0 && tg_writer_left_over(w)))) {
            /* an earlier run's trace at this path: this run's replaces it,
             * as a rerun's output replaces the last one's */
            unmap(w);
            rc = ftruncate(w->fd, 0) == 0 ? init_header(w, program) : -errno;
            created = true;
        }
        if (rc == 0)              /* still under flock: the creator is process 0 */
            w->process = __atomic_fetch_add(&w->hdr->next_process, 1, __ATOMIC_RELAXED);
    }
    flock(w->fd, LOCK_UN);
    if (rc < 0)
        goto fail;

    struct tg_file_header *hdr = w->hdr;
    w->clock = hdr->clock;
    w->first_thread = tg_writer_new_thread(w);

    uint32_t parent = TG_NO_THREAD;
    bool exec = !created;
    if (exec) {
        /* Joiners are exec'd images: of a traced process with our pid, or
         * of a child the program spawned without fork (posix_spawn). */
        parent = tg_writer_find_pid(w, (uint32_t)getpid());
        if (parent == TG_NO_THREAD)
            parent = tg_writer_find_pid(w, (uint32_t)getppid());
    }
    rc = tg_writer_process_record(w, parent, exec, cmdline);
    if (rc < 0)
        goto fail;
    return 0;
fail:
    unmap(w);
    close(w->fd);
    w->fd = -1;
    return rc;
}

int tg_writer_after_fork(struct tg_writer *w, uint32_t parent_process)
{
    if (w->hdr == NULL)
        return -EBADF;
    w->populated = 0;            /* the parent's helper populated its page tables */
    w->finishing = false;
    w->ntails = 0;               /* the parent's to give back */
    w->process = __atomic_fetch_add(&w->hdr->next_process, 1, __ATOMIC_RELAXED);
    w->first_thread = tg_writer_new_thread(w);
    return tg_writer_process_record(w, parent_process, false, NULL);
}

uint32_t tg_writer_reserve_process(struct tg_writer *w)
{
    if (w->hdr == NULL)
        return TG_NO_THREAD;
    return __atomic_fetch_add(&w->hdr->next_process, 1, __ATOMIC_RELAXED);
}

int tg_writer_after_fork_as(struct tg_writer *w, uint32_t parent_process, uint32_t process)
{
    if (w->hdr == NULL)
        return -EBADF;
    w->populated = 0;            /* the parent's helper populated its page tables */
    w->finishing = false;
    w->ntails = 0;               /* the parent's to give back */
    w->process = process;
    w->first_thread = tg_writer_new_thread(w);
    return tg_writer_process_record(w, parent_process, false, NULL);
}

/* The file grows ahead of need (up to 64 MiB of allocated blocks): give
 * back what no chunk uses. Under the lock, so a process still running
 * simply grows it again; nobody has touched the pages past the last chunk. */
static void trim(struct tg_writer *w)
{
    struct tg_file_header *hdr = w->hdr;
    if (tg_writer_lock(w) < 0)
        return;
    w->finishing = true;
    uint64_t end = TG_HEADER_SIZE + __atomic_load_n(&hdr->chunks_used, __ATOMIC_ACQUIRE)
                   * (uint64_t)TG_CHUNK_SIZE;
    if (end < hdr->file_size && check_fd(w) == 0 && ftruncate(w->fd, (off_t)end) == 0)
        __atomic_store_n(&hdr->file_size, end, __ATOMIC_RELEASE);
    tg_writer_unlock(w);
}

#define SMALL_TRACE (2u << 20)

/* At the end: gives back the pages past the records of every closed
 * thread chunk. tg_writer_release_tail did it in batches, but where
 * the kernel maps the trace in huge pages (map_file) a write anywhere in a
 * 2 MiB page-cache folio afterwards makes the file system reserve the
 * whole folio's blocks again, holes included; once the program is done
 * writing, a hole stays one. Headers are read through the mapping, or
 * with pread where only the file header is mapped (the reaped case). One
 * fallocate per closed chunk with pages to give back: a few us for each
 * thread that ended early. Best effort. */
static void free_closed_tails(struct tg_writer *w, uint64_t nchunks)
{
    /* a small trace keeps its tails: fewer than this many bytes to give
     * back cost more time to punch (folio splits) than their disk is worth */
    if (nchunks * (uint64_t)TG_CHUNK_SIZE < SMALL_TRACE)
        return;
    /* not under the run-wide lock, which lives in the header's page: its
     * stores after the holes would refill unit 0's; closed chunks are
     * nobody's to write any more */
    if (check_fd(w) == 0) {
        for (uint64_t i = 0; i < nchunks; i++) {
            struct tg_chunk_header c;
            off_t off = (off_t)(TG_HEADER_SIZE + i * (uint64_t)TG_CHUNK_SIZE);
            if (tg_writer_mapped(w, i))          /* no system call per chunk */
                memcpy(&c, tg_chunk_at(w->hdr, i), sizeof c);
            else if (pread(w->fd, &c, sizeof c, off) != (ssize_t)sizeof c)
                break;
            if (c.magic == TG_CHUNK_MAGIC && c.owner != TG_META_STREAM && c.closed
                && c.used <= TG_CHUNK_PAYLOAD)
                punch_tail(w->fd, (uint64_t)off, c.used);
        }
    }
}

void tg_writer_finish(struct tg_writer *w, int wait_status)
{
    if (w->hdr == NULL)
        return;
    tg_writer_calib(w);
    struct tg_file_header *hdr = w->hdr;
    if ((uint32_t)getpid() != hdr->root_pid)
        return;
    trim(w);
    __atomic_store_n(&hdr->exit_status, wait_status, __ATOMIC_RELAXED);
    __atomic_store_n(&hdr->finished, 1, __ATOMIC_RELEASE);
    /* last: the header stores above would otherwise refill holes near it */
    free_closed_tails(w, __atomic_load_n(&hdr->chunks_used, __ATOMIC_ACQUIRE));
}

int tg_writer_finish_reaped(const char *path, int wait_status)
{
    struct tg_writer w = { .fd = open(path, O_RDWR | O_CLOEXEC) };
    struct stat st;
    int err = 0;

    if (w.fd < 0)
        return -errno;
    if (fstat(w.fd, &st) < 0) {
        err = -errno;
        goto out;
    }
    if (st.st_size < (off_t)TG_HEADER_SIZE) {
        err = -EPROTO;
        goto out;
    }
    w.hdr = mmap(NULL, TG_HEADER_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, w.fd, 0);
    if (w.hdr == MAP_FAILED) {
        w.hdr = NULL;
        err = -errno;
        goto out;
    }
    if (memcmp(w.hdr->magic, TG_MAGIC, sizeof w.hdr->magic) != 0
        || w.hdr->version != TG_VERSION) {
        err = -EPROTO;
        goto out;
    }
    if (__atomic_load_n(&w.hdr->finished, __ATOMIC_ACQUIRE))
        goto out;
    w.dev = (uint64_t)st.st_dev;
    w.ino = (uint64_t)st.st_ino;
    snprintf(w.path, sizeof w.path, "%s", path);
    /* a forked child of the run may still be writing: trim() cuts under
     * the run-wide lock, past the last claimed chunk only */
    trim(&w);
    __atomic_store_n(&w.hdr->exit_status, wait_status, __ATOMIC_RELAXED);
    __atomic_store_n(&w.hdr->finished, 1, __ATOMIC_RELEASE);
    free_closed_tails(&w, __atomic_load_n(&w.hdr->chunks_used, __ATOMIC_ACQUIRE));
out:
    if (w.hdr)
        munmap(w.hdr, TG_HEADER_SIZE);
    close(w.fd);
    return err;
}

uint32_t tg_writer_new_thread(struct tg_writer *w)
{
    if (w->hdr == NULL)
        return TG_NO_THREAD;     /* streams of a writer that failed lose records */
    return __atomic_fetch_add(&w->hdr->next_thread, 1, __ATOMIC_RELAXED);
}

void tg_writer_add_features(struct tg_writer *w, uint64_t features)
{
    if (w->hdr == NULL)
        return;
    __atomic_fetch_or(&w->hdr->features, features & TG_FEATURES_KNOWN, __ATOMIC_RELEASE);
}

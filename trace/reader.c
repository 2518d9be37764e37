/* trace/: opening a trace — validation with one clear error per failure,
 * the read-only mapping that follows the file's growth, tick -> ns, and the
 * trace-wide answers (summary, now, done). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trace/reader_internal.h"
#include "trace/writer.h"

#define FOLLOW_RESERVE (65ull << 30)   /* covers the writer's 64 GiB + header */
#define MIN_CAL_SPAN   10000u           /* ticks; closer pairs are mostly jitter */

int tg_reader_fail(struct tg_trace *t, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->errmsg, sizeof t->errmsg, fmt, ap);
    va_end(ap);
    if (err == TG_TRACE_ECORRUPT)
        t->err = err;              /* sticky: the events returned so far stand */
    return err;
}

/* ---- mapping ---- */

static uint64_t page_up(uint64_t n)
{
    uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
    return (n + page - 1) / page * page;
}

static int map_at_least(struct tg_trace *t, uint64_t need)
{
    need = page_up(need);
    uint64_t len = need;
    if (t->flags & TG_OPEN_FOLLOW)
        len = need * 2 > FOLLOW_RESERVE ? need * 2 : FOLLOW_RESERVE;
    void *p;
    while ((p = mmap(NULL, len, PROT_READ, MAP_SHARED | MAP_NORESERVE, t->fd, 0)) == MAP_FAILED
           && len > need)
        len = len / 2 < need ? need : len / 2;   /* address space is limited */
    if (p == MAP_FAILED)
        return -errno;
    if (t->map) {
        /* Pointers into the old mapping were handed out (stacks, payloads):
         * keep it until close and move our own cursors over. */
        struct old_map *o = realloc(t->old_maps, (t->nold + 1) * sizeof *o);
        if (o == NULL) {
            munmap(p, len);
            return -ENOMEM;
        }
        t->old_maps = o;
        o[t->nold++] = (struct old_map){ t->map, t->map_len };
    }
    t->map = p;
    t->map_len = len;
    t->hdr = p;
    return 0;
}

int tg_reader_remap(struct tg_trace *t)
{
    struct stat st;
    if (fstat(t->fd, &st) < 0)
        return -errno;
    uint64_t size = (uint64_t)st.st_size;
    if (size < t->file_size)
        size = t->file_size;      /* shrunk under us: stay within what we saw */
    if (size > t->map_len) {
        int rc = map_at_least(t, size);
        if (rc < 0)
            return rc;
    }
    t->file_size = size < t->map_len ? size : t->map_len;
    return 0;
}

/* ---- clock ---- */

bool tg_reader_now_tick(struct tg_trace *t, uint64_t *tick)
{
    if (!t->same_boot)
        return false;
#if !defined(__x86_64__) && !defined(__i386__)
    if (t->clock == TG_CLOCK_TSC)
        return false;
#endif
    *tick = tg_tick(t->clock);
    return true;
}

void tg_reader_calib_point(struct tg_trace *t, uint64_t tick, uint64_t ns)
{
    if (t->clock != TG_CLOCK_TSC || tick < t->tick0 + MIN_CAL_SPAN || ns <= t->mono_ns0)
        return;
    uint64_t span = tick - t->tick0;
    uint64_t cur = t->cal_tick ? t->cal_tick - t->tick0 : 0;
    /* Once times were handed out, move the rate only for a clearly longer
     * span: each change shifts later times a little. */
    uint64_t want = t->events ? cur + cur / 4 : cur + 1;
    if (span < want)
        return;
    double rate = (double)(ns - t->mono_ns0) / (double)span;
    if (rate < 0.01 || rate > 100.0)
        return;                   /* not a pair of one machine's clocks */
    t->cal_tick = tick;
    t->cal_ns = ns;
    tg_reader_set_rate(t, rate);
}

/* ---- open ---- */

static int check_header(struct tg_trace *t)
{
    const struct tg_file_header *h = t->hdr;
    static const char zero[8];
    if (memcmp(h->magic, zero, 8) == 0)
        return tg_reader_fail(t, TG_TRACE_EEMPTY, "no writer has initialised the trace yet");
    if (memcmp(h->magic, TG_MAGIC, 8) != 0)
        return tg_reader_fail(t, TG_TRACE_ENOTTRACE, "not a tangle trace (no %s magic)", TG_MAGIC);
    __atomic_thread_fence(__ATOMIC_ACQUIRE);   /* pairs with the writer's magic */
    if (h->min_read_version > TG_VERSION)
        return tg_reader_fail(t, TG_TRACE_EVERSION,
                              "written by a newer tangle: format version %u needs a reader "
                              "of version %u or later, this one reads version %u",
                              h->version, h->min_read_version, TG_VERSION);
    if (h->version < TG_OLDEST_READ)
        return tg_reader_fail(t, TG_TRACE_EVERSION,
                              "written by an older tangle: format version %u, this one reads "
                              "versions %u to %u (record the trace again)",
                              h->version, TG_OLDEST_READ, TG_VERSION);
    uint64_t features = __atomic_load_n(&h->features, __ATOMIC_ACQUIRE);
    if (features & ~(uint64_t)TG_FEATURES_KNOWN)
        return tg_reader_fail(t, TG_TRACE_EFEATURE,
                              "uses features this reader does not know (bits 0x%llx)",
                              (unsigned long long)(features & ~(uint64_t)TG_FEATURES_KNOWN));
    if (h->header_size != TG_HEADER_SIZE || h->chunk_size != TG_CHUNK_SIZE)
        return tg_reader_fail(t, TG_TRACE_ECORRUPT,
                              "corrupt header: header size %u, chunk size %u (expected %u, %u)",
                              h->header_size, h->chunk_size, TG_HEADER_SIZE, TG_CHUNK_SIZE);
    if (h->clock > TG_CLOCK_TSC)
        return tg_reader_fail(t, TG_TRACE_ECORRUPT, "corrupt header: unknown clock %u", h->clock);
    return 0;
}

static int open_file(struct tg_trace *t, const char *path)
{
    t->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (t->fd < 0)
        return tg_reader_fail(t, TG_TRACE_EIO, "%s", strerror(errno));
    struct stat st;
    if (fstat(t->fd, &st) < 0)
        return tg_reader_fail(t, TG_TRACE_EIO, "%s", strerror(errno));
    if (!S_ISREG(st.st_mode))
        return tg_reader_fail(t, TG_TRACE_EIO, "not a regular file");
    uint64_t size = (uint64_t)st.st_size;
    if (size == 0)
        return tg_reader_fail(t, TG_TRACE_EEMPTY, "the file is empty: no writer has initialised it yet");
    if (size < TG_HEADER_SIZE) {
        char magic[8] = {0};
        ssize_t n = pread(t->fd, magic, sizeof magic, 0);
        size_t cmp = n < 0 ? 0 : (size_t)n;
        if (cmp == 0 || memcmp(magic, TG_MAGIC, cmp) != 0)
            return tg_reader_fail(t, TG_TRACE_ENOTTRACE, "not a tangle trace (no %s magic)", TG_MAGIC);
        return tg_reader_fail(t, TG_TRACE_ETRUNCATED, "truncated: the header is cut at byte %llu of %u",
                              (unsigned long long)size, TG_HEADER_SIZE);
    }
    t->file_size = size;
    int rc = map_at_least(t, size);
    if (rc < 0)
        return tg_reader_fail(t, TG_TRACE_EIO, "cannot map it: %s", strerror(-rc));
    return 0;
}

int tg_trace_open(const char *path, unsigned flags, struct tg_trace **out,
                  char *errbuf, size_t errlen)
{
    *out = NULL;
    struct tg_trace *t = calloc(1, sizeof *t);
    if (t == NULL) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "out of memory");
        return TG_TRACE_EIO;
    }
    t->fd = -1;
    t->flags = flags;
    t->damage = UINT64_MAX;
    int rc = open_file(t, path);
    if (rc == 0)
        rc = check_header(t);
    if (rc == 0) {
        const struct tg_file_header *h = t->hdr;
        t->clock = h->clock;
        t->tick0 = h->tick0;
        t->mono_ns0 = h->mono_ns0;
        tg_reader_set_rate(t, 1.0);
        uint8_t boot[16];
        t->same_boot = tg_boot_id(boot) == 0 && memcmp(boot, h->boot_id, sizeof boot) == 0;
        t->finished = __atomic_load_n(&h->finished, __ATOMIC_ACQUIRE);
        rc = tg_reader_scan(t);
        if (rc == 0)
            rc = tg_reader_meta(t);
        if (rc == 0 && t->clock == TG_CLOCK_TSC && t->cal_tick == 0 && t->same_boot) {
            uint64_t tick, ns;     /* no usable pair in the trace yet: ours */
            tg_calib_pair(t->clock, &tick, &ns);
            tg_reader_calib_point(t, tick, ns);
        }
    }
    if (rc < 0) {
        if (errbuf && errlen)
            snprintf(errbuf, errlen, "%s", t->errmsg[0] ? t->errmsg : tg_trace_strerror(rc));
        tg_trace_close(t);
        return rc;
    }
    *out = t;
    return 0;
}

void tg_trace_close(struct tg_trace *t)
{
    if (t == NULL)
        return;
    tg_reader_free_streams(t);
    tg_reader_free_tables(t);
    if (t->map)
        munmap((void *)t->map, t->map_len);
    for (size_t i = 0; i < t->nold; i++)
        munmap((void *)t->old_maps[i].p, t->old_maps[i].len);
    free(t->old_maps);
    if (t->fd >= 0)
        close(t->fd);
    free(t);
}

const char *tg_trace_error(struct tg_trace *t)
{
    return t->errmsg[0] ? t->errmsg : NULL;
}

/* ---- trace-wide answers ---- */

/* The root and every process seen are gone (killed, so nobody set
 * `finished`): a live trace that can never grow again. */
static bool writers_gone(struct tg_trace *t)
{
    if (!t->same_boot)
        return true;
    if (kill((pid_t)t->hdr->root_pid, 0) == 0 || errno != ESRCH)
        return false;
    for (uint32_t i = 0; i < t->nprocs_cap; i++) {
        struct rprocess *p = t->procs[i];
        if (p && !p->info.exited && (kill((pid_t)p->info.pid, 0) == 0 || errno != ESRCH))
            return false;
    }
    return true;
}

bool tg_trace_done(struct tg_trace *t)
{
    bool fin = __atomic_load_n(&t->hdr->finished, __ATOMIC_ACQUIRE) != 0;
    if ((t->flags & TG_OPEN_FOLLOW) && !fin && !writers_gone(t))
        return false;
    if (t->nheap == 0 && tg_reader_refresh(t) < 0)
        return true;              /* corrupt: nothing more will come */
    return t->nheap == 0;
}

uint64_t tg_trace_now(struct tg_trace *t)
{
    uint64_t tick;
    bool fin = __atomic_load_n(&t->hdr->finished, __ATOMIC_ACQUIRE) != 0;
    if ((t->flags & TG_OPEN_FOLLOW) && !fin && tg_reader_now_tick(t, &tick)) {
        uint64_t ns = tg_reader_ns(t, tick);
        return ns > t->last_ts ? ns : t->last_ts;
    }
    uint64_t ns = tg_reader_ns(t, tg_reader_end_tick(t));
    return ns > t->last_ts ? ns : t->last_ts;
}

void tg_trace_summary(struct tg_trace *t, struct tg_trace_summary *out)
{
    const struct tg_file_header *h = t->hdr;
    memset(out, 0, sizeof *out);
    out->version = h->version;
    out->features = __atomic_load_n(&h->features, __ATOMIC_ACQUIRE);
    out->clock = h->clock;
    out->real_ns0 = h->real_ns0;
    out->root_pid = h->root_pid;
    out->program = h->program[sizeof h->program - 1] == '\0' ? h->program : "";
    out->finished = __atomic_load_n(&h->finished, __ATOMIC_ACQUIRE) != 0;
    out->exit_status = __atomic_load_n(&h->exit_status, __ATOMIC_ACQUIRE);
    out->chunks = t->scanned;
    /* as last read: the streams and the meta stream keep them current */
    for (uint32_t i = 0; i < t->scanned; i++) {
        if (TG_HEADER_SIZE + (i + 1) * (uint64_t)TG_CHUNK_SIZE > t->file_size)
            break;
        out->bytes += t->cinfo[i].used;
    }
    out->events = t->events;
    out->lost = t->lost;
    out->threads = t->nthreads;
    out->processes = t->nprocs;
    out->stacks = t->nstacks;
    out->file_size = t->file_size;
    out->truncated = t->truncated;
}

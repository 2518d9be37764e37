/* trace/: the meta stream — one chain of chunks shared by every process of
 * the run, appended under the run-wide lock: PROCESS, MODULE, STACK and
 * CALIB records. The current chunk is found through the header each time
 * (another process may have moved it on). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trace/internal.h"
#include "trace/writer.h"

static uint32_t align8(uint32_t n) { return (n + 7u) & ~7u; }

/* Under the lock: room for SIZE bytes at the end of the meta stream.
 * The caller fills it and calls meta_publish_locked. */
static int meta_reserve_locked(struct tg_writer *w, uint32_t size,
                               struct tg_chunk_header **chunk, uint8_t **at)
{
    struct tg_file_header *hdr = w->hdr;
    struct tg_chunk_header *c = NULL;
    uint32_t cur = hdr->meta_chunk;
    if (cur != 0) {
        if (cur > __atomic_load_n(&hdr->chunks_used, __ATOMIC_ACQUIRE)
            || !tg_writer_mapped(w, cur - 1))
            return -ENOSPC;      /* beyond what this process could map */
        c = tg_chunk_at(hdr, cur - 1);
    }
    if (c == NULL || c->used + size > TG_CHUNK_PAYLOAD) {
        struct tg_chunk_header *next;
        uint64_t tick = tg_tick(w->clock);
        int rc = tg_writer_claim_locked(w, TG_META_STREAM, c ? c->seq + 1 : 0, tick, &next);
        if (rc < 0)
            return rc;
        hdr->meta_chunk = (uint32_t)(((uint8_t *)next - (uint8_t *)hdr - TG_HEADER_SIZE)
                                     / TG_CHUNK_SIZE) + 1;
        if (c)
            __atomic_store_n(&c->closed, 1, __ATOMIC_RELEASE);
        c = next;
    }
    *chunk = c;
    *at = (uint8_t *)(c + 1) + c->used;
    return 0;
}

static void meta_publish_locked(struct tg_chunk_header *c, struct tg_meta *rec,
                                uint16_t type, uint32_t size)
{
    uint32_t padded = align8(size);
    memset((uint8_t *)rec + size, 0, padded - size);
    rec->type = type;
    rec->reserved = 0;
    rec->size = padded;
    __atomic_store_n(&c->used, c->used + padded, __ATOMIC_RELEASE);
}

int tg_writer_meta(struct tg_writer *w, const struct tg_meta *rec)
{
    if (w->hdr == NULL)
        return -EBADF;
    if (rec->size < sizeof *rec || rec->size > TG_MAX_META)
        return -EINVAL;
    int rc = tg_writer_lock(w);
    if (rc < 0)
        return rc;
    struct tg_chunk_header *c;
    uint8_t *at;
    rc = meta_reserve_locked(w, align8(rec->size), &c, &at);
    if (rc == 0) {
        memcpy(at, rec, rec->size);
        meta_publish_locked(c, (struct tg_meta *)at, rec->type, rec->size);
    }
    tg_writer_unlock(w);
    return rc;
}

int tg_writer_calib(struct tg_writer *w)
{
    struct tg_meta_calib rec = { .h = { .type = TG_META_CALIB, .size = sizeof rec } };
    tg_calib_pair(w->clock, &rec.tick, &rec.mono_ns);
    return tg_writer_meta(w, &rec.h);
}

uint32_t tg_writer_stack(struct tg_writer *w, const uint64_t *frames, uint32_t n)
{
    if (w->hdr == NULL)
        return 0;
    if (n > TG_MAX_FRAMES)
        n = TG_MAX_FRAMES;       /* the outermost frames go */
    uint32_t size = (uint32_t)(sizeof(struct tg_meta_stack) + n * sizeof frames[0]);
    if (tg_writer_lock(w) < 0)
        return 0;
    struct tg_chunk_header *c;
    uint8_t *at;
    uint32_t id = 0;
    /* ids fit the records' stack field (format.h) */
    bool room = __atomic_load_n(&w->hdr->next_stack, __ATOMIC_RELAXED) < TG_STACK_ID_LIMIT;
    if (room && meta_reserve_locked(w, size, &c, &at) == 0) {
        struct tg_meta_stack *rec = (struct tg_meta_stack *)at;
        /* allocated under the lock, so ids appear in the stream in order */
        id = __atomic_fetch_add(&w->hdr->next_stack, 1, __ATOMIC_RELAXED);
        rec->id = id;
        rec->process = w->process;
        rec->nframes = n;
        rec->reserved = 0;
        memcpy(rec->frames, frames, n * sizeof frames[0]);
        meta_publish_locked(c, &rec->h, TG_META_STACK, size);
    }
    tg_writer_unlock(w);
    return id;
}

/* ---- processes ---- */

/* /proc/self/cmdline with the NULs between arguments turned into spaces. */
static size_t read_cmdline(char *buf, size_t len)
{
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    size_t got = 0;
    while (got + 1 < len) {
        ssize_t n = read(fd, buf + got, len - 1 - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    while (got > 0 && buf[got - 1] == '\0')
        got--;
    for (size_t i = 0; i < got; i++)
        if (buf[i] == '\0')
            buf[i] = ' ';
    buf[got] = '\0';
    return got;
}

/* /proc/self is the main thread's entry, whose exe link is gone once
 * main() has left through pthread_exit while other threads run on, so the
 * calling thread's own entry is asked first. */
size_t tg_writer_self_exe(char *buf, size_t len)
{
    ssize_t n = readlink("/proc/thread-self/exe", buf, len - 1);
    if (n <= 0)
        n = readlink("/proc/self/exe", buf, len - 1);   /* before Linux 3.17 */
    n = n < 0 ? 0 : n;
    buf[n] = '\0';
    return (size_t)n;
}

static int write_process(struct tg_writer *w, uint32_t parent, bool exec,
                         const char *cmdline)
{
    enum { CMD_MAX = 4096 };
    char exe[PATH_MAX];
    size_t exe_len = tg_writer_self_exe(exe, sizeof exe);
    size_t cmd_len = cmdline ? strnlen(cmdline, CMD_MAX - 1) : CMD_MAX - 1;
    uint32_t max = (uint32_t)(sizeof(struct tg_meta_process) + exe_len + 1 + cmd_len + 1);

    int rc = tg_writer_lock(w);
    if (rc < 0)
        return rc;
    struct tg_chunk_header *c;
    uint8_t *at;
    rc = meta_reserve_locked(w, align8(max), &c, &at);
    if (rc == 0) {
        struct tg_meta_process *rec = (struct tg_meta_process *)at;
        rec->index = w->process;
        rec->parent = parent;
        rec->pid = (uint32_t)getpid();
        rec->ppid = (uint32_t)getppid();
        rec->tick = tg_tick(w->clock);
        rec->first_thread = w->first_thread;
        rec->exec = exec;
        memcpy(rec->path, exe, exe_len + 1);
        char *cmd = rec->path + exe_len + 1;
        if (cmdline) {
            memcpy(cmd, cmdline, cmd_len);
            cmd[cmd_len] = '\0';
        } else {
            cmd_len = read_cmdline(cmd, cmd_len + 1);
        }
        uint32_t size = (uint32_t)(sizeof *rec + exe_len + 1 + cmd_len + 1);
        meta_publish_locked(c, &rec->h, TG_META_PROCESS, size);
    }
    tg_writer_unlock(w);
    return rc;
}

int tg_writer_process_record(struct tg_writer *w, uint32_t parent, bool exec,
                             const char *cmdline)
{
    int rc = write_process(w, parent, exec, cmdline);
    if (rc < 0)
        return rc;
    tg_writer_calib(w);
    tg_writer_modules(w);
    return 0;
}

/* Calls FN for each PROCESS record in the trace, oldest first, until it
 * returns true. */
static void each_process(struct tg_writer *w,
                         bool (*fn)(const struct tg_meta_process *, void *), void *ctx)
{
    const struct tg_file_header *hdr = w->hdr;
    uint32_t n = __atomic_load_n(&hdr->chunks_used, __ATOMIC_ACQUIRE);
    for (uint32_t i = 0; i < n && tg_writer_mapped(w, i); i++) {
        const struct tg_chunk_header *c = tg_chunk_at(hdr, i);
        if (c->magic != TG_CHUNK_MAGIC || c->owner != TG_META_STREAM)
            continue;
        uint32_t used = __atomic_load_n(&c->used, __ATOMIC_ACQUIRE);
        const uint8_t *p = (const uint8_t *)(c + 1);
        for (uint32_t off = 0; off + sizeof(struct tg_meta) <= used && used <= TG_CHUNK_PAYLOAD;) {
            const struct tg_meta *m = (const struct tg_meta *)(p + off);
            if (m->size < sizeof *m || m->size > used - off)
                break;
            if (m->type == TG_META_PROCESS && m->size >= sizeof(struct tg_meta_process)
                && fn((const struct tg_meta_process *)m, ctx))
                return;
            off += m->size;
        }
    }
}

struct pid_search {
    uint32_t pid;
    uint32_t found;
};

static bool note_pid(const struct tg_meta_process *m, void *ctx)
{
    struct pid_search *s = ctx;
    if (m->pid == s->pid)
        s->found = m->index;    /* the latest one wins: go on */
    return false;
}

uint32_t tg_writer_find_pid(struct tg_writer *w, uint32_t pid)
{
    struct pid_search s = { pid, TG_NO_THREAD };
    each_process(w, note_pid, &s);
    return s.found;
}

static bool is_alive(const struct tg_meta_process *m, void *ctx)
{
    bool *alive = ctx;
    *alive = m->pid > 0 && (kill((pid_t)m->pid, 0) == 0 || errno == EPERM);
    return *alive;
}

bool tg_writer_left_over(struct tg_writer *w)
{
    if (tg_writer_find_pid(w, (uint32_t)getpid()) != TG_NO_THREAD
        || tg_writer_find_pid(w, (uint32_t)getppid()) != TG_NO_THREAD)
        return false;
    bool alive = false;
    each_process(w, is_alive, &alive);
    return !alive;
}

/* ---- modules ---- */

struct module_scan {
    struct tg_writer *w;
    int err;
};

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h * 0xff51afd7ed558ccdull;
}

static bool module_seen(struct tg_writer *w, uint64_t key)
{
    for (uint32_t i = 0; i < w->nmodules; i++)
        if (w->modules[i] == key)
            return true;
    return false;
}

static int module_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct module_scan *scan = arg;
    struct tg_writer *w = scan->w;
    const char *name = info->dlpi_name ? info->dlpi_name : "";
    char path[PATH_MAX];
    if (name[0] == '\0') {
        if (tg_writer_self_exe(path, sizeof path) == 0)
            return 0;                  /* the main program unnamed: readers take
                                        * the newest record, "" would hide its name */
    } else if (strchr(name, '/') == NULL) {
        return 0;                      /* the vDSO: no file to read */
    } else if (name[0] != '/' && realpath(name, path) != NULL) {
        ;                              /* dlopen'ed by a relative path */
    } else {
        strncpy(path, name, sizeof path - 1);
        path[sizeof path - 1] = '\0';
    }
    uint64_t lo = UINT64_MAX, hi = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD)
            continue;
        uint64_t start = info->dlpi_addr + ph->p_vaddr;
        if (start < lo)
            lo = start;
        if (start + ph->p_memsz > hi)
            hi = start + ph->p_memsz;
    }
    if (hi == 0)
        return 0;
    uint64_t key = mix(mix(mix(info->dlpi_addr, lo), hi), 0);
    for (const char *p = path; *p; p++)
        key = mix(key, (uint8_t)*p);
    size_t len = strlen(path);
    uint32_t rec_size = (uint32_t)(sizeof(struct tg_meta_module) + len + 1);
    /* The lock also guards w->modules: threads may rescan at once. */
    int rc = tg_writer_lock(w);
    if (rc == 0 && module_seen(w, key)) {
        tg_writer_unlock(w);
        return 0;
    }
    if (rc == 0) {
        struct tg_chunk_header *c;
        uint8_t *at;
        rc = meta_reserve_locked(w, align8(rec_size), &c, &at);
        if (rc == 0) {
            struct tg_meta_module *rec = (struct tg_meta_module *)at;
            rec->process = w->process;
            rec->reserved = 0;
            rec->base = info->dlpi_addr;
            rec->lo = lo;
            rec->hi = hi;
            memcpy(rec->path, path, len + 1);
            meta_publish_locked(c, &rec->h, TG_META_MODULE, rec_size);
            if (w->nmodules < TG_WRITER_MAX_MODULES)
                w->modules[w->nmodules++] = key;   /* when full: recorded again, harmless */
        }
        tg_writer_unlock(w);
    }
    if (rc < 0) {
        scan->err = rc;
        return 1;
    }
    return 0;
}

int tg_writer_modules(struct tg_writer *w)
{
    if (w->hdr == NULL)
        return -EBADF;
    struct module_scan scan = { .w = w, .err = 0 };
    dl_iterate_phdr(module_cb, &scan);
    return scan.err;
}

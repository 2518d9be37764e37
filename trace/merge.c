/* trace/: the thread streams and their k-way merge by tick (a heap of
 * stream heads), live or not.
 *
 * Follow mode returns a record only when no stream can still publish an
 * older one: every waiting stream has published past it, or it is older
 * than the grace period (a blocked thread publishes nothing).
 *
 * Data chunks are read with pread into a small window per stream, not
 * through the file's mapping: every page of a mapping costs a page fault or
 * a page-table fill on first touch (on this project's VMs about 30 us a
 * fault; touching only the 2,000 chunk headers of a 128 MB trace took 60 ms),
 * while pread copies from the page cache into a window that stays mapped
 * and in cache (the whole 128 MB in about 25 ms). The meta stream, whose
 * records are handed out by pointer (stack frames), stays on the mapping. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "trace/reader_internal.h"

#define WINDOW       (32u * 1024)          /* bytes of a stream read at a time */
#define SMALL_WINDOW 4096u                 /* with many streams; holds the largest record */
#define MANY_STREAMS 256u
#define GRACE_NS     (50u * 1000 * 1000)
#define OWN_CALIB_NS (10u * 1000 * 1000)   /* live TSC traces: our own pair this often */

/* ---- growable arrays ---- */

void *tg_grow(void *p, uint32_t *cap, uint32_t need, size_t elem)
{
    if (need <= *cap)
        return p;
    uint32_t n = *cap ? *cap : 8;
    while (n < need)
        n = n > UINT32_MAX / 2 ? need : n * 2;
    void *q = realloc(p, (size_t)n * elem);
    if (q == NULL)
        return NULL;
    memset((uint8_t *)q + (size_t)*cap * elem, 0, (size_t)(n - *cap) * elem);
    *cap = n;
    return q;
}

int tg_list_push(struct chunk_list *l, uint32_t v)
{
    uint32_t *p = tg_grow(l->idx, &l->cap, l->n + 1, sizeof *p);
    if (p == NULL)
        return -ENOMEM;
    l->idx = p;
    l->idx[l->n++] = v;
    return 0;
}

/* ---- the heap: smallest (tick, thread) on top ----
 * Four children per node: half the levels of a binary heap, and the four
 * children share a cache line and are compared independently, so the chain
 * of dependent loads and compares per event is short. */

#define ARITY 4
#define PARENT(i) (((i) - 1) / ARITY)
#define CHILD(i)  ((i) * ARITY + 1)

/* Branch-free: in an interleaved trace the outcome is a coin toss, and a
 * mispredicted branch per heap level costs more than the compare. */
static inline bool before(const struct heap_ent *a, const struct heap_ent *b)
{
    return (a->key < b->key) | ((a->key == b->key) & (a->thread < b->thread));
}

/* Index of the smallest of the children from C on (up to four, < N). */
static inline uint32_t min_child(const struct heap_ent *h, uint32_t c, uint32_t n)
{
    if (__builtin_expect(c + 3 < n, 1)) {
        uint32_t a = c + before(&h[c + 1], &h[c]);
        uint32_t b = c + 2 + before(&h[c + 3], &h[c + 2]);
        return before(&h[b], &h[a]) ? b : a;
    }
    uint32_t m = c;
    for (uint32_t k = c + 1; k < n; k++)
        if (before(&h[k], &h[m]))
            m = k;
    return m;
}

/* The top's key grew. Often its stream still comes first (threads write
 * in runs): one look at the children. Otherwise it usually sinks to the
 * bottom, so go down along the smallest children and climb back. */
static void sift_top(struct heap_ent *h, uint32_t n)
{
    if (n < 2)
        return;
    struct heap_ent e = h[0];
    uint32_t c = min_child(h, 1, n);
    if (before(&e, &h[c]))
        return;
    uint32_t j = 0;
    for (;;) {
        h[j] = h[c];
        j = c;
        uint32_t first = CHILD(j);
        if (first >= n)
            break;
        c = min_child(h, first, n);
    }
    while (j > 0 && before(&e, &h[PARENT(j)])) {
        h[j] = h[PARENT(j)];
        j = PARENT(j);
    }
    h[j] = e;
}

/* The top's smallest child: while the top's stream stays before it (a
 * thread writes in runs), the next record comes from the same stream and
 * the heap needs no work. Kept up to date by every change of the heap. */
static void note_runner_up(struct tg_trace *t)
{
    t->runner_up = t->nheap > 1 ? t->heap[min_child(t->heap, 1, t->nheap)]
                                : (struct heap_ent){ UINT64_MAX, UINT32_MAX };
}

static int heap_push(struct tg_trace *t, struct rstream *s)
{
    struct heap_ent *h = tg_grow(t->heap, &t->cap_heap, t->nheap + 1, sizeof *h);
    if (h == NULL)
        return tg_reader_fail(t, TG_TRACE_EIO, "out of memory");
    t->heap = h;
    struct heap_ent e = { s->head, s->thread };
    uint32_t i = t->nheap++;
    while (i > 0 && before(&e, &h[PARENT(i)])) {
        h[i] = h[PARENT(i)];
        i = PARENT(i);
    }
    h[i] = e;
    s->in_heap = true;
    note_runner_up(t);
    return 0;
}

static void heap_pop(struct tg_trace *t)
{
    t->by_thread[t->heap[0].thread]->in_heap = false;
    t->heap[0] = t->heap[--t->nheap];
    sift_top(t->heap, t->nheap);
    note_runner_up(t);
}

/* ---- streams ---- */

static int activate(struct tg_trace *t, struct rstream *s)
{
    if (s->listed)
        return 0;
    struct rstream **a = tg_grow(t->active, &t->cap_active, t->nactive + 1, sizeof *a);
    if (a == NULL)
        return -ENOMEM;
    t->active = a;
    a[t->nactive++] = s;
    s->listed = true;
    return 0;
}

uint32_t tg_reader_in_file(const struct tg_trace *t, uint32_t idx, uint32_t used)
{
    uint64_t off = tg_reader_payload_off(idx);
    if (off >= t->file_size)
        return 0;
    return t->file_size - off < used ? (uint32_t)(t->file_size - off) : used;
}

/* Copies chunk IDX's header. The header is 64 bytes at a 64 KiB-aligned
 * offset, copied whole into an aligned buffer: `used` (an aligned 4-byte
 * field the writer stores atomically) is not torn by the copy. */
static int read_header(struct tg_trace *t, uint32_t idx, struct tg_chunk_header *out)
{
    ssize_t n;
    while ((n = pread(t->fd, out, sizeof *out, (off_t)(tg_reader_payload_off(idx) - sizeof *out))) < 0
           && errno == EINTR)
        ;
    if (n == (ssize_t)sizeof *out)
        return 0;
    return n < 0 ? tg_reader_fail(t, TG_TRACE_EIO, "cannot read chunk %u: %s", idx, strerror(errno))
                 : 1;             /* the file ends inside it */
}

/* Follow mode: header reads of one chunk after which its header is read
 * through the mapping instead. A busy stream fills its chunk in a few
 * looks; a quiet one (a thread blocked for seconds) is looked at on every
 * refresh, and a system call per look and per quiet thread would add up,
 * while the mapping costs one page fault per chunk, then nothing. */
#define PREADS_PER_CHUNK 8

/* Whether nothing more will be written: a finished trace, or not followed. */
static bool done_reading(const struct tg_trace *t)
{
    return !(t->flags & TG_OPEN_FOLLOW) || t->finished;
}

/* The chunk's `used` and `closed` now (follow mode), or as scanned. POLLS
 * counts the looks at it (NULL: always a copy). */
static int chunk_state_polled(struct tg_trace *t, uint32_t idx, uint8_t *polls)
{
    if (!(t->flags & TG_OPEN_FOLLOW))
        return 0;
    if (polls && *polls >= PREADS_PER_CHUNK) {
        const struct tg_chunk_header *h = tg_chunk_at(t->map, idx);
        t->cinfo[idx].used = __atomic_load_n(&h->used, __ATOMIC_ACQUIRE);
        t->cinfo[idx].closed = __atomic_load_n(&h->closed, __ATOMIC_ACQUIRE) != 0;
        return 0;
    }
    if (polls)
        (*polls)++;
    _Alignas(64) struct tg_chunk_header c;
    int rc = read_header(t, idx, &c);
    if (rc < 0)
        return rc;
    if (rc == 0) {
        t->cinfo[idx].used = c.used;
        t->cinfo[idx].closed = c.closed != 0;
    }
    return 0;
}

static int chunk_state(struct tg_trace *t, uint32_t idx)
{
    return chunk_state_polled(t, idx, NULL);
}

static void enter_chunk(struct tg_trace *t, struct rstream *s, uint32_t cur)
{
    s->cur = cur;
    s->tick_base = t->cinfo[s->chunks.idx[cur]].tick_base;
    s->win_off = s->avail = 0;
    s->pos = s->end = s->buf;
    s->cut = false;
    s->polls = 0;
    memset(s->dict, 0, sizeof s->dict);
    s->tmpl_ok = s->dict_used = 0;
}

static struct rstream *stream_for(struct tg_trace *t, uint32_t owner,
                                  const struct tg_chunk_header *c)
{
    if (owner >= t->nby_thread) {
        uint32_t cap = t->nby_thread;
        struct rstream **b = tg_grow(t->by_thread, &cap, owner + 1, sizeof *b);
        if (b == NULL)
            return NULL;
        t->by_thread = b;
        t->nby_thread = cap;
    }
    struct rstream *s = t->by_thread[owner];
    if (s == NULL) {
        if ((s = calloc(1, sizeof *s)) == NULL)
            return NULL;
        s->thread = owner;
        s->process = c->process;
        s->last = c->tick_base;    /* its first record is no older */
        t->by_thread[owner] = s;
    }
    return s;
}

static int add_chunk(struct tg_trace *t, uint32_t i, const struct tg_chunk_header *c,
                     uint32_t max_thread, uint32_t max_process)
{
    if (c->owner == TG_META_STREAM)
        return tg_list_push(&t->meta, i) < 0 ? tg_reader_fail(t, TG_TRACE_EIO, "out of memory") : 0;
    if (c->owner >= max_thread || c->process >= max_process)
        return tg_reader_fail(t, TG_TRACE_ECORRUPT,
                              "corrupt chunk %u: thread %u of process %u was never allocated",
                              i, c->owner, c->process);
    struct rstream *s = stream_for(t, c->owner, c);
    if (s == NULL)
        return tg_reader_fail(t, TG_TRACE_EIO, "out of memory");
    if (s->process != c->process || c->seq != s->chunks.n)
        return tg_reader_fail(t, TG_TRACE_ECORRUPT,
                              "corrupt chunk %u: sequence %u of thread %u does not follow on",
                              i, c->seq, c->owner);
    if (tg_list_push(&s->chunks, i) < 0 || activate(t, s) < 0)
        return tg_reader_fail(t, TG_TRACE_EIO, "out of memory");
    if (s->chunks.n == 1)
        enter_chunk(t, s, 0);
    return 0;
}

int tg_reader_scan(struct tg_trace *t)
{
    const struct tg_file_header *h = t->hdr;
    uint32_t n = __atomic_load_n(&h->chunks_used, __ATOMIC_ACQUIRE);
    if (n <= t->scanned)
        return 0;
    if (TG_HEADER_SIZE + (uint64_t)n * TG_CHUNK_SIZE > t->file_size) {
        int rc = tg_reader_remap(t);
        if (rc < 0)
            return tg_reader_fail(t, TG_TRACE_EIO, "cannot map the grown file: %s", strerror(-rc));
    }
    /* room for the chunks the file holds, not for what a bad header says */
    uint64_t fit = (t->file_size - TG_HEADER_SIZE + TG_CHUNK_SIZE - 1) / TG_CHUNK_SIZE;
    struct chunk_info *ci = tg_grow(t->cinfo, &t->cinfo_cap, n < fit ? n : (uint32_t)fit + 1,
                                    sizeof *ci);
    if (ci == NULL)
        return tg_reader_fail(t, TG_TRACE_EIO, "out of memory");
    t->cinfo = ci;
    h = t->hdr;
    uint32_t max_thread = __atomic_load_n(&h->next_thread, __ATOMIC_ACQUIRE);
    uint32_t max_process = __atomic_load_n(&h->next_process, __ATOMIC_ACQUIRE);
    max_thread = max_thread < TG_MAX_THREADS ? max_thread : TG_MAX_THREADS;
    max_process = max_process < TG_MAX_PROCESSES ? max_process : TG_MAX_PROCESSES;
    for (uint32_t i = t->scanned; i < n; i++) {
        uint64_t off = TG_HEADER_SIZE + (uint64_t)i * TG_CHUNK_SIZE;
        _Alignas(64) struct tg_chunk_header c;
        int rc = off + sizeof c > t->file_size || i >= t->cinfo_cap ? 1 : read_header(t, i, &c);
        if (rc < 0)
            return rc;
        if (rc > 0) {
            t->truncated = true;   /* announced, but the file ends first */
            /* Chunks are claimed in order, each by the record that did not
             * fit in its stream's last one: the records of the missing
             * chunks come after the last present chunk's first record (up
             * to a claim's wait for the run-wide lock). Any stream may have
             * lost some, even one that never shows up. */
            if (i > 0 && done_reading(t) && ci[i - 1].tick_base < t->damage)
                t->damage = ci[i - 1].tick_base;
            return 0;
        }
        if (c.magic != TG_CHUNK_MAGIC)
            return tg_reader_fail(t, TG_TRACE_ECORRUPT, "corrupt chunk %u: bad magic 0x%08x", i, c.magic);
        if (c.used > TG_CHUNK_PAYLOAD || c.used % (c.owner == TG_META_STREAM ? 8 : 2))
            return tg_reader_fail(t, TG_TRACE_ECORRUPT, "corrupt chunk %u: %u bytes used of %zu",
                                  i, c.used, (size_t)TG_CHUNK_PAYLOAD);
        ci[i] = (struct chunk_info){ .tick_base = c.tick_base, .used = c.used,
                                     .closed = c.closed != 0 };
        rc = add_chunk(t, i, &c, max_thread, max_process);
        if (rc < 0)
            return rc;
        t->scanned = i + 1;
        tg_reader_calib_point(t, c.tick_at_claim, c.mono_ns);
    }
    return 0;
}

/* Takes in what the writer published to the current chunk since we last
 * looked: 1 if there is more, 0 if not, <0 if `used` is impossible. */
static int extend(struct tg_trace *t, struct rstream *s)
{
    uint32_t idx = s->chunks.idx[s->cur];
    int rc = chunk_state_polled(t, idx, &s->polls);
    if (rc < 0)
        return rc;
    uint32_t used = t->cinfo[idx].used;
    if (used > TG_CHUNK_PAYLOAD || used % 2 || used < s->avail)
        return tg_reader_fail(t, TG_TRACE_ECORRUPT, "corrupt chunk %u: %u bytes used", idx, used);
    uint32_t avail = tg_reader_in_file(t, idx, used);
    if (avail < used)
        s->cut = true;
    if (avail <= s->avail)
        return 0;
    s->avail = avail;
    return 1;
}

/* Reads the window from payload offset FROM on (what is published). */
static int refill(struct tg_trace *t, struct rstream *s, uint32_t from)
{
    if (s->buf == NULL) {
        /* thousands of threads alive at once: a page each, not 32 KiB */
        s->bufcap = t->nactive > MANY_STREAMS ? SMALL_WINDOW : WINDOW;
        if ((s->buf = malloc(s->bufcap)) == NULL)
            return tg_reader_fail(t, TG_TRACE_EIO, "out of memory");
    }
    uint32_t want = s->avail - from < s->bufcap ? s->avail - from : s->bufcap;
    uint64_t off = tg_reader_payload_off(s->chunks.idx[s->cur]) + from;
    ssize_t n;
    while ((n = pread(t->fd, s->buf, want, (off_t)off)) < 0 && errno == EINTR)
        ;
    if (n < 0)
        return tg_reader_fail(t, TG_TRACE_EIO, "cannot read chunk %u: %s",
                              s->chunks.idx[s->cur], strerror(errno));
    if ((uint32_t)n < want) {      /* the file shrank under us */
        s->avail = from + (uint32_t)n;
        s->cut = true;
    }
    s->win_off = from;
    s->pos = s->buf;
    s->end = s->buf + n;
    return 0;
}

static int corrupt_record(struct tg_trace *t, struct rstream *s, const char *why)
{
    return tg_reader_fail(t, TG_TRACE_ECORRUPT, "corrupt chunk %u: record at byte %u %s",
                          s->chunks.idx[s->cur], s->win_off + (unsigned)(s->pos - s->buf), why);
}

/* Sets S's head from the full record at pos, whole in the window. */
static inline void head_full(struct rstream *s, const struct tg_record *r, size_t bytes)
{
    s->head = s->tick_base + r->dt;
    s->head_bytes = (uint32_t)bytes;
}

/* Sets S's head from the short record at pos (BYTES long, repeating SLOT,
 * DT ticks after the stream's previous event, which is in the same chunk:
 * the first record of a chunk is never short, the dictionary starts
 * empty). False when nothing was remembered in SLOT. */
static inline bool head_short(struct rstream *s, unsigned slot, uint32_t dt, uint32_t bytes)
{
    if (__builtin_expect(s->dict[slot & (TG_DICT_SLOTS - 1)].kind == 0, 0))
        return false;
    s->head = s->last + dt;
    s->head_bytes = bytes;
    return true;
}

/* Bytes needed to read the record that starts with TAG (a full record's
 * payload not counted yet). */
static inline size_t record_start_bytes(unsigned tag)
{
    return tag >= TG_TINY_TAG ? 2 : tag >= TG_SHORT_TAG ? 4 : sizeof(struct tg_record);
}

/* Slow half of head(): window ends, chunk ends, TIME records, padding,
 * cut files, bad records. */
static int head_slow(struct tg_trace *t, struct rstream *s)
{
    for (;;) {
        size_t left = (size_t)(s->end - s->pos);
        unsigned tag = left ? s->pos[0] : 0;
        size_t bytes = left ? record_start_bytes(tag) : 1;
        const struct tg_record *r = (const struct tg_record *)s->pos;
        if (left >= bytes && tag >= TG_SHORT_TAG) {
            if (tag == TG_PAD_TAG) {
                s->pos += 2;
                continue;
            }
            uint32_t dt = s->pos[1];
            if (tag < TG_TINY_TAG) {
                uint32_t word;
                memcpy(&word, s->pos, sizeof word);
                dt = word >> 8;
            }
            if (!head_short(s, tag, dt, (uint32_t)bytes))
                return corrupt_record(t, s, "repeats a record the chunk never remembered");
            return 1;
        }
        if (left >= bytes) {
            if (r->kind == TG_EV_NONE || r->kind >= TG_EV_COUNT)
                return corrupt_record(t, s, "has no known kind");
            size_t slots = tg_event_slots[r->kind];
            if (slots == TG_SLOTS_VAR)
                slots = r->arg;
            bytes = (1 + slots) * sizeof *r;
        }
        if (left >= bytes) {
            if (r->kind == TG_EV_TIME) {
                struct tg_slot p;
                memcpy(&p, r + 1, sizeof p);
                s->tick_base = p.a;
                s->pos += bytes;
                continue;
            }
            head_full(s, r, bytes);
            return 1;
        }
        /* the window ends inside the record (or at it) */
        uint32_t at = s->win_off + (uint32_t)(s->pos - s->buf);
        if (at + left < s->avail) {
            int rc = refill(t, s, at);
            if (rc < 0)
                return rc;
            continue;
        }
        int rc = extend(t, s);
        if (rc < 0)
            return rc;
        if (rc > 0)
            continue;
        if (s->cut) {
            t->truncated = true;
            s->pos = s->end;
            return 0;
        }
        if (left > 0)              /* writers publish whole records */
            return corrupt_record(t, s, "runs past the published bytes");
        if (s->cur + 1 >= s->chunks.n)
            return 0;              /* nothing more published yet */
        /* A successor exists, so this chunk's `used` (loaded after we
         * saw the successor) was final and is drained. */
        enter_chunk(t, s, s->cur + 1);
    }
}

/* Positions S on its next record: 1 (s->head set), 0 if none yet, <0. */
static inline int head(struct tg_trace *t, struct rstream *s)
{
    if (__builtin_expect(s->end - s->pos >= 16, 1)) {
        unsigned tag = s->pos[0];
        if (tag >= TG_TINY_TAG) {
            if (__builtin_expect(tag != TG_PAD_TAG && head_short(s, tag, s->pos[1], 2), 1))
                return 1;
        } else if (tag >= TG_SHORT_TAG) {
            uint32_t word;
            memcpy(&word, s->pos, sizeof word);
            if (__builtin_expect(head_short(s, tag, word >> 8, 4), 1))
                return 1;
        } else if (__builtin_expect(tag - 1u < TG_EV_COUNT - 1u && tag != TG_EV_TIME, 1)) {
            const struct tg_record *r = (const struct tg_record *)s->pos;
            unsigned slots = tg_event_slots[tag];
            if (slots == TG_SLOTS_VAR)
                slots = r->arg;
            size_t bytes = (1 + slots) * 16u;
            if (__builtin_expect((size_t)(s->end - s->pos) >= bytes, 1)) {
                head_full(s, r, bytes);
                return 1;
            }
        }
    }
    return head_slow(t, s);
}

/* ---- children not started yet ----
 * A new thread takes the tick of its THREAD_START, then claims its first
 * chunk: under load that can be published long after its parent's later
 * events, and the reader knows nothing of the stream until then, so the
 * grace period would hand those later events out first (main's joins of
 * threads whose work was not read yet). A thread created and not yet seen
 * holds the bound at its creation for up to CHILD_GRACE_NS instead. */
#define CHILD_GRACE_NS (1000u * 1000 * 1000)

void tg_reader_child_created(struct tg_trace *t, uint32_t child, uint64_t tick)
{
    if (child < t->nby_thread && t->by_thread[child] != NULL)
        return;                   /* its stream is there already */
    struct pending_child *p = tg_grow(t->pending, &t->cap_pending, t->npending + 1, sizeof *p);
    if (p == NULL)
        return;                   /* only the order is at stake */
    t->pending = p;
    t->pending[t->npending++] = (struct pending_child){ child, tick };
    /* the bound was set before this was known: nothing later goes out
     * before the next refresh has looked for the child's stream */
    if (t->bound > tick)
        t->bound = tick;
}

/* The oldest creation tick of a child not seen yet and not given up on. */
static uint64_t pending_bound(struct tg_trace *t, uint64_t now)
{
    uint64_t wait = t->clock == TG_CLOCK_TSC ? (uint64_t)(CHILD_GRACE_NS / t->rate)
                                              : CHILD_GRACE_NS;
    uint64_t min = UINT64_MAX;
    for (uint32_t i = 0; i < t->npending;) {
        const struct pending_child *p = &t->pending[i];
        bool seen = p->thread < t->nby_thread && t->by_thread[p->thread] != NULL;
        if (seen || now - p->tick > wait) {
            t->pending[i] = t->pending[--t->npending];
            continue;
        }
        if (p->tick < min)
            min = p->tick;
        i++;
    }
    return min;
}

/* ---- refresh: new chunks, newly published records, the follow bound ---- */

/* Whether a stream that has run dry lost records to the file's end: its
 * chunk is cut short, or its last chunk is closed (a successor was claimed)
 * although its thread did not end. Once one has, the others' later records
 * would be merged against a hole (a waiter whose wake-up is missing, a lock
 * whose release is): the merge ends at that stream's last record. */
static bool cut_off(const struct tg_trace *t, const struct rstream *s)
{
    if (s->quiet || s->chunks.n == 0)
        return false;
    return s->cut || t->cinfo[s->chunks.idx[s->chunks.n - 1]].closed;
}

int tg_reader_refresh(struct tg_trace *t)
{
    if (t->err)
        return t->err;
    bool follow = t->flags & TG_OPEN_FOLLOW;
    if (follow) {
        /* `finished` first: whatever was published before it is seen below */
        t->finished = __atomic_load_n(&t->hdr->finished, __ATOMIC_ACQUIRE) != 0;
        int rc = tg_reader_scan(t);
        if (rc < 0)
            return rc;
    }
    for (uint32_t i = 0; i < t->nactive;) {
        struct rstream *s = t->active[i];
        int rc = s->in_heap ? 1 : head(t, s);
        if (rc < 0)
            return rc;
        if (rc > 0 && !s->in_heap && heap_push(t, s) < 0)
            return t->err ? t->err : TG_TRACE_EIO;
        if (rc == 0 && t->truncated && done_reading(t) && cut_off(t, s) && s->last < t->damage)
            t->damage = s->last;
        bool gone = rc == 0 && (!follow || (s->quiet && s->cur + 1 >= s->chunks.n
                   && chunk_state_polled(t, s->chunks.idx[s->cur], &s->polls) == 0
                   && t->cinfo[s->chunks.idx[s->cur]].closed));
        if (gone) {
            s->listed = false;                        /* a new chunk revives it */
            t->active[i] = t->active[--t->nactive];
            /* drained: its window is not needed unless it revives */
            s->win_off += (uint32_t)(s->end - s->buf);
            free(s->buf);
            free(s->tmpl);
            s->buf = NULL;
            s->tmpl = NULL;
            s->tmpl_ok = 0;
            s->pos = s->end = NULL;
        }
        else
            i++;
    }
    if (!follow) {
        t->bound = t->damage;
        return 0;
    }
    int rc = tg_reader_meta(t);   /* after the streams: stacks they name are in */
    if (rc < 0)
        return rc;
    uint64_t now;
    bool live = !t->finished && tg_reader_now_tick(t, &now);
    if (!live) {
        t->bound = t->damage;
        return 0;
    }
    if (t->clock == TG_CLOCK_TSC) {
        uint64_t mono = tg_mono_ns();
        if (mono - t->last_own_cal >= OWN_CALIB_NS) {
            uint64_t tick, ns;
            tg_calib_pair(t->clock, &tick, &ns);
            tg_reader_calib_point(t, tick, ns);
            t->last_own_cal = mono;
        }
    }
    uint64_t frontier = UINT64_MAX;
    for (uint32_t i = 0; i < t->nactive; i++) {
        struct rstream *s = t->active[i];
        if (!s->in_heap && !s->quiet && s->last < frontier)
            frontier = s->last;
    }
    uint64_t grace = t->clock == TG_CLOCK_TSC ? (uint64_t)(GRACE_NS / t->rate) : GRACE_NS;
    uint64_t old = now > grace ? now - grace : 0;
    t->bound = frontier > old ? frontier : old;
    uint64_t child = pending_bound(t, now);
    if (child < t->bound)
        t->bound = child;
    return 0;
}

/* ---- next ---- */

enum { KF_LOCK = 1, KF_MUTEX = 2 };

/* Kinds the thread and process tables learn from (tables.c). */
static const bool table_kind[TG_EV_COUNT] = {
    [TG_EV_THREAD_START] = true, [TG_EV_THREAD_EXIT] = true, [TG_EV_THREAD_NAME] = true,
    [TG_EV_PROCESS_EXIT] = true, [TG_EV_LOST] = true, [TG_EV_THREAD_CREATE] = true,
    [TG_EV_EXEC_FAIL] = true,
};

/* How `arg` decodes: a tg_lockarg for every kind but three. */
static inline unsigned kind_flags(unsigned kind)
{
    if (kind >= TG_EV_MUTEX_INIT && kind <= TG_EV_MUTEX_REL)
        return KF_LOCK | KF_MUTEX;
    if (kind == TG_EV_THREAD_NAME || kind == TG_EV_RACE || kind == TG_EV_WATCH_ACCESS)
        return 0;
    return KF_LOCK;
}

/* The event's fields that follow from its kind and arg. */
static inline void decode_arg(unsigned kind, unsigned arg, struct tg_ev *ev)
{
    unsigned flags = kind_flags(kind);
    if (flags & KF_LOCK) {
        ev->result = TG_ARG_RESULT(arg);
        ev->timed = TG_ARG_TIMED(arg);
        ev->pshared = TG_ARG_PSHARED(arg);
        ev->mtype = flags & KF_MUTEX ? TG_ARG_TYPE(arg) : 0;
    } else {
        ev->result = 0;
        ev->timed = ev->pshared = false;
        ev->mtype = 0;
    }
}

static inline uint64_t event_ts(struct tg_trace *t, uint64_t tick)
{
    uint64_t ts = tg_reader_ns(t, tick);
    if (ts < t->last_ts)
        ts = t->last_ts;
    t->last_ts = ts;
    return ts;
}

/* The event a remembered record stands for, at TS. */
static inline void from_dict(struct tg_ev *ev, const struct rdict *d, uint64_t ts,
                             uint32_t thread, uint32_t process)
{
    ev->ts = ts;
    ev->obj = d->obj;
    ev->p0 = ev->p1 = 0;
    ev->thread = thread;
    ev->process = process;
    ev->stack = d->stack;
    ev->kind = d->kind;
    ev->arg = d->arg;
    ev->result = d->result;
    ev->mtype = d->mtype;
    ev->timed = d->timed;
    ev->pshared = d->pshared;
    ev->str = NULL;
    ev->data = NULL;
    ev->len = 0;
}

/* A short record: the remembered event, decoded when it was remembered. */
static inline void decode_short(struct tg_trace *t, const struct rstream *s, struct tg_ev *ev)
{
    from_dict(ev, &s->dict[s->pos[0] & (TG_DICT_SLOTS - 1)], event_ts(t, s->head),
              s->thread, s->process);
}

static void decode(struct tg_trace *t, struct rstream *s, struct tg_ev *ev)
{
    if (__builtin_expect(s->head_bytes <= 4, 1)) {
        decode_short(t, s, ev);
        return;
    }
    /* a copy: kind and arg are bytes, which may alias *ev, so reading them
     * through the pointer would reload them after every store to *ev */
    struct tg_record rec;
    memcpy(&rec, s->pos, sizeof rec);
    unsigned kind = rec.kind;
    ev->ts = event_ts(t, s->head);
    ev->obj = (uint64_t)rec.obj_hi << 32 | rec.obj_lo;
    ev->thread = s->thread;
    ev->process = s->process;
    ev->stack = TG_STACK_ID(rec.stack);
    ev->kind = (uint16_t)kind;
    ev->arg = rec.arg;
    decode_arg(kind, rec.arg, ev);
    ev->p0 = ev->p1 = 0;
    ev->str = NULL;
    ev->data = NULL;
    ev->len = 0;
    unsigned slots = tg_event_slots[kind];
    /* only records without payload are repeated (the writer's
     * tg_stream_emit); a flag on another is ignored */
    if ((rec.stack & TG_STACK_REMEMBER) && slots == 0) {
        unsigned slot = TG_STACK_SLOT(rec.stack);
        struct rdict *d = &s->dict[slot];
        d->obj = ev->obj;
        d->stack = ev->stack;
        d->kind = ev->kind;
        d->arg = ev->arg;
        d->result = ev->result;
        d->mtype = ev->mtype;
        d->timed = ev->timed;
        d->pshared = ev->pshared;
        s->tmpl_ok &= ~(1ull << slot);
        s->dict_used |= 1ull << slot;
    }
    if (slots == TG_SLOTS_VAR) {
        /* copied: the window may be refilled before the caller looks */
        ev->len = rec.arg * 16u;
        memcpy(t->strbuf, s->pos + sizeof rec, ev->len);
        t->strbuf[ev->len] = '\0';
        ev->data = t->strbuf;
        if (kind == TG_EV_THREAD_NAME)
            ev->str = t->strbuf;
    } else if (slots) {
        struct tg_slot p;
        memcpy(&p, s->pos + sizeof rec, sizeof p);
        ev->p0 = p.a;
        ev->p1 = p.b;
    }
}

/* ---- runs: a stream's earliest short records, handed out in a row ----
 * A thread writes in runs (a lock loop: two 2-byte records per iteration,
 * a hundred iterations or more before the other thread's turn), and while
 * the top stream's next record stays before the runner-up and within the
 * bound, the heap has nothing to do. start_run walks those records ahead in
 * one tight loop (times and whole remembered events into t->run), and each
 * call then only copies the event and sets its time: no stream state, no
 * heap key, no loads and stores through the stream per record (the memory
 * round trips of those, call after call, were most of a record's cost).
 * The order is the one record-by-record merging gives: nothing that could
 * move the runner-up or the bound (a refresh, a table kind such as
 * THREAD_CREATE, a stream popped) happens inside a run. */

static void start_run(struct tg_trace *t, struct rstream *s)
{
    if (!s->started)
        return;
    if (s->tmpl == NULL && (s->tmpl = malloc(TG_DICT_SLOTS * sizeof *s->tmpl)) == NULL)
        return;                   /* record by record then */
    /* a tick below lim comes before the runner-up and is within the bound */
    uint64_t lim = t->runner_up.key;
    if (s->thread < t->runner_up.thread && lim != UINT64_MAX)
        lim++;                    /* the same tick: ties go to the lower thread */
    if (t->bound < UINT64_MAX && t->bound + 1 < lim)
        lim = t->bound + 1;
    const uint8_t *p = s->pos, *end = s->end;
    uint64_t tick = s->last, last = tick, floor = t->last_ts;
    uint64_t used = s->dict_used, need = 0;
    /* locals: stores to the run could alias them */
    const struct tg_ev *tmpl = s->tmpl;
    struct run_ent *run = t->run;
    uint32_t n = 0;
    while (n < TG_RUN_MAX && end - p >= 2) {
        unsigned tag = p[0];
        uint32_t dt, bytes;
        if (tag >= TG_TINY_TAG) {
            if (tag == TG_PAD_TAG)
                break;
            dt = p[1];
            bytes = 2;
        } else if (tag >= TG_SHORT_TAG && end - p >= 4) {
            uint32_t word;
            memcpy(&word, p, sizeof word);
            dt = word >> 8;
            bytes = 4;
        } else
            break;
        unsigned slot = tag & (TG_DICT_SLOTS - 1);
        if (!(used >> slot & 1) || table_kind[s->dict[slot].kind])
            break;                /* corrupt, or the tables learn from it */
        tick += dt;
        if (tick >= lim)
            break;
        /* times now: the rate moves only in a refresh, never in a run, and
         * within a stream they only grow */
        uint64_t ts = tg_reader_ns(t, tick);
        run[n].ts = ts > floor ? ts : floor;
        run[n].tmpl = &tmpl[slot];
        need |= 1ull << slot;
        last = tick;
        n++;
        p += bytes;
    }
    if (n < 2)
        return;                   /* one record: the usual path is as cheap */
    /* the slots it repeats, made whole if remembered since the last run
     * (only those: full records replace slots all the time) */
    for (uint64_t stale = need & ~s->tmpl_ok; stale; stale &= stale - 1) {
        unsigned k = (unsigned)__builtin_ctzll(stale);
        from_dict(&s->tmpl[k], &s->dict[k], 0, s->thread, s->process);
    }
    s->tmpl_ok |= need;
    t->run_n = n;
    t->run_i = 0;
    t->run_s = s;
    t->run_end = p;
    t->run_last = last;
}

/* S's record was handed out: position it on its next one and put the heap
 * in order (or take S out of it). */
static inline __attribute__((always_inline)) void advance(struct tg_trace *t, struct rstream *s)
{
    int rc = head(t, s);
    if (rc > 0) {
        t->heap[0].key = s->head;
        if (!before(&t->heap[0], &t->runner_up)) {
            sift_top(t->heap, t->nheap);
            note_runner_up(t);
        } else if (s->head_bytes <= 4 && s->head <= t->bound)
            start_run(t, s);
    } else {
        heap_pop(t);
        if (!s->quiet && s->last < t->bound)
            t->bound = s->last;   /* it may publish from here on */
    }
}

static int truncated(struct tg_trace *t)
{
    return tg_reader_fail(t, TG_TRACE_ETRUNCATED,
                          "truncated: the file ends inside what its header announces");
}

/* Everything but a run's record before its last: the end of a run, the
 * heap, refreshes. */
static __attribute__((noinline)) int next_slow(struct tg_trace *t, struct tg_ev *ev)
{
    if (t->err)
        return t->err;
    if (t->run_i < t->run_n) {    /* the run's last record */
        const struct run_ent *r = &t->run[t->run_i];
        *ev = *r->tmpl;
        ev->ts = t->last_ts = r->ts;
        t->events++;
        struct rstream *s = t->run_s;
        t->run_i = t->run_n = 0;
        s->pos = t->run_end;
        s->last = t->run_last;
        advance(t, s);
        return 1;
    }
    if (t->nheap == 0 || t->heap[0].key > t->bound) {
        int rc = tg_reader_refresh(t);
        if (rc < 0)
            return rc;
        if (t->nheap == 0) {
            return t->truncated && done_reading(t) ? truncated(t) : 0;
        }
        if (t->heap[0].key > t->bound)
            return t->bound == t->damage && done_reading(t) ? truncated(t) : 0;
    }
    struct rstream *s = t->by_thread[t->heap[0].thread];
    decode(t, s, ev);
    unsigned kind = ev->kind;
    s->pos += s->head_bytes;
    if (__builtin_expect(!s->started || table_kind[kind], 0))
        tg_reader_on_event(t, s, ev);
    s->last = s->head;
    t->events++;
    advance(t, s);
    return 1;                     /* an error in head() sticks for the next call */
}

int tg_trace_next(struct tg_trace *t, struct tg_ev *ev)
{
    /* within a run: a copy and a time (an error cannot arise in one) */
    uint32_t i = t->run_i;
    if (__builtin_expect(i + 1 < t->run_n, 1)) {
        const struct run_ent *r = &t->run[i];
        t->run_i = i + 1;
        *ev = *r->tmpl;
        ev->ts = t->last_ts = r->ts;
        t->events++;
        return 1;
    }
    return next_slow(t, ev);
}

/* ---- end of a finished trace ---- */

/* Last tick of chunk IDX's records, walking its TIME records; 0 if none.
 * BUF holds a chunk's payload. */
static uint64_t chunk_end_tick(struct tg_trace *t, uint32_t idx, uint8_t *buf)
{
    if (chunk_state(t, idx) < 0)
        return 0;
    uint32_t used = t->cinfo[idx].used;
    used = tg_reader_in_file(t, idx, used <= TG_CHUNK_PAYLOAD ? used : 0);
    ssize_t n = pread(t->fd, buf, used, (off_t)tg_reader_payload_off(idx));
    const uint8_t *p = buf, *end = p + (n > 0 ? n : 0);
    uint64_t base = t->cinfo[idx].tick_base, last = 0;
    while (end - p >= 2) {
        if (p[0] >= TG_SHORT_TAG) {
            size_t bytes = record_start_bytes(p[0]);   /* 2 for padding too */
            if ((size_t)(end - p) < bytes)
                break;
            if (p[0] >= TG_TINY_TAG && p[0] != TG_PAD_TAG)
                last += p[1];
            else if (p[0] < TG_TINY_TAG) {
                uint32_t word;
                memcpy(&word, p, sizeof word);
                last += word >> 8;
            }
            p += bytes;
            continue;
        }
        struct tg_record r;
        if (end - p < 16)
            break;
        memcpy(&r, p, sizeof r);
        if (r.kind == TG_EV_NONE || r.kind >= TG_EV_COUNT)
            break;
        size_t slots = tg_event_slots[r.kind] == TG_SLOTS_VAR ? r.arg : tg_event_slots[r.kind];
        if ((size_t)(end - p) < (1 + slots) * 16)
            break;
        if (r.kind == TG_EV_TIME) {
            struct tg_slot ts;
            memcpy(&ts, p + 16, sizeof ts);
            base = ts.a;
        } else
            last = base + r.dt;
        p += (1 + slots) * 16;
    }
    return last;
}

uint64_t tg_reader_end_tick(struct tg_trace *t)
{
    /* A finished trace, or a snapshot, no longer grows: walk it once. */
    bool still = !(t->flags & TG_OPEN_FOLLOW)
                 || __atomic_load_n(&t->hdr->finished, __ATOMIC_ACQUIRE);
    if (t->end_tick && still)
        return t->end_tick;
    uint64_t end = 0;
    uint8_t *buf = malloc(TG_CHUNK_PAYLOAD);
    for (uint32_t i = 0; buf && i < t->nby_thread; i++) {
        const struct rstream *s = t->by_thread[i];
        if (s == NULL || s->chunks.n == 0)
            continue;
        uint64_t e = chunk_end_tick(t, s->chunks.idx[s->chunks.n - 1], buf);
        if (e > end)
            end = e;
    }
    free(buf);
    t->end_tick = end;
    return end;
}

void tg_reader_free_streams(struct tg_trace *t)
{
    for (uint32_t i = 0; i < t->nby_thread; i++) {
        if (t->by_thread[i]) {
            free(t->by_thread[i]->chunks.idx);
            free(t->by_thread[i]->buf);
            free(t->by_thread[i]->tmpl);
            free(t->by_thread[i]);
        }
    }
    free(t->by_thread);
    free(t->active);
    free(t->heap);
    free(t->pending);
    free(t->meta.idx);
    free(t->cinfo);
}

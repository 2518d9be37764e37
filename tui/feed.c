/* tui/feed.c: a saved trace read on a thread of its own (tui.h).
 *
 * Opening a large trace is reading it (the merge of the threads' streams,
 * decoding) and building the model from it, one after the other on one
 * thread; the detectors ran beside them on a second core with a reader of
 * their own, reading the whole trace twice. Here the reading thread reads
 * once, hands batches of events to the caller through a small ring, and
 * shows each batch to a tap (the detectors) while the caller builds the
 * model from it: the caller's thread does nothing but the model.
 *
 * The ring holds RING batches; the reader fills the next slot once the
 * caller is done with the one it held there. A batch is a few hundred KiB,
 * so the ring stays in the caches the two cores share. */
#include "tui/tui.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RING 8u
#define BATCH 2048u

struct batch {
    struct tg_ev ev[BATCH];
    uint32_t str_at[BATCH], data_at[BATCH];     /* offsets in bytes, or NONE */
    size_t n;
    char *bytes;                /* names and payloads the events point to */
    size_t nbytes, capbytes;
};

struct tg_tui_feed {
    pthread_t tid;
    struct tg_trace *trace;
    tg_tui_feed_tap_fn tap;
    void *ctx;
    pthread_mutex_t trace_mu;   /* the trace: the reader's while it fills a batch */
    pthread_mutex_t mu;         /* the counters below */
    pthread_cond_t filled, freed;
    uint64_t published, released;   /* batches handed out, and given back */
    bool held;                  /* the caller holds batch `released` */
    bool end;                   /* no batch comes after `published` */
    int err;                    /* the reader's last result: 0 or a tg_trace_err */
    atomic_bool stop;
    struct batch ring[RING];
};

/* Copies LEN bytes the reader's event points to (valid only until its next
 * call) into B; returns their offset there, or NONE if there is no room. */
#define NONE UINT32_MAX
static uint32_t keep_bytes(struct batch *b, const void *p, size_t len)
{
    if (b->nbytes + len > b->capbytes) {
        size_t cap = b->capbytes ? b->capbytes * 2 : 4096;
        while (cap < b->nbytes + len)
            cap *= 2;
        char *q = cap < NONE ? realloc(b->bytes, cap) : NULL;
        if (q == NULL)
            return NONE;
        b->bytes = q;
        b->capbytes = cap;
    }
    memcpy(b->bytes + b->nbytes, p, len);
    b->nbytes += len;
    return (uint32_t)(b->nbytes - len);
}

/* Fills B from the trace; returns tg_trace_next's last result. */
static int fill(struct tg_tui_feed *f, struct batch *b)
{
    int got = 1;

    b->n = 0;
    b->nbytes = 0;
    pthread_mutex_lock(&f->trace_mu);
    while (b->n < BATCH && (got = tg_trace_next(f->trace, &b->ev[b->n])) > 0) {
        struct tg_ev *e = &b->ev[b->n];
        b->str_at[b->n] = e->str != NULL ? keep_bytes(b, e->str, strlen(e->str) + 1) : NONE;
        b->data_at[b->n] = e->data != NULL && e->len > 0 ? keep_bytes(b, e->data, e->len) : NONE;
        b->n++;
    }
    pthread_mutex_unlock(&f->trace_mu);
    /* the buffer has stopped moving: point the events into it */
    for (size_t i = 0; i < b->n; i++) {
        struct tg_ev *e = &b->ev[i];
        if (e->str != NULL)
            e->str = b->str_at[i] != NONE ? b->bytes + b->str_at[i] : NULL;
        if (e->data != NULL) {
            e->data = b->data_at[i] != NONE ? b->bytes + b->data_at[i] : NULL;
            if (e->data == NULL)
                e->len = 0;
        }
    }
    return got;
}

static void *read_run(void *arg)
{
    struct tg_tui_feed *f = arg;
    int got = 1;

    while (got > 0 && !atomic_load_explicit(&f->stop, memory_order_relaxed)) {
        pthread_mutex_lock(&f->mu);
        while (f->published - f->released >= RING && !atomic_load(&f->stop))
            pthread_cond_wait(&f->freed, &f->mu);
        pthread_mutex_unlock(&f->mu);
        if (atomic_load(&f->stop))
            break;
        struct batch *b = &f->ring[f->published % RING];
        got = fill(f, b);
        if (b->n > 0) {
            pthread_mutex_lock(&f->mu);
            f->published++;
            pthread_cond_signal(&f->filled);
            pthread_mutex_unlock(&f->mu);
            /* the caller may build the model from it meanwhile: both only read */
            if (f->tap != NULL)
                f->tap(f->ctx, b->ev, b->n);
        }
    }
    if (f->tap != NULL && !atomic_load(&f->stop))
        f->tap(f->ctx, NULL, 0);
    pthread_mutex_lock(&f->mu);
    f->err = got < 0 ? got : 0;
    f->end = true;
    pthread_cond_signal(&f->filled);
    pthread_mutex_unlock(&f->mu);
    return NULL;
}

int tg_tui_feed_start(struct tg_tui_feed **out, struct tg_trace *trace,
                      tg_tui_feed_tap_fn tap, void *ctx)
{
    struct tg_tui_feed *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -ENOMEM;
    f->trace = trace;
    f->tap = tap;
    f->ctx = ctx;
    pthread_mutex_init(&f->trace_mu, NULL);
    pthread_mutex_init(&f->mu, NULL);
    pthread_condattr_t ca;          /* waits for a batch are timed on the monotonic clock */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&f->filled, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&f->freed, NULL);
    int rc = pthread_create(&f->tid, NULL, read_run, f);
    if (rc != 0) {
        pthread_mutex_destroy(&f->trace_mu);
        pthread_mutex_destroy(&f->mu);
        pthread_cond_destroy(&f->filled);
        pthread_cond_destroy(&f->freed);
        free(f);
        return -rc;
    }
    *out = f;
    return 0;
}

long tg_tui_feed_next(struct tg_tui_feed *f, const struct tg_ev **ev, int timeout_ms)
{
    long n = 0;

    pthread_mutex_lock(&f->mu);
    if (f->held) {
        f->released++;
        f->held = false;
        pthread_cond_signal(&f->freed);
    }
    if (f->published == f->released && !f->end && timeout_ms > 0) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += timeout_ms / 1000;
        until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (f->published == f->released && !f->end)
            if (pthread_cond_timedwait(&f->filled, &f->mu, &until) == ETIMEDOUT)
                break;
    }
    if (f->published > f->released) {
        const struct batch *b = &f->ring[f->released % RING];
        *ev = b->ev;
        n = (long)b->n;
        f->held = true;
    } else if (f->end) {
        n = -1;
    }
    pthread_mutex_unlock(&f->mu);
    return n;
}

int tg_tui_feed_error(struct tg_tui_feed *f)
{
    pthread_mutex_lock(&f->mu);
    int err = f->err;
    pthread_mutex_unlock(&f->mu);
    return err;
}

void tg_tui_feed_lock(struct tg_tui_feed *f)
{
    pthread_mutex_lock(&f->trace_mu);
}

void tg_tui_feed_unlock(struct tg_tui_feed *f)
{
    pthread_mutex_unlock(&f->trace_mu);
}

void tg_tui_feed_stop(struct tg_tui_feed *f)
{
    if (f == NULL)
        return;
    pthread_mutex_lock(&f->mu);
    atomic_store(&f->stop, true);
    pthread_cond_signal(&f->freed);
    pthread_mutex_unlock(&f->mu);
    pthread_join(f->tid, NULL);
    for (unsigned i = 0; i < RING; i++)
        free(f->ring[i].bytes);
    pthread_mutex_destroy(&f->trace_mu);
    pthread_mutex_destroy(&f->mu);
    pthread_cond_destroy(&f->filled);
    pthread_cond_destroy(&f->freed);
    free(f);
}

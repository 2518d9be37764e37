/* samples/tqueue.h - Python's queue module in C, for the samples.
 *
 * One struct covers queue.Queue (FIFO), queue.LifoQueue and
 * queue.PriorityQueue, with maxsize 0 meaning unbounded, and the
 * task_done()/join() pair of JoinableQueue. Like CPython's queue.py it is
 * one mutex and three condition variables (not_empty, not_full,
 * all_tasks_done). Items are void pointers; NULL is a fine item (None).
 * The array is kept in order and shifted on get: queues here hold a few
 * dozen items at most, so simple beats clever.
 */
#ifndef TG_SAMPLES_TQUEUE_H
#define TG_SAMPLES_TQUEUE_H

#include "common.h"

enum tq_kind { TQ_FIFO, TQ_LIFO, TQ_PRIORITY };

struct tqueue {
    pthread_mutex_t mutex;
    pthread_cond_t not_empty;
    pthread_cond_t not_full;
    pthread_cond_t all_tasks_done;
    enum tq_kind kind;
    int (*cmp)(const void *a, const void *b); /* TQ_PRIORITY: smallest first */
    void **items;
    size_t len, cap, maxsize;
    unsigned long unfinished_tasks;
};

/* Queue(maxsize) / LifoQueue(maxsize) / PriorityQueue(maxsize). */
static inline void tq_init(struct tqueue *q, enum tq_kind kind, size_t maxsize,
                           int (*cmp)(const void *, const void *))
{
    CHECK(pthread_mutex_init(&q->mutex, NULL));
    CHECK(pthread_cond_init(&q->not_empty, NULL));
    CHECK(pthread_cond_init(&q->not_full, NULL));
    CHECK(pthread_cond_init(&q->all_tasks_done, NULL));
    q->kind = kind;
    q->cmp = cmp;
    q->len = 0;
    q->cap = maxsize ? maxsize : 8;
    q->maxsize = maxsize;
    q->unfinished_tasks = 0;
    q->items = malloc(q->cap * sizeof *q->items);
    if (q->items == NULL)
        check_failed("malloc", ENOMEM, __FILE__, __LINE__);
}

/* Only when no thread uses the queue any more. */
static inline void tq_destroy(struct tqueue *q)
{
    CHECK(pthread_cond_destroy(&q->all_tasks_done));
    CHECK(pthread_cond_destroy(&q->not_full));
    CHECK(pthread_cond_destroy(&q->not_empty));
    CHECK(pthread_mutex_destroy(&q->mutex));
    free(q->items);
}

/* q.put(item): blocks while a bounded queue is full. */
static inline void tq_put(struct tqueue *q, void *item)
{
    CHECK(pthread_mutex_lock(&q->mutex));
    while (q->maxsize != 0 && q->len >= q->maxsize)
        CHECK(pthread_cond_wait(&q->not_full, &q->mutex));
    if (q->len == q->cap) {
        void **grown = realloc(q->items, 2 * q->cap * sizeof *q->items);

        if (grown == NULL)
            check_failed("realloc", ENOMEM, __FILE__, __LINE__);
        q->items = grown;
        q->cap *= 2;
    }
    q->items[q->len++] = item;
    q->unfinished_tasks++;
    CHECK(pthread_cond_signal(&q->not_empty));
    CHECK(pthread_mutex_unlock(&q->mutex));
}

/* q.get(): blocks while the queue is empty. */
static inline void *tq_get(struct tqueue *q)
{
    size_t pick = 0;
    void *item;

    CHECK(pthread_mutex_lock(&q->mutex));
    while (q->len == 0)
        CHECK(pthread_cond_wait(&q->not_empty, &q->mutex));
    if (q->kind == TQ_LIFO) {
        pick = q->len - 1;
    } else if (q->kind == TQ_PRIORITY) {
        for (size_t i = 1; i < q->len; i++)
            if (q->cmp(q->items[i], q->items[pick]) < 0)
                pick = i;
    }
    item = q->items[pick];
    memmove(&q->items[pick], &q->items[pick + 1], (q->len - pick - 1) * sizeof *q->items);
    q->len--;
    CHECK(pthread_cond_signal(&q->not_full));
    CHECK(pthread_mutex_unlock(&q->mutex));
    return item;
}

/* q.task_done(): EINVAL if called more times than items were put
 * (Python raises ValueError). */
static inline int tq_task_done(struct tqueue *q)
{
    int rc = 0;

    CHECK(pthread_mutex_lock(&q->mutex));
    if (q->unfinished_tasks == 0)
        rc = EINVAL;
    else if (--q->unfinished_tasks == 0)
        CHECK(pthread_cond_broadcast(&q->all_tasks_done));
    CHECK(pthread_mutex_unlock(&q->mutex));
    return rc;
}

/* q.join(): blocks until every item put has been marked task_done(). */
static inline void tq_join(struct tqueue *q)
{
    CHECK(pthread_mutex_lock(&q->mutex));
    while (q->unfinished_tasks != 0)
        CHECK(pthread_cond_wait(&q->all_tasks_done, &q->mutex));
    CHECK(pthread_mutex_unlock(&q->mutex));
}

#endif

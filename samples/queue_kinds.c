/* queue_kinds - seeds/000 线程理论 › 线程q, seeds/001 §9.5 › 3. 队列 (thread queues)
 *
 * The three queue kinds of the queue module, each shared by a putting and
 * a getting thread, with the items of 001 §3: q = Queue(5) gets 1;
 * lfq = LifoQueue(4) gets 1 and 2 and gives back 2 then 1; pq =
 * PriorityQueue() gets (10, 'henry'), (6, 'echo'), (10, 'dean') and gives
 * back echo, dean, henry (smallest number first, ties by the name).
 * The FIFO getter starts first and blocks in get() until the put; the LIFO
 * and priority getters start once their putter is done, so that the order
 * they print is the queue's and not the scheduler's.
 *
 * verdict: clean
 * args: none
 */
#include "tqueue.h"

struct prio_item {
    int prio;
    const char *name;
};

struct tqueue q, lfq, pq;

struct batch {
    const char *label;
    struct tqueue *queue;
    void *const *items;
    int n;
    void (*show)(const void *item, char *buf, size_t len);
};

static void show_int(const void *item, char *buf, size_t len)
{
    snprintf(buf, len, "%d", (int)(intptr_t)item);
}

static void show_prio(const void *item, char *buf, size_t len)
{
    const struct prio_item *p = item;

    snprintf(buf, len, "(%d, '%s')", p->prio, p->name);
}

/* tuples compare element by element */
static int cmp_prio(const void *a, const void *b)
{
    const struct prio_item *x = a, *y = b;

    if (x->prio != y->prio)
        return x->prio < y->prio ? -1 : 1;
    return strcmp(x->name, y->name);
}

static void *putter(void *arg)
{
    const struct batch *b = arg;
    char buf[64];

    for (int i = 0; i < b->n; i++) {
        b->show(b->items[i], buf, sizeof buf);
        printf("%s: put %s\n", b->label, buf);
        tq_put(b->queue, b->items[i]);
    }
    return NULL;
}

static void *getter(void *arg)
{
    const struct batch *b = arg;
    char buf[64];

    for (int i = 0; i < b->n; i++) {
        b->show(tq_get(b->queue), buf, sizeof buf);
        printf("%s: got %s\n", b->label, buf);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    static struct prio_item henry = { 10, "henry" }, echo = { 6, "echo" }, dean = { 10, "dean" };
    void *const fifo_items[] = { (void *)(intptr_t)1 };
    void *const lifo_items[] = { (void *)(intptr_t)1, (void *)(intptr_t)2 };
    void *const prio_items[] = { &henry, &echo, &dean };
    struct batch fifo = { "Queue", &q, fifo_items, 1, show_int };
    struct batch lifo = { "LifoQueue", &lfq, lifo_items, 2, show_int };
    struct batch prio = { "PriorityQueue", &pq, prio_items, 3, show_prio };
    pthread_t put, get;

    sample_init(argc, argv, 0, "");
    tq_init(&q, TQ_FIFO, 5, NULL);
    tq_init(&lfq, TQ_LIFO, 4, NULL);
    tq_init(&pq, TQ_PRIORITY, 0, cmp_prio);

    start_thread(&get, getter, &fifo, "Thread-1");
    start_thread(&put, putter, &fifo, "Thread-2");
    join_thread(put);
    join_thread(get);

    start_thread(&put, putter, &lifo, "Thread-3");
    join_thread(put);
    start_thread(&get, getter, &lifo, "Thread-4");
    join_thread(get);

    start_thread(&put, putter, &prio, "Thread-5");
    join_thread(put);
    start_thread(&get, getter, &prio, "Thread-6");
    join_thread(get);

    tq_destroy(&q);
    tq_destroy(&lfq);
    tq_destroy(&pq);
    return 0;
}

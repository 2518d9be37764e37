// verdict: lock-order/cycle
// lock-names: ^table\.bucket\[2\]$
// lock-names: ^fork_\[3\]$
// lock-names: ^mutex initialised at make_queue lock_names\.c:\d+$
// lock-names: ^mutex first locked at (take_all|take_two) lock_names\.c:\d+$
// How reports name locks: a member of a global struct with its index, an
// element of a global array, a heap lock by where it was initialised, and a
// heap lock never initialised (zeroed memory) by where it was first locked.
// The cycle runs through all four; the threads run one after the other.
#include <pthread.h>
#include <stdlib.h>

struct table {
    int size;
    pthread_mutex_t bucket[4];
} table = { 4, { PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER,
                 PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER } };
pthread_mutex_t fork_[5];

struct queue {
    pthread_mutex_t lock;
    int length;
};

static struct queue *make_queue(void)
{
    struct queue *q = calloc(1, sizeof *q);
    if (!q)
        abort();
    pthread_mutex_init(&q->lock, NULL);
    return q;
}

static struct queue *queue;
static pthread_mutex_t *zeroed;        /* calloc'd: a valid default mutex on glibc */

static void *take_all(void *arg)
{
    pthread_mutex_lock(&table.bucket[2]);
    pthread_mutex_lock(&queue->lock);
    pthread_mutex_lock(zeroed);
    pthread_mutex_lock(&fork_[3]);
    pthread_mutex_unlock(&fork_[3]);
    pthread_mutex_unlock(zeroed);
    pthread_mutex_unlock(&queue->lock);
    pthread_mutex_unlock(&table.bucket[2]);
    return arg;
}

static void *take_two(void *arg)
{
    pthread_mutex_lock(&fork_[3]);
    pthread_mutex_lock(&table.bucket[2]);
    pthread_mutex_unlock(&table.bucket[2]);
    pthread_mutex_unlock(&fork_[3]);
    return arg;
}

int main(void)
{
    for (int i = 0; i < 5; i++)
        pthread_mutex_init(&fork_[i], NULL);
    queue = make_queue();
    if (!(zeroed = calloc(1, sizeof *zeroed)))
        abort();
    pthread_t t;
    pthread_create(&t, NULL, take_all, NULL);
    pthread_join(t, NULL);
    pthread_create(&t, NULL, take_two, NULL);
    pthread_join(t, NULL);
    return 0;
}

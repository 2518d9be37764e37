/* thread_pool - seeds/000 线程理论 › 进程池与线程池, seeds/001 §9.5 › 4. 池 (pools)
 *
 * pool = ThreadPoolExecutor(5): five workers take submitted tasks from a
 * queue; submit() returns a future, result() waits for it,
 * add_done_callback() runs a function when it completes (§4.3), and
 * shutdown() lets the queued tasks finish and joins the workers.
 * 000: submit task, which prints and returns 1111, print res.result();
 * then submit 20 tasks and shut down. 001 §4.2: each task func(i) prints
 * "start <pid>", sleeps randint(1, 3) s, prints "end <pid>" and returns
 * "i * pid"; after shutdown, main prints "------> result" for each future,
 * then "main <pid>". Each of the 20 futures also has a done callback that
 * prints "callback: result".
 * Interpreted: 000 calls submit(task, 1) on a task that takes no argument
 * (a TypeError in Python) and calls shutdown() inside the submit loop (the
 * second submit would raise RuntimeError); here task gets no argument and
 * shutdown() comes after the loop, as in 001's process-pool example.
 *
 * verdict: clean
 * args: [unit_ms] - length of the note's second in the sleeps (default 1000)
 */
#include "tqueue.h"

#include <unistd.h>

struct future {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int done;
    char result[64];
    void (*callback)(struct future *f);
};

struct work_item {
    void (*fn)(long arg, char *result, size_t len);
    long arg;
    struct future *future;
};

struct pool {
    struct tqueue work_queue;
    pthread_t *workers;
    int max_workers;
    int shutdown; /* only the submitting thread touches it */
};

static long unit_ms = 1000;

static void future_set_result(struct future *f, void (*fn)(long, char *, size_t), long arg)
{
    char result[sizeof f->result];
    void (*callback)(struct future *);

    fn(arg, result, sizeof result);
    CHECK(pthread_mutex_lock(&f->lock));
    memcpy(f->result, result, sizeof result);
    f->done = 1;
    callback = f->callback;
    CHECK(pthread_cond_broadcast(&f->cond));
    CHECK(pthread_mutex_unlock(&f->lock));
    if (callback != NULL)
        callback(f);
}

/* future.result(): waits until done. The result never changes after. */
static const char *future_result(struct future *f)
{
    CHECK(pthread_mutex_lock(&f->lock));
    while (!f->done)
        CHECK(pthread_cond_wait(&f->cond, &f->lock));
    CHECK(pthread_mutex_unlock(&f->lock));
    return f->result;
}

/* future.add_done_callback(fn): now if already done, else on completion */
static void future_add_done_callback(struct future *f, void (*fn)(struct future *))
{
    int done;

    CHECK(pthread_mutex_lock(&f->lock));
    done = f->done;
    if (!done)
        f->callback = fn;
    CHECK(pthread_mutex_unlock(&f->lock));
    if (done)
        fn(f);
}

static void future_free(struct future *f)
{
    CHECK(pthread_cond_destroy(&f->cond));
    CHECK(pthread_mutex_destroy(&f->lock));
    free(f);
}

static void *worker(void *arg)
{
    struct pool *pool = arg;
    struct work_item *w;

    while ((w = tq_get(&pool->work_queue)) != NULL) { /* NULL: shut down */
        future_set_result(w->future, w->fn, w->arg);
        free(w);
    }
    return NULL;
}

static void pool_init(struct pool *pool, int max_workers)
{
    tq_init(&pool->work_queue, TQ_FIFO, 0, NULL);
    pool->max_workers = max_workers;
    pool->shutdown = 0;
    pool->workers = calloc((size_t)max_workers, sizeof *pool->workers);
    if (pool->workers == NULL)
        check_failed("calloc", ENOMEM, __FILE__, __LINE__);
    for (int i = 0; i < max_workers; i++)
        start_thread(&pool->workers[i], worker, pool, "ThreadPool_%d", i);
}

/* pool.submit(fn, arg): NULL after shutdown (Python raises RuntimeError) */
static struct future *pool_submit(struct pool *pool, void (*fn)(long, char *, size_t), long arg)
{
    struct future *f;
    struct work_item *w;

    if (pool->shutdown)
        return NULL;
    f = calloc(1, sizeof *f);
    w = malloc(sizeof *w);
    if (f == NULL || w == NULL)
        check_failed("malloc", ENOMEM, __FILE__, __LINE__);
    CHECK(pthread_mutex_init(&f->lock, NULL));
    CHECK(pthread_cond_init(&f->cond, NULL));
    *w = (struct work_item){ fn, arg, f };
    tq_put(&pool->work_queue, w);
    return f;
}

/* pool.shutdown(wait=True) */
static void pool_shutdown(struct pool *pool)
{
    pool->shutdown = 1;
    for (int i = 0; i < pool->max_workers; i++)
        tq_put(&pool->work_queue, NULL);
    for (int i = 0; i < pool->max_workers; i++)
        join_thread(pool->workers[i]);
    free(pool->workers);
    tq_destroy(&pool->work_queue);
}

/* 000: def task(): print('1111'); return 1111 */
static void task(long arg, char *result, size_t len)
{
    (void)arg;
    printf("1111\n");
    snprintf(result, len, "1111");
}

/* 001 §4.2: def func(i) */
static void func(long i, char *result, size_t len)
{
    printf("start %d\n", (int)getpid());
    msleep((1 + rand_below(3)) * unit_ms); /* random.randint(1, 3) */
    printf("end %d\n", (int)getpid());
    snprintf(result, len, "%ld * %d", i, (int)getpid());
}

static void done_callback(struct future *f)
{
    printf("callback: %s\n", future_result(f));
}

int main(int argc, char **argv)
{
    struct future *res, *t_list[20];
    struct pool pool;

    sample_init(argc, argv, 1, "[unit_ms]");
    unit_ms = arg_long(argc, argv, 1, unit_ms, 0, 600000);

    pool_init(&pool, 5);
    res = pool_submit(&pool, task, 0);
    printf("%s\n", future_result(res));
    future_free(res);

    for (int i = 0; i < 20; i++) {
        t_list[i] = pool_submit(&pool, func, i);
        future_add_done_callback(t_list[i], done_callback);
    }
    pool_shutdown(&pool);
    for (int i = 0; i < 20; i++) {
        printf("------> %s\n", future_result(t_list[i]));
        future_free(t_list[i]);
    }
    printf("main %d\n", (int)getpid());
    return 0;
}

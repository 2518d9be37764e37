/* thread_start - seeds/000 线程理论 › 开启线程的两种方式 (two ways to start a thread)
 *
 * Way 1: Thread(target=task, args=('egon',)). Way 2: a MyThread(Thread)
 * "class" whose run() does the work and whose name is 'egon'. Each body
 * prints "egon is running", sleeps 1 s and prints "egon is over"; main
 * prints "main" right after start() (a thread starts at once, so "running"
 * usually comes first) and then waits for the thread, as Python does for a
 * non-daemon thread before the program ends.
 *
 * verdict: clean
 * args: [sleep_ms] - how long each thread sleeps (default 1000)
 */
#include "common.h"

static long sleep_ms = 1000;

/* Way 1: a plain function is the thread's target. */
static void *task(void *arg)
{
    const char *name = arg;

    printf("%s is running\n", name);
    msleep(sleep_ms);
    printf("%s is over\n", name);
    return NULL;
}

/* Way 2: class MyThread(Thread) with __init__(self, name) and run(). */
struct my_thread {
    pthread_t tid;
    const char *name;
    void (*run)(struct my_thread *self);
};

static void my_thread_run(struct my_thread *self)
{
    printf("%s is running\n", self->name);
    msleep(sleep_ms);
    printf("%s is over\n", self->name);
}

static void *my_thread_bootstrap(void *p)
{
    struct my_thread *self = p;

    self->run(self);
    return NULL;
}

static void my_thread_init(struct my_thread *self, const char *name)
{
    self->name = name;
    self->run = my_thread_run;
}

static void my_thread_start(struct my_thread *self)
{
    start_thread(&self->tid, my_thread_bootstrap, self, "%s", self->name);
}

int main(int argc, char **argv)
{
    struct my_thread mt;
    pthread_t t;

    sample_init(argc, argv, 1, "[sleep_ms]");
    sleep_ms = arg_long(argc, argv, 1, sleep_ms, 0, 600000);

    start_thread(&t, task, "egon", "Thread-1");
    printf("main\n");
    join_thread(t);

    my_thread_init(&mt, "egon");
    my_thread_start(&mt);
    printf("main\n");
    join_thread(mt.tid);
    return 0;
}

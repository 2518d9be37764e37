/* joinable_queue - seeds/001 §9.4 cp模型&线程 › 1.3 joinablequeue
 *
 * The producer/consumer model with JoinableQueue: every put() counts one
 * unfinished task, every consumer calls task_done() after eating, and the
 * producer ends with jq.join(), which returns once every item it put has
 * been eaten. The consumers are daemons: they still wait in get() when the
 * producer is done, and end with the program.
 * The note's code is a sketch that would not run (it never puts, never
 * starts a consumer, has `Processor` and `if __name__ = ...`); this port
 * follows its text: producer henry puts food0..food9 (sleeping random() s
 * before each), four daemon consumers echo1..echo4 as in 1.2 (sleep
 * randint(1, 3) s, print, task_done), main waits for the producer only.
 * Threads instead of processes, as in producer_consumer.
 *
 * verdict: clean
 * args: [unit_ms] - length of the note's second in the sleeps (default 1000)
 */
#include "tqueue.h"

struct tqueue jq;
static long unit_ms = 1000;

static void *producer(void *arg)
{
    const char *name = arg, *food = "food";

    for (int i = 0; i < 10; i++) {
        char *fd = malloc(32);

        msleep(rand_below(unit_ms)); /* time.sleep(random.random()) */
        if (fd == NULL)
            check_failed("malloc", ENOMEM, __FILE__, __LINE__);
        snprintf(fd, 32, "%s%d", food, i);
        tq_put(&jq, fd);
        printf("%s produced a %s\n", name, food);
    }
    tq_join(&jq); /* until every food is eaten */
    return NULL;
}

static void *consumer(void *arg)
{
    const char *name = arg;

    for (;;) {
        char *food = tq_get(&jq);

        if (food == NULL) {
            tq_put(&jq, NULL);
            break;
        }
        msleep((1 + rand_below(3)) * unit_ms); /* random.randint(1, 3) */
        printf("%s ate %s\n", name, food);
        free(food);
        CHECK(tq_task_done(&jq));
    }
    return NULL;
}

int main(int argc, char **argv)
{
    static const char *const names[] = { "echo1", "echo2", "echo3", "echo4" };
    pthread_t p, c;

    sample_init(argc, argv, 1, "[unit_ms]");
    unit_ms = arg_long(argc, argv, 1, unit_ms, 0, 600000);
    tq_init(&jq, TQ_FIFO, 0, NULL);

    start_thread(&p, producer, "henry", "henry");
    for (int i = 0; i < 4; i++) { /* c.daemon = True */
        start_thread(&c, consumer, (void *)names[i], "%s", names[i]);
        CHECK(pthread_detach(c));
    }
    join_thread(p);
    return 0; /* the daemons, still blocked in get(), end with the process */
}

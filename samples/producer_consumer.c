/* producer_consumer - seeds/001 §9.4 cp模型&线程 › 1.2 生产者和消费者 (producer/consumer)
 *
 * cp(1, 4): q = Queue(10); one producer, henry, makes food0..food9,
 * sleeping random() s before each and printing "henry produced a food"
 * (the note prints the food kind, not the item); four consumers, echo1 to
 * echo4, get() an item, sleep randint(1, 3) s and print "echoN ate foodI".
 * After joining the producer, cp() puts one None: the consumer that gets
 * it puts it back for the next and stops. The note uses processes and
 * multiprocessing.Queue; here they are threads sharing a bounded queue
 * (mutex + condition variables), the same model inside one process.
 *
 * verdict: clean
 * args: [unit_ms] - length of the note's second in the sleeps (default 1000)
 */
#include "tqueue.h"

struct tqueue q;
static long unit_ms = 1000;

struct role {
    pthread_t tid;
    const char *name;
    const char *food;
};

static void *producer(void *arg)
{
    const struct role *r = arg;

    for (int i = 0; i < 10; i++) {
        char *fd = malloc(32);

        msleep(rand_below(unit_ms)); /* time.sleep(random.random()) */
        if (fd == NULL)
            check_failed("malloc", ENOMEM, __FILE__, __LINE__);
        snprintf(fd, 32, "%s%d", r->food, i);
        tq_put(&q, fd);
        printf("%s produced a %s\n", r->name, r->food);
    }
    return NULL;
}

static void *consumer(void *arg)
{
    const struct role *r = arg;

    for (;;) {
        char *food = tq_get(&q);

        if (food == NULL) {
            tq_put(&q, NULL);
            break;
        }
        msleep((1 + rand_below(3)) * unit_ms); /* random.randint(1, 3) */
        printf("%s ate %s\n", r->name, food);
        free(food);
    }
    return NULL;
}

static void cp(int num1, int num2, struct role *p_l, struct role *c_l)
{
    for (int i = 0; i < num1; i++) {
        p_l[i] = (struct role){ .name = "henry", .food = "food" };
        start_thread(&p_l[i].tid, producer, &p_l[i], "%s", p_l[i].name);
    }
    for (int i = 0; i < num2; i++) {
        static const char *const names[] = { "echo1", "echo2", "echo3", "echo4" };

        c_l[i] = (struct role){ .name = names[i] };
        start_thread(&c_l[i].tid, consumer, &c_l[i], "%s", c_l[i].name);
    }
    for (int i = 0; i < num1; i++)
        join_thread(p_l[i].tid);
    tq_put(&q, NULL);
}

int main(int argc, char **argv)
{
    struct role producers[1], consumers[4];

    sample_init(argc, argv, 1, "[unit_ms]");
    unit_ms = arg_long(argc, argv, 1, unit_ms, 0, 600000);
    tq_init(&q, TQ_FIFO, 10, NULL);

    cp(1, 4, producers, consumers);
    for (int i = 0; i < 4; i++) /* Python waits for its children at exit */
        join_thread(consumers[i].tid);
    tq_destroy(&q);
    return 0;
}

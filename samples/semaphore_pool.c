/* semaphore_pool - seeds/000 线程理论 › 信号量 (Semaphore)
 *
 * "A mutex is one toilet, a semaphore is several": sm = Semaphore(5), and
 * 23 threads each acquire it, print "Thread-N get sm", hold it for 3 s and
 * release it, so the threads get through five at a time.
 *
 * verdict: clean
 * args: [hold_ms] - how long each thread holds the semaphore (default 3000)
 */
#include "common.h"

#include <semaphore.h>

sem_t sm;
static long hold_ms = 3000;

static void *func(void *arg)
{
    (void)arg;
    while (sem_wait(&sm) != 0)
        if (errno != EINTR)
            check_failed("sem_wait", errno, __FILE__, __LINE__);
    printf("%s get sm\n", thread_name);
    msleep(hold_ms);
    if (sem_post(&sm) != 0)
        check_failed("sem_post", errno, __FILE__, __LINE__);
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t t[23];

    sample_init(argc, argv, 1, "[hold_ms]");
    hold_ms = arg_long(argc, argv, 1, hold_ms, 0, 600000);

    if (sem_init(&sm, 0, 5) != 0)
        check_failed("sem_init", errno, __FILE__, __LINE__);
    for (int i = 0; i < 23; i++)
        start_thread(&t[i], func, NULL, "Thread-%d", i + 1);
    for (int i = 0; i < 23; i++)
        join_thread(t[i]);
    sem_destroy(&sm);
    return 0;
}

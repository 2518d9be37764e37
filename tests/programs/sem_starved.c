// verdict: deadlock/all-blocked
// A worker waits on a semaphore nobody will post, main joins it: every
// thread is blocked, though no lock is involved.
#include <pthread.h>
#include <semaphore.h>

sem_t work_ready;

static void *worker(void *arg)
{
    sem_wait(&work_ready);
    return arg;
}

int main(void)
{
    sem_init(&work_ready, 0, 0);
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    pthread_join(t, NULL);
    sem_destroy(&work_ready);
    return 0;
}

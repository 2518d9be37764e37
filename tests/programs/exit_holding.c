// verdict: misuse/exit-holding
// A thread returns on an early path without releasing its mutex.
#include <pthread.h>

pthread_mutex_t job_lock = PTHREAD_MUTEX_INITIALIZER;
static int job_failed = 1;

static void *worker(void *arg)
{
    pthread_mutex_lock(&job_lock);
    if (job_failed)
        return arg;                                /* forgot to unlock */
    pthread_mutex_unlock(&job_lock);
    return arg;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    pthread_join(t, NULL);
    return 0;
}

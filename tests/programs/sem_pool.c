// verdict: clean
// A semaphore of 2 slots shared by 4 workers; each holds a slot briefly and
// counts itself under a mutex. Waiting on a semaphore is not a deadlock.
#include <pthread.h>
#include <semaphore.h>

sem_t pool_slots;
pthread_mutex_t stats_lock = PTHREAD_MUTEX_INITIALIZER;
static int in_use, max_in_use, done;

static void *worker(void *arg)
{
    for (int i = 0; i < 200; i++) {
        sem_wait(&pool_slots);
        pthread_mutex_lock(&stats_lock);
        if (++in_use > max_in_use)
            max_in_use = in_use;
        pthread_mutex_unlock(&stats_lock);

        pthread_mutex_lock(&stats_lock);
        in_use--;
        done++;
        pthread_mutex_unlock(&stats_lock);
        sem_post(&pool_slots);
    }
    return arg;
}

int main(void)
{
    pthread_t t[4];
    sem_init(&pool_slots, 0, 2);
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    sem_destroy(&pool_slots);
    return max_in_use > 2 || done != 800;
}

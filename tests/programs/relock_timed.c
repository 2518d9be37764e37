// verdict: misuse/relock-timed
// A timed lock of a normal mutex the thread already holds: it can only
// time out (it does not hang, so it is misuse, not a deadlock).
#include <pthread.h>
#include <time.h>

pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

int main(void)
{
    struct timespec deadline;
    pthread_mutex_lock(&cache_lock);
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_nsec += 20 * 1000 * 1000;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    int rc = pthread_mutex_timedlock(&cache_lock, &deadline);  /* ETIMEDOUT */
    pthread_mutex_unlock(&cache_lock);
    return rc == 0;
}

// verdict: misuse/error-return
// An errorcheck mutex relocked by its holder returns EDEADLK instead of
// hanging: misuse (a call returned an error), never a deadlock.
#include <errno.h>
#include <pthread.h>

pthread_mutex_t checked_lock;

int main(void)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init(&checked_lock, &attr);
    pthread_mutexattr_destroy(&attr);

    pthread_mutex_lock(&checked_lock);
    int rc = pthread_mutex_lock(&checked_lock);    /* EDEADLK */
    pthread_mutex_unlock(&checked_lock);
    pthread_mutex_destroy(&checked_lock);
    return rc != EDEADLK;
}

// verdict: misuse/unlock-other
// main holds an errorcheck mutex; another thread unlocks it (EPERM).
#include <errno.h>
#include <pthread.h>

pthread_mutex_t owner_lock;

static void *intruder(void *arg)
{
    (void)arg;
    long rc = pthread_mutex_unlock(&owner_lock);   /* EPERM: not the owner */
    return (void *)rc;
}

int main(void)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init(&owner_lock, &attr);
    pthread_mutexattr_destroy(&attr);

    pthread_mutex_lock(&owner_lock);
    pthread_t t;
    void *rc;
    pthread_create(&t, NULL, intruder, NULL);
    pthread_join(t, &rc);
    pthread_mutex_unlock(&owner_lock);
    pthread_mutex_destroy(&owner_lock);
    return (long)rc != EPERM;
}

// verdict: misuse/cond-not-held
// only: misuse/cond-not-held misuse/error-return
// A condition wait with a mutex the thread does not hold: with an errorcheck
// mutex glibc returns EPERM at once (with a normal one the behaviour is
// undefined).
#include <errno.h>
#include <pthread.h>

static pthread_mutex_t state_lock;
static pthread_cond_t state_changed = PTHREAD_COND_INITIALIZER;

int main(void)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ERRORCHECK);
    pthread_mutex_init(&state_lock, &attr);
    pthread_mutexattr_destroy(&attr);

    int rc = pthread_cond_wait(&state_changed, &state_lock);    /* not locked */
    pthread_mutex_destroy(&state_lock);
    return rc != EPERM;
}

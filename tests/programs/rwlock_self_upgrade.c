// verdict: deadlock/self
// A thread holding an rwlock for reading asks for it for writing (an
// "upgrade"): it waits for itself forever.
#include <pthread.h>

pthread_rwlock_t index_lock = PTHREAD_RWLOCK_INITIALIZER;
static int index_size;

int main(void)
{
    pthread_rwlock_rdlock(&index_lock);
    if (index_size == 0) {
        pthread_rwlock_wrlock(&index_lock);        /* hangs */
        index_size = 1;
        pthread_rwlock_unlock(&index_lock);
    }
    pthread_rwlock_unlock(&index_lock);
    return 0;
}

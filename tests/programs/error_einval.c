// verdict: misuse/error-return
// only: misuse/error-return
// A pthread call that fails with EINVAL: a barrier for zero threads. The
// program ignores the result, as such bugs do.
#include <pthread.h>

static pthread_barrier_t start_line;

int main(void)
{
    int workers = 0;                          /* e.g. read from a config */
    pthread_barrier_init(&start_line, NULL, (unsigned)workers);    /* EINVAL */
    return 0;
}

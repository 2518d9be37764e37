/* A shared library with debug info for the symbols tests: its load bias
 * differs from the program's. */
#include "symlib.h"

pthread_mutex_t lib_lock = PTHREAD_MUTEX_INITIALIZER;

void symlib_call(void (*cb)(int line))
{
    cb(__LINE__);
}

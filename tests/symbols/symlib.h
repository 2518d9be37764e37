#ifndef SYMLIB_H
#define SYMLIB_H
#include <pthread.h>

extern pthread_mutex_t lib_lock;
/* Calls CB from inside the library, passing the line of the call. */
void symlib_call(void (*cb)(int line));
#endif

/* Names the race runtime interposes besides __tsan_* (race_heap.c,
 * race_access.c), and the --watch watcher's signal calls (tracer/watch.c);
 * included by tracer/libtangle.map.c. */
    malloc; calloc; realloc; free; memalign; aligned_alloc; posix_memalign;
    valloc; pvalloc; munmap; memcpy; memmove; memset;
    sigaction; signal;

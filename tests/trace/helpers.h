/* tests/trace: helpers shared by the trace tests. */
#ifndef TG_TEST_TRACE_HELPERS_H
#define TG_TEST_TRACE_HELPERS_H

#include <stddef.h>
#include <stdint.h>

#include "trace/trace.h"
#include "trace/writer.h"

/* A fresh path in a fresh temporary directory. */
void tmp_trace_path(char *buf, size_t len);

/* Opens a new trace at PATH for writing with the CLOCK_MONOTONIC clock
 * (ticks are nanoseconds: tests can compute the times they expect). */
void open_mono(struct tg_writer *w, const char *path);

/* Events read back, with THREAD_NAME strings copied. */
struct ev_list {
    struct tg_ev *ev;
    char **names;
    size_t n, cap;
    int end;                    /* what tg_trace_next returned instead of 1 */
};
/* Reads the whole trace (not follow). Returns tg_trace_open's result. */
int read_all(const char *path, struct ev_list *out, struct tg_trace **keep_open);
void ev_list_free(struct ev_list *l);
void ev_list_push(struct ev_list *l, const struct tg_ev *ev);

/* The first record of a thread, as the tracer writes it. */
void emit_thread_start(struct tg_stream *s, uint32_t parent, uint64_t routine,
                       uint32_t stack, uint64_t tick);

/* An object address that encodes (thread, i): lets a test check order and
 * exactly-once delivery from the events alone. */
static inline uint64_t seq_obj(uint32_t thread, uint32_t i)
{
    return (uint64_t)0x100000000000ull | ((uint64_t)thread << 32) | i;
}

void copy_file(const char *from, const char *to, size_t len);
size_t file_size(const char *path);
/* PATH mapped shared, whole (PROT as for mmap); *SIZE gets its size. */
uint8_t *map_file(const char *path, int prot, size_t *size);

#endif

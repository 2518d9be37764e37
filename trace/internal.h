/* trace/: private helpers shared by the writer and the reader. Not part of
 * the module's interface; only the .c files of trace/ include it. */
#ifndef TG_TRACE_INTERNAL_H
#define TG_TRACE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "trace/format.h"

/* Chunk IDX of a mapping that starts with the file header. */
static inline struct tg_chunk_header *tg_chunk_at(const void *base, uint64_t idx)
{
    return (struct tg_chunk_header *)((uint8_t *)base + TG_HEADER_SIZE
                                      + idx * (uint64_t)TG_CHUNK_SIZE);
}

/* Bounds a reader applies to values read from a file it does not trust. */
#define TG_MAX_THREADS   (1u << 24)
#define TG_MAX_PROCESSES (1u << 20)
#define TG_MAX_STACKS    (1u << 26)
#define TG_MAX_FRAMES    512u           /* frames kept per STACK record */
#define TG_MAX_META      (16u * 1024u)  /* largest meta record, bytes */
#define TG_MAX_VAR_SLOTS 254u           /* largest variable payload, slots */

/* Payload slots of each kind (TG_SLOTS_VAR: the arg byte holds the count). */
extern const uint8_t tg_event_slots[TG_EV_COUNT];

uint64_t tg_mono_ns(void);
uint64_t tg_real_ns(void);
/* A calibration pair: the clock's tick and CLOCK_MONOTONIC ns at one moment
 * (the TSC is read on both sides of clock_gettime and averaged). */
void tg_calib_pair(uint32_t clock, uint64_t *tick, uint64_t *mono_ns);
/* The clock a new trace uses on this machine (see tg_writer_open). */
uint32_t tg_clock_choose(void);
/* /proc/sys/kernel/random/boot_id as 16 bytes; 0 or -errno. */
int tg_boot_id(uint8_t id[16]);

/* ---- writer internals (writer.c, writer_meta.c, writer_stream.c) ---- */
struct tg_writer;
/* The run-wide lock in the header; a dead owner's state is taken over
 * (everything it protects is published last, so it is always consistent). */
int tg_writer_lock(struct tg_writer *w);
void tg_writer_unlock(struct tg_writer *w);
/* Under the lock: grows the file if needed, writes a new chunk header for
 * OWNER and publishes it in chunks_used. */
int tg_writer_claim_locked(struct tg_writer *w, uint32_t owner, uint32_t seq,
                           uint64_t tick_base, struct tg_chunk_header **out);
/* A closed chunk's pages past its records go back to the file system (the
 * file keeps its size; the hole reads as zeroes), together with those of
 * the chunks closed before it, once TG_WRITER_TAIL_BATCH have closed: a
 * short-lived thread costs a page of disk, not a chunk, in the long run. */
void tg_writer_release_tail(struct tg_writer *w, const struct tg_chunk_header *c);
/* Whether chunk IDX lies inside this process's mapping. */
bool tg_writer_mapped(const struct tg_writer *w, uint64_t idx);
/* Meta records of a process's start: PROCESS, CALIB, the module map. */
int tg_writer_process_record(struct tg_writer *w, uint32_t parent, bool exec,
                             const char *cmdline);
int tg_writer_calib(struct tg_writer *w);
/* Index of the latest PROCESS record with PID, TG_NO_THREAD if none. */
uint32_t tg_writer_find_pid(struct tg_writer *w, uint32_t pid);
/* Whether the trace was left by an earlier, unrelated run: no process of
 * it is this one (an exec'd image) or its parent (a spawned child), and
 * none is still alive. Reads errno. */
bool tg_writer_left_over(struct tg_writer *w);

#endif

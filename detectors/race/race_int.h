/* detectors/race/: data races from the trace, for tg_analysis.
 *
 * Two sources, one shape of finding (kind TG_FIND_RACE, docs/races.md):
 *  - RACE events, which the in-process runtime of a `tangle cc` build
 *    appends when it finds a race (race_events.c decodes them);
 *  - WATCH_ACCESS events, which `tangle run --watch` records for every
 *    access to a watched variable: race_watch.c runs the happens-before
 *    engine of hb/ over the trace's synchronisation events and checks each
 *    watched access against the earlier ones (FastTrack shadow cells).
 *
 * A finding: objs[0] is the memory (TG_OBJ_MEMORY), then the locks held;
 * steps[0] the current access, steps[1] the earlier one it races with, each
 * with its thread, stack, pc, size, read/write and the locks held as
 * `others`. One finding per memory object and unordered pair of code
 * locations (rc_commit sets the key).
 */
#ifndef TG_DETECTORS_RACE_INT_H
#define TG_DETECTORS_RACE_INT_H

#include "detectors/internal.h"
#include "hb/hb.h"

/* One access as a finding shows it. HELD points into the thread's holds (or
 * a copy of them) for the time of the call. */
struct rc_access {
    uint32_t thread, stack;
    uint64_t pc, addr, ts;
    uint32_t size;
    uint8_t  access;            /* bit 0 write, bit 1 atomic */
    uint16_t event;             /* TG_EV_WATCH_ACCESS or TG_EV_RACE */
    const struct dheld *held;
    uint32_t nheld;
    /* locks by address that are not objects of the analysis (RACE payload) */
    const uint64_t *lock_addrs;
    uint32_t nlock_addrs;
};

/* The memory a race is on, and where it happened. */
struct rc_mem {
    uint32_t process;
    uint64_t ts;
    struct tg_finding_mem mem;
};

/* Builds the finding for CUR racing with PREV and hands it to the
 * analysis (dedup, order, announcement). */
void rc_commit(struct tg_analysis *a, const struct rc_mem *m, const struct rc_access *cur,
               const struct rc_access *prev);

/* race_events.c: a RACE event. */
void rc_race_event(struct tg_analysis *a, const struct tg_ev *ev);

/* race_watch.c: the happens-before state over the trace. */
struct rc_watch;
void rc_watch_feed(struct tg_analysis *a, const struct tg_ev *ev);
void rc_watch_free(struct rc_watch *w);

#endif

/* detectors/race/: RACE events, which the in-process runtime of a
 * `tangle cc` build appends when it finds a race (payload struct
 * tg_race_payload, trace/format.h). The runtime did the happens-before
 * work; here the payload becomes a finding like every other. */
#include <string.h>

#include "detectors/race/race_int.h"

static uint8_t access_bits(uint32_t flags, uint32_t write, uint32_t atomic)
{
    return (uint8_t)(((flags & write) ? 1u : 0u) | ((flags & atomic) ? 2u : 0u));
}

void rc_race_event(struct tg_analysis *a, const struct tg_ev *ev)
{
    struct tg_race_payload p;
    if (!ev->data || ev->len < sizeof p)
        return;                 /* cut short: nothing trustworthy to say */
    memcpy(&p, ev->data, sizeof p);
    uint32_t nlocks = (uint32_t)p.ncur_locks + p.nprev_locks;
    if (sizeof p + (size_t)nlocks * sizeof(uint64_t) > ev->len)
        return;
    uint64_t locks[2 * 64];
    if (nlocks > sizeof locks / sizeof locks[0])
        return;
    if (nlocks)
        memcpy(locks, (const char *)ev->data + sizeof p, nlocks * sizeof locks[0]);

    struct rc_access cur = {
        .thread = p.cur_thread != TG_NO_THREAD ? p.cur_thread : ev->thread,
        .stack = p.cur_stack ? p.cur_stack : ev->stack,
        .addr = p.addr, .ts = ev->ts, .size = p.size,
        .access = access_bits(p.flags, TG_RACE_CUR_WRITE | TG_RACE_CUR_FREE, TG_RACE_CUR_ATOMIC),
        .event = TG_EV_RACE,
        .lock_addrs = locks, .nlock_addrs = p.ncur_locks,
    };
    struct rc_access prev = {
        .thread = p.prev_thread, .stack = p.prev_stack, .pc = p.prev_pc,
        .addr = p.addr, .size = p.prev_size ? p.prev_size : p.size,
        .access = access_bits(p.flags, TG_RACE_PREV_WRITE, TG_RACE_PREV_ATOMIC),
        .event = TG_EV_RACE,
        .lock_addrs = locks + p.ncur_locks, .nlock_addrs = p.nprev_locks,
    };
    struct rc_mem m = {
        .process = ev->process, .ts = ev->ts,
        .mem = { .addr = p.addr, .size = p.size },
    };
    if (p.flags & TG_RACE_HEAP) {
        m.mem.heap = true;
        m.mem.heap_block = p.heap_block;
        m.mem.heap_size = p.heap_size;
        m.mem.heap_stack = p.heap_stack;
        m.mem.heap_thread = p.heap_thread;
    }
    rc_commit(a, &m, &cur, &prev);
}

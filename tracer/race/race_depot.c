/* tracer/race/: stacks stored once and named by a 32-bit id (heap block
 * allocation sites, thread creation sites), so a malloc costs one hash
 * lookup rather than a copy of its stack. Append-only: ids stay valid. */
#include <string.h>

#include "tracer/race/race.h"

#define BUCKET_BITS 14
#define MAX_IDS     (1u << 22)

struct entry {
    struct entry *next;
    uint64_t hash;
    uint32_t id, n;
    uint64_t frames[];
};

static struct {
    tg_hb_spin lock;
    uint32_t next_id;
    struct entry *buckets[1u << BUCKET_BITS];
    struct entry **by_id;        /* MAX_IDS pointers, mapped on first use */
} depot;

static uint64_t hash_frames(const uint64_t *frames, uint32_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
    for (uint32_t i = 0; i < n; i++) {
        h = (h ^ frames[i]) * 0xff51afd7ed558ccdull;
        h ^= h >> 29;
    }
    return h;
}

uint32_t race_depot_put(const uint64_t *frames, uint32_t n)
{
    if (n == 0)
        return 0;
    uint64_t h = hash_frames(frames, n);
    struct entry **head = &depot.buckets[h >> (64 - BUCKET_BITS)];
    uint32_t id = 0;

    tg_hb_spin_lock(&depot.lock);
    for (struct entry *e = *head; e; e = e->next)
        if (e->hash == h && e->n == n && memcmp(e->frames, frames, n * sizeof *frames) == 0) {
            id = e->id;
            goto out;
        }
    if (depot.by_id == NULL && (depot.by_id = tg_hb_alloc(MAX_IDS * sizeof *depot.by_id)) == NULL)
        goto out;
    if (depot.next_id + 1 >= MAX_IDS)
        goto out;
    struct entry *e = tg_hb_alloc(sizeof *e + n * sizeof *frames);
    if (e == NULL)
        goto out;
    e->hash = h;
    e->n = n;
    memcpy(e->frames, frames, n * sizeof *frames);
    e->id = id = ++depot.next_id;
    e->next = *head;
    __atomic_store_n(&depot.by_id[id], e, __ATOMIC_RELEASE);
    *head = e;
out:
    tg_hb_spin_unlock(&depot.lock);
    return id;
}

uint32_t race_depot_get(uint32_t id, const uint64_t **frames)
{
    struct entry **by_id = __atomic_load_n(&depot.by_id, __ATOMIC_ACQUIRE);
    if (id == 0 || id >= MAX_IDS || by_id == NULL) {
        *frames = NULL;
        return 0;
    }
    struct entry *e = __atomic_load_n(&by_id[id], __ATOMIC_ACQUIRE);
    if (e == NULL) {
        *frames = NULL;
        return 0;
    }
    *frames = e->frames;
    return e->n;
}

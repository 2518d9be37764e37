/* util/: small data structures more than one module needs. For now one: a
 * map from a 64-bit key to a 64-bit value (open addressing, linear probing,
 * no deletion), for tables keyed by an address or an id. cli/ and symbols/
 * used to carry a copy each.
 *
 * Out of memory is a return value (NULL), never an abort: the tracer links
 * users of this map into the traced program. */
#ifndef TG_UTIL_U64MAP_H
#define TG_UTIL_U64MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Zero-initialised is an empty map. */
struct tg_u64map {
    uint64_t *keys;               /* 0 marks an empty slot */
    uint64_t *vals;
    size_t cap, len;              /* cap is a power of two, or 0 */
    bool has_zero;                /* key 0 is kept aside */
    uint64_t zero_val;
};

/* A pointer to KEY's value, inserting 0 if absent; NULL if out of memory.
 * Pointers stay valid until the next insertion. */
uint64_t *tg_u64map_slot(struct tg_u64map *m, uint64_t key);
/* A pointer to KEY's value, or NULL if KEY is absent. */
uint64_t *tg_u64map_find(const struct tg_u64map *m, uint64_t key);
/* How many keys the map holds. */
size_t tg_u64map_len(const struct tg_u64map *m);
/* Frees the tables; the map is empty and usable again. */
void tg_u64map_free(struct tg_u64map *m);

#endif

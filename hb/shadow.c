/* hb/: shadow memory and the access check.
 *
 * Each 8-byte granule of application memory has TG_HB_CELLS cells (32
 * bytes), found through a directory of 4 MiB regions whose cells are mapped
 * on first touch with MAP_NORESERVE: only pages of cells that were written
 * cost memory, as with TSan's direct-mapped shadow, but without reserving a
 * fixed layout of the address space (we do not control where the program
 * maps things).
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hb/hb.h"

#define DIR_ENTRIES   ((size_t)1 << (TG_HB_ADDR_BITS - TG_HB_REGION_SHIFT))
#define REGION_BYTES  ((size_t)1 << TG_HB_REGION_SHIFT)
#define REGION_CELLS  (REGION_BYTES / 8 * TG_HB_CELLS)
#define REGION_SHADOW (REGION_CELLS * sizeof(tg_hb_cell))
#define MAX_REGIONS   DIR_ENTRIES

static void *map_noreserve(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

int tg_hb_shadow_init(struct tg_hb_shadow *s)
{
    s->regions = 0;
    s->dir = map_noreserve(DIR_ENTRIES * sizeof *s->dir);
    s->mapped = map_noreserve(MAX_REGIONS * sizeof *s->mapped);
    if (s->dir == NULL || s->mapped == NULL) {
        int err = -errno;
        tg_hb_shadow_fini(s);
        return err;
    }
    return 0;
}

void tg_hb_shadow_fini(struct tg_hb_shadow *s)
{
    if (s->dir != NULL && s->mapped != NULL)
        for (size_t i = 0; i < s->regions; i++)
            munmap(s->dir[s->mapped[i]], REGION_SHADOW);
    if (s->dir != NULL)
        munmap(s->dir, DIR_ENTRIES * sizeof *s->dir);
    if (s->mapped != NULL)
        munmap(s->mapped, MAX_REGIONS * sizeof *s->mapped);
    s->dir = NULL;
    s->mapped = NULL;
    s->regions = 0;
}

static tg_hb_cell *region(struct tg_hb_shadow *s, uintptr_t addr, bool create)
{
    tg_hb_cell **slot = &s->dir[addr >> TG_HB_REGION_SHIFT];
    tg_hb_cell *r = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (r != NULL || !create)
        return r;
    tg_hb_cell *fresh = map_noreserve(REGION_SHADOW);
    if (fresh == NULL)
        return NULL;
    if (__atomic_compare_exchange_n(slot, &r, fresh, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        size_t k = __atomic_fetch_add(&s->regions, 1, __ATOMIC_ACQ_REL);
        __atomic_store_n(&s->mapped[k], (uint32_t)(addr >> TG_HB_REGION_SHIFT), __ATOMIC_RELEASE);
        return fresh;
    }
    munmap(fresh, REGION_SHADOW);        /* another thread mapped it first */
    return r;
}

tg_hb_cell *tg_hb_shadow_cells_slow(struct tg_hb_shadow *s, uintptr_t addr)
{
    if (addr >> TG_HB_ADDR_BITS)
        return NULL;
    tg_hb_cell *r = region(s, addr, true);
    if (r == NULL)
        return NULL;
    return r + ((addr & (REGION_BYTES - 1)) >> 3) * TG_HB_CELLS;
}

/* Zeroes cells; whole pages go back to the kernel (they read as zero). */
static void clear_cells(tg_hb_cell *from, tg_hb_cell *to)
{
    uintptr_t lo = (uintptr_t)from, hi = (uintptr_t)to;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t plo = (lo + page - 1) & ~(page - 1), phi = hi & ~(page - 1);
    if (phi > plo && phi - plo >= 4 * page) {
        memset(from, 0, plo - lo);
        madvise((void *)plo, phi - plo, MADV_DONTNEED);
        memset((void *)phi, 0, hi - phi);
    } else {
        memset(from, 0, hi - lo);
    }
}

void tg_hb_shadow_reset(struct tg_hb_shadow *s, uintptr_t addr, size_t len)
{
    uintptr_t end = addr + len;
    if (len == 0 || end < addr)
        return;
    if (end > ((uintptr_t)1 << TG_HB_ADDR_BITS))
        end = (uintptr_t)1 << TG_HB_ADDR_BITS;
    addr &= ~(uintptr_t)7;
    while (addr < end) {
        uintptr_t region_end = (addr | (REGION_BYTES - 1)) + 1;
        uintptr_t stop = end < region_end ? end : region_end;
        tg_hb_cell *r = region(s, addr, false);
        if (r != NULL) {
            tg_hb_cell *from = r + ((addr & (REGION_BYTES - 1)) >> 3) * TG_HB_CELLS;
            /* every granule the range touches (callers pass 8-aligned
             * ranges: heap blocks, stacks) */
            size_t granules = (stop - addr + 7) >> 3;
            clear_cells(from, from + granules * TG_HB_CELLS);
        }
        addr = stop;
    }
}

size_t tg_hb_shadow_resident(const struct tg_hb_shadow *s)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE), total = 0;
    size_t npages = REGION_SHADOW / page;
    unsigned char vec[4096];
    size_t regions = __atomic_load_n(&s->regions, __ATOMIC_ACQUIRE);
    for (size_t i = 0; i < regions; i++) {
        tg_hb_cell *r = __atomic_load_n(&s->dir[s->mapped[i]], __ATOMIC_ACQUIRE);
        if (r == NULL)
            continue;
        for (size_t off = 0; off < npages; off += sizeof vec) {
            size_t n = npages - off < sizeof vec ? npages - off : sizeof vec;
            if (mincore((char *)r + off * page, n * page, vec) != 0)
                break;
            for (size_t k = 0; k < n; k++)
                total += (vec[k] & 1) * page;
        }
    }
    return total;
}

/* ---- the check ---- */

/* Whether NEW makes OLD redundant: it covers OLD's bytes, it is at least as
 * strong (a write covers a read; an atomic access never replaces a plain
 * one, which races with more), and OLD happens-before it. Any later access
 * that would race with OLD then races with NEW too. */
static bool subsumes(tg_hb_cell new_c, tg_hb_cell old)
{
    return (tg_hb_cell_mask(old) & ~tg_hb_cell_mask(new_c)) == 0
        && (tg_hb_cell_write(new_c) || !tg_hb_cell_write(old))
        && (!tg_hb_cell_atomic(new_c) || tg_hb_cell_atomic(old));
}

bool tg_hb_access_slow(tg_hb_cell *cells, tg_hb_cell cur, const struct tg_hb_vc *clock,
                       struct tg_hb_result *res)
{
    unsigned mask = tg_hb_cell_mask(cur);
    uint32_t slot = tg_hb_cell_slot(cur);
    bool write = tg_hb_cell_write(cur), atomic = tg_hb_cell_atomic(cur);
    int keep = -1, empty = -1, ordered = -1;
    unsigned drop = 0;

    res->racy = 0;
    res->racy_index = -1;
    for (int i = 0; i < TG_HB_CELLS; i++) {
        tg_hb_cell c = __atomic_load_n(&cells[i], __ATOMIC_RELAXED);
        if (c == 0) {
            if (empty < 0)
                empty = i;
            continue;
        }
        uint32_t cs = tg_hb_cell_slot(c);
        bool before = cs == slot || tg_hb_cell_epoch(c) <= tg_hb_vc_get(clock, cs);
        if (!before) {
            if ((tg_hb_cell_mask(c) & mask) != 0 && (write || tg_hb_cell_write(c))
                && !(atomic && tg_hb_cell_atomic(c)) && res->racy == 0) {
                res->racy = c;
                res->racy_index = i;
            }
            continue;
        }
        if (subsumes(cur, c)) {
            if (keep < 0)
                keep = i;
            else
                drop |= 1u << i;
        } else if (ordered < 0) {
            ordered = i;
        }
    }

    int idx = keep >= 0 ? keep : empty >= 0 ? empty : ordered;
    if (idx < 0)                 /* all four race or are live: evict one */
        idx = (int)((tg_hb_cell_epoch(cur) ^ (cur >> 3)) % TG_HB_CELLS);
    if (idx == res->racy_index && idx != keep) {
        /* keep the racy access visible to the next thread if we can */
        for (int i = 0; i < TG_HB_CELLS; i++)
            if (i != res->racy_index) { idx = i; break; }
    }
    for (int i = 0; i < TG_HB_CELLS; i++)
        if (drop & (1u << i))
            __atomic_store_n(&cells[i], 0, __ATOMIC_RELAXED);
    __atomic_store_n(&cells[idx], cur, __ATOMIC_RELAXED);
    res->stored = idx;
    return res->racy != 0;
}

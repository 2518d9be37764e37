/* trace/: reading the meta stream (processes, modules, stacks, clock
 * calibration) as it is published. Records are checked against their own
 * size and the chunk's `used` before anything in them is believed. */
#include <string.h>

#include "trace/reader_internal.h"

static int bad(struct tg_trace *t, uint32_t idx, uint32_t off, const char *why)
{
    return tg_reader_fail(t, TG_TRACE_ECORRUPT, "corrupt meta chunk %u: record at byte %u %s",
                          idx, off, why);
}

static int record(struct tg_trace *t, const struct tg_meta *m, uint64_t file_off,
                  uint32_t idx, uint32_t off)
{
    switch (m->type) {
    case TG_META_PROCESS:
        if (m->size < sizeof(struct tg_meta_process))
            return bad(t, idx, off, "is too short for a process");
        return tg_reader_add_process(t, (const struct tg_meta_process *)m, m->size);
    case TG_META_MODULE:
        if (m->size < sizeof(struct tg_meta_module))
            return bad(t, idx, off, "is too short for a module");
        return tg_reader_add_module(t, (const struct tg_meta_module *)m, m->size);
    case TG_META_STACK: {
        const struct tg_meta_stack *s = (const struct tg_meta_stack *)m;
        if (m->size < sizeof *s || s->nframes > (m->size - sizeof *s) / sizeof s->frames[0])
            return bad(t, idx, off, "has more frames than bytes");
        return tg_reader_add_stack(t, s, file_off + sizeof *s);
    }
    case TG_META_CALIB: {
        const struct tg_meta_calib *c = (const struct tg_meta_calib *)m;
        if (m->size < sizeof *c)
            return bad(t, idx, off, "is too short for a calibration");
        tg_reader_calib_point(t, c->tick, c->mono_ns);
        return 0;
    }
    default:
        return 0;                 /* a newer writer's record: skip it */
    }
}

int tg_reader_meta(struct tg_trace *t)
{
    while (t->meta_cur < t->meta.n) {
        uint32_t idx = t->meta.idx[t->meta_cur];
        const struct tg_chunk_header *c = tg_chunk_at(t->map, idx);
        uint32_t used = __atomic_load_n(&c->used, __ATOMIC_ACQUIRE);
        if (used > TG_CHUNK_PAYLOAD || used % 8 || used < t->meta_off)
            return tg_reader_fail(t, TG_TRACE_ECORRUPT, "corrupt meta chunk %u: %u bytes used",
                                  idx, used);
        t->cinfo[idx].used = used;      /* for the summary */
        uint32_t avail = tg_reader_in_file(t, idx, used);
        const uint8_t *base = (const uint8_t *)(c + 1);
        while (t->meta_off + sizeof(struct tg_meta) <= avail) {
            const struct tg_meta *m = (const struct tg_meta *)(base + t->meta_off);
            if (m->size < sizeof *m || m->size % 8 || m->size > used - t->meta_off)
                return bad(t, idx, t->meta_off, "has an impossible size");
            if (m->size > avail - t->meta_off)
                break;             /* cut by the end of the file */
            int rc = record(t, m, (uint64_t)(base - t->map) + t->meta_off, idx, t->meta_off);
            if (rc < 0)
                return rc;
            t->meta_off += m->size;
        }
        if (avail < used) {
            t->truncated = true;
            return 0;
        }
        /* A later meta chunk exists, so this one was final when `used` was
         * loaded (all meta writes happen under one lock, in order). */
        if (t->meta_off < used || t->meta_cur + 1 >= t->meta.n)
            return 0;
        t->meta_cur++;
        t->meta_off = 0;
    }
    return 0;
}

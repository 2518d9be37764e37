/* tracer/: just enough of an x86-64 decoder for --watch: the size of an
 * instruction's memory operand and whether it reads it, writes it or both.
 * The page fault says where the access is (si_addr) and, in its error code,
 * whether the first touch was a write; the size and the read-modify-write
 * nature come from the opcode. Covers what compilers emit for plain C
 * accesses to scalars: mov/movzx/movsx, the ALU group, inc/dec/neg/not,
 * shifts, test/cmp, xchg/cmpxchg/xadd, cmov, setcc, push/pop, string moves
 * and the SSE/SSE2 moves. VEX/EVEX-encoded instructions are not decoded
 * (size 0: the caller falls back to the fault's error code and the
 * variable's size). */
#include "tracer/watch.h"

struct prefixes {
    bool opsize;                /* 66 */
    bool rep, repne;            /* F3, F2 */
    bool rex_w;
};

static unsigned osize(const struct prefixes *p)
{
    return p->rex_w ? 8 : p->opsize ? 2 : 4;
}

/* One-byte opcodes with a ModRM memory operand. */
static unsigned one_byte(uint8_t op, uint8_t modrm, const struct prefixes *p, enum watch_dir *dir)
{
    unsigned reg = (modrm >> 3) & 7;
    if (op < 0x40 && (op & 7) < 4) {            /* add or adc sbb and sub xor cmp */
        bool cmp = (op & 0x38) == 0x38;
        bool to_mem = (op & 2) == 0;
        *dir = !to_mem || cmp ? WATCH_READ : WATCH_RMW;
        return op & 1 ? osize(p) : 1;
    }
    switch (op) {
    case 0x63: *dir = WATCH_READ; return 4;                     /* movsxd */
    case 0x69: case 0x6b: *dir = WATCH_READ; return osize(p);   /* imul r, r/m, imm */
    case 0x80: case 0x81: case 0x83:                            /* group 1, immediate */
        *dir = reg == 7 ? WATCH_READ : WATCH_RMW;
        return op == 0x80 ? 1 : osize(p);
    case 0x84: case 0x85: *dir = WATCH_READ; return op == 0x84 ? 1 : osize(p);   /* test */
    case 0x86: case 0x87: *dir = WATCH_RMW; return op == 0x86 ? 1 : osize(p);    /* xchg */
    case 0x88: case 0x89: *dir = WATCH_WRITE; return op == 0x88 ? 1 : osize(p);  /* mov r/m, r */
    case 0x8a: case 0x8b: *dir = WATCH_READ; return op == 0x8a ? 1 : osize(p);   /* mov r, r/m */
    case 0x8c: *dir = WATCH_WRITE; return 2;                    /* mov r/m, sreg */
    case 0x8e: *dir = WATCH_READ; return 2;
    case 0x8f: *dir = WATCH_WRITE; return p->opsize ? 2 : 8;    /* pop r/m */
    case 0xc0: case 0xc1: case 0xd0: case 0xd1: case 0xd2: case 0xd3:   /* shifts, rotates */
        *dir = WATCH_RMW;
        return (op & 1) ? osize(p) : 1;
    case 0xc6: case 0xc7: *dir = WATCH_WRITE; return op == 0xc6 ? 1 : osize(p);  /* mov r/m, imm */
    case 0xf6: case 0xf7:                                       /* group 3 */
        *dir = reg == 2 || reg == 3 ? WATCH_RMW : WATCH_READ;   /* not, neg; test, mul, div */
        return op == 0xf6 ? 1 : osize(p);
    case 0xfe:
        *dir = WATCH_RMW;                                       /* inc, dec */
        return 1;
    case 0xff:
        if (reg <= 1) {
            *dir = WATCH_RMW;
            return osize(p);
        }
        *dir = WATCH_READ;                                      /* call, jmp, push [mem] */
        return reg == 6 && p->opsize ? 2 : 8;
    default:
        return 0;
    }
}

/* Two-byte (0F xx) opcodes with a ModRM memory operand. */
static unsigned two_byte(uint8_t op, const struct prefixes *p, enum watch_dir *dir)
{
    if (op >= 0x40 && op <= 0x4f) {             /* cmovcc */
        *dir = WATCH_READ;
        return osize(p);
    }
    if (op >= 0x90 && op <= 0x9f) {             /* setcc */
        *dir = WATCH_WRITE;
        return 1;
    }
    switch (op) {
    case 0x10: case 0x11:                       /* movups/movupd/movss/movsd */
        *dir = op == 0x10 ? WATCH_READ : WATCH_WRITE;
        return p->rep ? 4 : p->repne ? 8 : 16;
    case 0x12: case 0x13: case 0x16: case 0x17: /* movlps/movhps/movlpd/movhpd */
        *dir = op & 1 ? WATCH_WRITE : WATCH_READ;
        return 8;
    case 0x28: case 0x29:                       /* movaps/movapd */
        *dir = op == 0x28 ? WATCH_READ : WATCH_WRITE;
        return 16;
    case 0x2e: case 0x2f:                       /* ucomiss/comiss(d) */
        *dir = WATCH_READ;
        return p->opsize ? 8 : 4;
    case 0x6e:                                  /* movd/movq xmm, r/m */
        *dir = WATCH_READ;
        return p->rex_w ? 8 : 4;
    case 0x7e:
        if (p->rep) {                           /* movq xmm, m64 */
            *dir = WATCH_READ;
            return 8;
        }
        *dir = WATCH_WRITE;                     /* movd/movq r/m, xmm */
        return p->rex_w ? 8 : 4;
    case 0x6f: case 0x7f:                       /* movq mm / movdqa / movdqu */
        *dir = op == 0x6f ? WATCH_READ : WATCH_WRITE;
        return p->opsize || p->rep ? 16 : 8;
    case 0xd6:                                  /* movq m64, xmm */
        *dir = WATCH_WRITE;
        return 8;
    case 0xaf: *dir = WATCH_READ; return osize(p);              /* imul r, r/m */
    case 0xb0: case 0xb1: *dir = WATCH_RMW; return op == 0xb0 ? 1 : osize(p);    /* cmpxchg */
    case 0xc0: case 0xc1: *dir = WATCH_RMW; return op == 0xc0 ? 1 : osize(p);    /* xadd */
    case 0xb6: case 0xbe: *dir = WATCH_READ; return 1;          /* movzx/movsx r, m8 */
    case 0xb7: case 0xbf: *dir = WATCH_READ; return 2;          /* movzx/movsx r, m16 */
    case 0xa3: *dir = WATCH_READ; return osize(p);              /* bt */
    case 0xab: case 0xb3: case 0xbb: *dir = WATCH_RMW; return osize(p);          /* bts btr btc */
    case 0xc3: *dir = WATCH_WRITE; return p->rex_w ? 8 : 4;     /* movnti */
    default:
        return 0;
    }
}

unsigned tg_watch_decode(const uint8_t *pc, enum watch_dir *dir)
{
    struct prefixes p = { false, false, false, false };
    *dir = WATCH_UNKNOWN;
    for (int i = 0; i < 14; i++, pc++) {
        switch (*pc) {
        case 0x66: p.opsize = true; continue;
        case 0xf3: p.rep = true; continue;
        case 0xf2: p.repne = true; continue;
        case 0xf0: case 0x2e: case 0x3e: case 0x26: case 0x36: case 0x64: case 0x65: case 0x67:
            continue;           /* lock, segments, address size */
        default:
            break;
        }
        break;
    }
    if ((*pc & 0xf0) == 0x40) {                 /* REX */
        p.rex_w = (*pc & 8) != 0;
        pc++;
    }
    uint8_t op = pc[0];
    switch (op) {
    case 0xa4: *dir = WATCH_RMW; return 1;      /* movsb: reads one place, writes another */
    case 0xa5: *dir = WATCH_RMW; return osize(&p);
    case 0xaa: *dir = WATCH_WRITE; return 1;    /* stos */
    case 0xab: *dir = WATCH_WRITE; return osize(&p);
    case 0xac: *dir = WATCH_READ; return 1;     /* lods */
    case 0xad: *dir = WATCH_READ; return osize(&p);
    case 0xa6: *dir = WATCH_READ; return 1;     /* cmps */
    case 0xa7: *dir = WATCH_READ; return osize(&p);
    case 0xae: *dir = WATCH_READ; return 1;     /* scas */
    case 0xaf: *dir = WATCH_READ; return osize(&p);
    case 0x0f:
        return two_byte(pc[1], &p, dir);
    case 0xc4: case 0xc5: case 0x62:
        return 0;               /* VEX / EVEX */
    default:
        return one_byte(op, pc[1], &p, dir);
    }
}

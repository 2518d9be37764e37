/* Two files named dup.c: their frames must say one/dup.c and two/dup.c. */
#include "target.h"

void dup_one(void)
{
    record("dup_one", __LINE__);
}

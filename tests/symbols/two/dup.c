/* Two files named dup.c: their frames must say one/dup.c and two/dup.c. */
#include "target.h"

void dup_two(void)
{
    record("dup_two", __LINE__);
}

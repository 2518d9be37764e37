/* Shared by the symbols test target's files: report a return address. */
#ifndef SYMTARGET_H
#define SYMTARGET_H

/* Prints "ret KEY ADDRESS LINE": ADDRESS is the return address of this
 * call, LINE the line the caller passes (its own __LINE__). */
void record(const char *key, int line);

void dup_one(void);
void dup_two(void);

#endif

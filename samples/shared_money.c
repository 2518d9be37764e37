/* shared_money - seeds/000 线程理论 › 线程间的数据共享 (threads share data)
 *
 * money = 100; a thread sets money = 666 and prints it. Main prints money
 * right after start(), before join(), then again after join(). The first
 * read in main is not ordered with the thread's write by anything (start()
 * comes before both, join() after both): a data race, which is why main may
 * print 100 or 666 there.
 *
 * verdict: race
 * args: none
 */
#include "common.h"

int money = 100;

static void *task(void *arg)
{
    (void)arg;
    money = 666;
    printf("%d\n", money);
    return NULL;
}

int main(int argc, char **argv)
{
    pthread_t t;

    sample_init(argc, argv, 0, "");
    start_thread(&t, task, NULL, "Thread-1");
    printf("%d\n", money); /* races with money = 666 */
    join_thread(t);
    printf("%d\n", money);
    return 0;
}

// verdict: lock-order/cycle
// lock-names: ^mutex 0x[0-9a-f]+ initialised at open_account account_transfer\.c:\d+$
// The classic transfer(from, to): both accounts' locks are made by the same
// code, so both are "mutex initialised at open_account ...": the report must
// still tell them apart. pay and refund run one after the other (no hang).
#include <pthread.h>
#include <stdlib.h>

struct account {
    pthread_mutex_t lock;
    long balance;
};

static struct account *open_account(long balance)
{
    struct account *a = calloc(1, sizeof *a);
    if (!a)
        abort();
    pthread_mutex_init(&a->lock, NULL);
    a->balance = balance;
    return a;
}

static struct account *alice, *bob;

static void transfer(struct account *from, struct account *to, long amount)
{
    pthread_mutex_lock(&from->lock);
    pthread_mutex_lock(&to->lock);
    from->balance -= amount;
    to->balance += amount;
    pthread_mutex_unlock(&to->lock);
    pthread_mutex_unlock(&from->lock);
}

static void *pay(void *arg) { transfer(alice, bob, 10); return arg; }
static void *refund(void *arg) { transfer(bob, alice, 10); return arg; }

int main(void)
{
    alice = open_account(100);
    bob = open_account(100);
    pthread_t t;
    pthread_create(&t, NULL, pay, NULL);
    pthread_join(t, NULL);
    pthread_create(&t, NULL, refund, NULL);
    pthread_join(t, NULL);
    return alice->balance + bob->balance != 200;
}

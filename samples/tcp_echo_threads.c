/* tcp_echo_threads - seeds/000 线程理论 › TCP服务端实现并发效果 (a concurrent TCP server)
 *
 * The server listens on 127.0.0.1 (backlog 5) and starts one thread per
 * accepted connection; talk() sends back each chunk it receives,
 * upper-cased. The note's client reads lines from input(); here each
 * client is a thread that sends a few fixed lines, prints each reply and
 * checks that it is the line upper-cased. Unlike the note, the server
 * binds port 0 (an ephemeral port, passed to the clients), accepts one
 * connection per client and then stops, and talk() ends when the client
 * closes (the `if not data: break` of seeds/002's version), so the program
 * ends by itself. Exit status 1 if a reply is wrong.
 *
 * verdict: clean
 * args: [clients] - how many client threads connect at once (default 2)
 */
#include "common.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

struct client {
    pthread_t tid;
    in_port_t port; /* network order */
    int failed;
};

static void set_timeout(int fd, int seconds) /* a safety net, never reached */
{
    struct timeval tv = { seconds, 0 };

    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

static void *talk(void *arg)
{
    int conn = (int)(intptr_t)arg;
    char data[1024];
    ssize_t n;

    while ((n = recv(conn, data, sizeof data, 0)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            data[i] = (char)toupper((unsigned char)data[i]);
        if (send(conn, data, (size_t)n, MSG_NOSIGNAL) != n) {
            perror("send"); /* except Exception as e: print(e) */
            break;
        }
    }
    if (n < 0)
        perror("recv");
    close(conn);
    return NULL;
}

static int send_line(int fd, const char *msg, char *reply, size_t len)
{
    size_t got = 0;

    if (send(fd, msg, len, MSG_NOSIGNAL) != (ssize_t)len)
        return -1;
    while (got < len) { /* TCP may split the echo */
        ssize_t n = recv(fd, reply + got, len - got, 0);

        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    reply[len] = '\0';
    return 0;
}

static void *client_main(void *arg)
{
    static const char *const msgs[] = { "hello", "how are you", "bye" };
    struct client *c = arg;
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = c->port };
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        perror("connect");
        c->failed = 1;
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    set_timeout(fd, 5);
    for (size_t i = 0; i < sizeof msgs / sizeof msgs[0]; i++) {
        char reply[64], upper[64];
        size_t len = strlen(msgs[i]);

        for (size_t k = 0; k <= len; k++)
            upper[k] = (char)toupper((unsigned char)msgs[i][k]);
        if (send_line(fd, msgs[i], reply, len) != 0 || strcmp(reply, upper) != 0) {
            fprintf(stderr, "%s: no echo of \"%s\"\n", thread_name, msgs[i]);
            c->failed = 1;
            break;
        }
        printf("%s: %s\n", thread_name, reply);
    }
    close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = 0 };
    socklen_t addrlen = sizeof addr;
    struct client *clients;
    pthread_t *talkers;
    int server, failed = 0;
    long nclients;

    sample_init(argc, argv, 1, "[clients]");
    nclients = arg_long(argc, argv, 1, 2, 1, 100);

    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    server = socket(AF_INET, SOCK_STREAM, 0);
    if (server < 0 || bind(server, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        listen(server, 5) != 0 || getsockname(server, (struct sockaddr *)&addr, &addrlen) != 0) {
        perror("server");
        return 1;
    }
    set_timeout(server, 5); /* accept() too */

    clients = calloc((size_t)nclients, sizeof *clients);
    talkers = calloc((size_t)nclients, sizeof *talkers);
    if (clients == NULL || talkers == NULL)
        return 1;
    for (long i = 0; i < nclients; i++) {
        clients[i].port = addr.sin_port;
        start_thread(&clients[i].tid, client_main, &clients[i], "client-%ld", i + 1);
    }

    for (long i = 0; i < nclients; i++) {
        int conn = accept(server, NULL, NULL);

        if (conn < 0) {
            perror("accept");
            return 1;
        }
        start_thread(&talkers[i], talk, (void *)(intptr_t)conn, "Thread-%ld", i + 1);
    }
    for (long i = 0; i < nclients; i++) {
        join_thread(clients[i].tid);
        join_thread(talkers[i]);
        failed |= clients[i].failed;
    }
    close(server);
    free(clients);
    free(talkers);
    return failed;
}

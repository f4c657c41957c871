/*
 * churn — connection churn load generator for `deno task bench` (the one scenario
 * ../shared/loadgen does not cover). One thread, epoll, non-blocking sockets.
 *
 *   churn --port P --dialect sb|nats|raw --sessions S --concurrency K [--timeout T] [--pid PID]
 *
 * K sessions are in flight at a time until S have been started. One session is:
 *   sb    connect, read HELLO, send a unique name, read WELCOME, send one line and `:quit`,
 *         read `BYE` (the server has handled everything), close.
 *   nats  connect, send CONNECT + PUB + PING, read PONG (the server has handled the PUB), close.
 *   raw   connect, send one line, half-close, read until the server closes (a plain line relay
 *         has no reply to wait for; closing after the client's EOF proves it read the line).
 * Lines relayed from other sessions (MSG, JOIN, LEAVE …) are read and ignored; a server PING is
 * answered. Prints one human line and one JSON line; exit status 0 only if every session ended
 * as expected.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { D_SB, D_NATS, D_RAW };
enum { S_CONNECTING, S_HELLO, S_WELCOME, S_BYE, S_PONG, S_EOF };

typedef struct {
    int fd;
    int state;
    long session;
    uint64_t t0;
    size_t len;
    const char *why;
    char in[8192];
} slot_t;

static int g_argc;
static char **g_argv;
static int ep;
static int dialect;
static struct sockaddr_in addr;
static long started, done, failed;
static uint64_t *lat;
static int err_printed;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static const char *opt_str(const char *name, const char *def) {
    for (int i = 2; i + 1 < g_argc; i++)
        if (g_argv[i][0] == '-' && g_argv[i][1] == '-' && !strcmp(g_argv[i] + 2, name)) return g_argv[i + 1];
    return def;
}

static double opt_num(const char *name, double def) {
    const char *s = opt_str(name, NULL);
    return s ? atof(s) : def;
}

static double cpu_seconds(long pid) {
    if (pid == 0) {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        return ru.ru_utime.tv_sec + ru.ru_stime.tv_sec + (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
    }
    if (pid < 0) return -1;
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void fail_slot(slot_t *s, const char *why) {
    if (err_printed++ < 5) fprintf(stderr, "churn: session %ld: %s\n", s->session, why);
    failed++;
}

static int send_all(slot_t *s, const char *p, size_t n) {
    /* Every message here is far below the socket buffer: one write takes it whole. */
    ssize_t w = send(s->fd, p, n, MSG_NOSIGNAL);
    return w == (ssize_t)n ? 0 : -1;
}

static int start_session(slot_t *s) {
    s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0) return -1;
    int one = 1;
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    s->session = started++;
    s->len = 0;
    s->why = NULL;
    s->t0 = now_ns();
    s->state = S_CONNECTING;
    int r = connect(s->fd, (struct sockaddr *)&addr, sizeof addr);
    if (r < 0 && errno != EINPROGRESS) {
        close(s->fd);
        s->fd = -1;
        fail_slot(s, strerror(errno));
        return -1;
    }
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = s};
    epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev);
    return 0;
}

static void end_session(slot_t *s, int ok) {
    epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
    close(s->fd);
    s->fd = -1;
    if (ok) {
        lat[done++] = now_ns() - s->t0;
    }
}

static int on_connected(slot_t *s) {
    static const char line[] = "hello from churn\n";
    static const char nats[] =
        "CONNECT {\"verbose\":false,\"pedantic\":false}\r\nPUB churn 16\r\nhello from churn\r\nPING\r\n";
    int err = 0;
    socklen_t el = sizeof err;
    getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &el);
    if (err) {
        s->why = strerror(err);
        return -1;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = s};
    epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
    if (dialect == D_RAW) {
        /* No reply to wait for: half-close, and the server closing its side proves it read all. */
        if (send_all(s, line, sizeof line - 1) < 0) return -1;
        shutdown(s->fd, SHUT_WR);
        s->state = S_EOF;
        return 0;
    }
    if (dialect == D_NATS) {
        if (send_all(s, nats, sizeof nats - 1) < 0) return -1;
        s->state = S_PONG;
        return 0;
    }
    s->state = S_HELLO;
    return 0;
}

static int starts_with(const char *p, size_t n, const char *pfx) {
    size_t k = strlen(pfx);
    return n >= k && memcmp(p, pfx, k) == 0;
}

/* Handles one complete line; returns 1 when the session is over, -1 on failure. */
static int on_line(slot_t *s, const char *p, size_t n) {
    if (n > 0 && p[n - 1] == '\r') n--;
    if (dialect == D_RAW) return 0;
    if (dialect == D_NATS) {
        if (n == 4 && !memcmp(p, "PING", 4)) return send_all(s, "PONG\r\n", 6);
        if (starts_with(p, n, "-ERR")) return -1;
        if (n == 4 && !memcmp(p, "PONG", 4) && s->state == S_PONG) return 1;
        return 0;
    }
    if (n == 4 && !memcmp(p, "PING", 4)) return send_all(s, ":pong\n", 6);
    switch (s->state) {
    case S_HELLO:
        if (starts_with(p, n, "HELLO ")) {
            char name[40];
            int k = snprintf(name, sizeof name, "c%ld\n", s->session);
            s->state = S_WELCOME;
            return send_all(s, name, (size_t)k);
        }
        if (starts_with(p, n, "ERR ")) return -1;
        return 0;
    case S_WELCOME:
        if (starts_with(p, n, "WELCOME ")) {
            static const char rest[] = "hello from churn\n:quit\n";
            s->state = S_BYE;
            return send_all(s, rest, sizeof rest - 1);
        }
        if (starts_with(p, n, "ERR ")) return -1;
        return 0;
    case S_BYE:
        if (starts_with(p, n, "BYE quit")) return 1;
        if (starts_with(p, n, "BYE ")) return -1;
        return 0;
    }
    return 0;
}

/* Reads what is there and handles complete lines; returns 1 done, 0 continue, -1 failure. */
static int on_readable(slot_t *s) {
    for (;;) {
        if (s->len == sizeof s->in) s->len = 0; /* an overlong relayed line: drop it */
        ssize_t r = recv(s->fd, s->in + s->len, sizeof s->in - s->len, 0);
        if (r == 0) {
            if (s->state == S_EOF) return 1;
            s->why = "closed by the server";
            return -1;
        }
        if (r < 0) {
            if (errno == EAGAIN || errno == EINTR) return 0;
            s->why = strerror(errno);
            return -1;
        }
        s->len += (size_t)r;
        size_t start = 0;
        char *nl;
        while ((nl = memchr(s->in + start, '\n', s->len - start))) {
            size_t n = (size_t)(nl - (s->in + start));
            int res = on_line(s, s->in + start, n);
            start += n + 1;
            if (res != 0) return res;
        }
        memmove(s->in, s->in + start, s->len - start);
        s->len -= start;
    }
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_us(long n, double p) {
    if (n == 0) return 0;
    long i = (long)(p * (double)(n - 1));
    return (double)lat[i] / 1000.0;
}

int main(int argc, char **argv) {
    g_argc = argc;
    g_argv = argv;
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc < 2 || strcmp(argv[1], "churn")) {
        fprintf(stderr, "usage: churn churn --port P --dialect sb|nats|raw --sessions S --concurrency K "
                        "[--timeout T] [--pid PID] [--host 127.0.0.1]\n");
        return 2;
    }
    const char *host = opt_str("host", "127.0.0.1");
    int port = (int)opt_num("port", 0);
    const char *d = opt_str("dialect", "sb");
    dialect = !strcmp(d, "nats") ? D_NATS : !strcmp(d, "raw") ? D_RAW : D_SB;
    long S = (long)opt_num("sessions", 1000), K = (long)opt_num("concurrency", 16);
    double timeout = opt_num("timeout", 60);
    long pid = (long)opt_num("pid", -1);
    if (port <= 0 || S < 1 || K < 1) {
        fprintf(stderr, "churn: need --port, --sessions>=1, --concurrency>=1\n");
        return 2;
    }
    if (K > S) K = S;
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "churn: --host must be an IPv4 address\n");
        return 2;
    }
    ep = epoll_create1(EPOLL_CLOEXEC);
    lat = calloc((size_t)S, sizeof *lat);
    slot_t *slots = calloc((size_t)K, sizeof *slots);
    double cpu0 = cpu_seconds(0), srv0 = cpu_seconds(pid);
    uint64_t t0 = now_ns();
    for (long i = 0; i < K; i++) {
        slots[i].fd = -1;
        start_session(&slots[i]);
    }
    int timed_out = 0;
    struct epoll_event evs[256];
    while (done + failed < S) {
        if ((now_ns() - t0) / 1e9 > timeout) {
            timed_out = 1;
            break;
        }
        int n = epoll_wait(ep, evs, 256, 100);
        for (int k = 0; k < n; k++) {
            slot_t *s = evs[k].data.ptr;
            if (s->fd < 0) continue;
            int res = 0;
            if (s->state == S_CONNECTING) {
                if (evs[k].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) res = on_connected(s);
            } else if (evs[k].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                res = on_readable(s);
            }
            if (res == 0) continue;
            if (res < 0) fail_slot(s, s->why ? s->why : "the session did not end as expected");
            end_session(s, res > 0);
            while (started < S && start_session(s) < 0) {
            }
        }
    }
    double el = (now_ns() - t0) / 1e9;
    double cpu = cpu_seconds(0) - cpu0, srv = pid > 0 ? cpu_seconds(pid) - srv0 : -1;
    qsort(lat, (size_t)done, sizeof *lat, cmp_u64);
    double rate = el > 0 ? (double)done / el : 0;
    printf("churn dialect=%s sessions=%ld concurrency=%ld: %ld done, %ld failed in %.3f s = %.0f sessions/s; "
           "session us p50=%.0f p99=%.0f; cpu s: churn %.2f server %.2f%s\n",
           d, S, K, done, failed, el, rate, pct_us(done, 0.5), pct_us(done, 0.99), cpu, srv,
           timed_out ? " (TIMED OUT)" : "");
    printf("{\"cmd\":\"churn\",\"dialect\":\"%s\",\"sessions\":%ld,\"concurrency\":%ld,\"done\":%ld,\"failed\":%ld,"
           "\"elapsed_s\":%.4f,\"sessions_per_s\":%.1f,\"lat_p50_us\":%.0f,\"lat_p99_us\":%.0f,"
           "\"cpu_loadgen_s\":%.3f,\"cpu_server_s\":%.3f,\"complete\":%s}\n",
           d, S, K, done, failed, el, rate, pct_us(done, 0.5), pct_us(done, 0.99), cpu, srv,
           done == S && !timed_out ? "true" : "false");
    return done == S && !timed_out ? 0 : 1;
}

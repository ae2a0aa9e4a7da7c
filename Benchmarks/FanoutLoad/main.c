// fanout-load: N concurrent HTTP/1.0 GETs of loopback URLs, read with epoll on one thread.
// With several URLs, client i asks for URL i modulo their number.
//
// Sharecast's own load client for `make bench`: it opens the connections at a bounded rate, reads
// and discards everything, and after a warm-up measures each client's bytes over a window. It
// prints one line: clients, alive, dropped, failed, aggregate MB/s, the slowest client's kB/s and
// time-to-first-byte percentiles, so the same numbers come out for Sharecast and for nginx.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { CONNECTING, SENT, READING, DONE };

struct client {
    int fd;
    int state;
    int failed;
    int dropped;
    double started;
    double first_byte;
    uint64_t bytes;
    uint64_t window_start_bytes;
    uint64_t window_end_bytes;
};

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void usage(void) {
    fprintf(stderr, "usage: fanout-load -c CLIENTS -d SECONDS [-w WARMUP_SECONDS] [-r CONNECTS_PER_SECOND] http://127.0.0.1:PORT/PATH...\n");
    exit(2);
}

int main(int argc, char **argv) {
    int count = 100, duration = 10, warmup = 2, rate = 2000, option;
    while ((option = getopt(argc, argv, "c:d:w:r:")) != -1) {
        switch (option) {
        case 'c': count = atoi(optarg); break;
        case 'd': duration = atoi(optarg); break;
        case 'w': warmup = atoi(optarg); break;
        case 'r': rate = atoi(optarg); break;
        default: usage();
        }
    }
    if (optind >= argc || count <= 0 || duration <= 0 || rate <= 0) usage();
    int targets = argc - optind;
    struct sockaddr_in *addresses = calloc(targets, sizeof *addresses);
    char (*requests)[1400] = calloc(targets, sizeof *requests);
    int *request_lengths = calloc(targets, sizeof *request_lengths);
    for (int t = 0; t < targets; t++) {
        char host[64] = {0}, path[1024] = "/";
        int port = 80;
        if (sscanf(argv[optind + t], "http://%63[^:/]:%d%1023s", host, &port, path) < 2) usage();
        addresses[t] = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons(port)};
        if (inet_pton(AF_INET, host, &addresses[t].sin_addr) != 1) {
            fprintf(stderr, "fanout-load: only numeric loopback addresses are supported, got %s\n", host);
            return 2;
        }
        request_lengths[t] = snprintf(requests[t], sizeof requests[t], "GET %s HTTP/1.0\r\nHost: %s:%d\r\nUser-Agent: fanout-load\r\n\r\n", path, host, port);
    }

    struct client *clients = calloc(count, sizeof *clients);
    int epoll = epoll_create1(0);
    static char buffer[1 << 18];
    double begin = now_seconds();
    int opened = 0;
    double window_start = 0, window_end = 0;
    int window_started = 0;

    for (;;) {
        double now = now_seconds();
        // Open connections at the configured rate.
        int due = (int)((now - begin) * rate) + 1;
        while (opened < count && opened < due) {
            struct client *c = &clients[opened];
            c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
            c->started = now_seconds();
            if (c->fd < 0 || (connect(c->fd, (struct sockaddr *)&addresses[opened % targets], sizeof addresses[0]) < 0 && errno != EINPROGRESS)) {
                c->failed = 1;
                c->state = DONE;
            } else {
                struct epoll_event event = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP, .data.u32 = (uint32_t)opened};
                epoll_ctl(epoll, EPOLL_CTL_ADD, c->fd, &event);
            }
            opened++;
        }
        if (opened == count && !window_started && now - clients[count - 1].started >= warmup) {
            window_started = 1;
            window_start = now;
            for (int i = 0; i < count; i++) clients[i].window_start_bytes = clients[i].bytes;
        }
        if (window_started && now - window_start >= duration) {
            window_end = now;
            for (int i = 0; i < count; i++) clients[i].window_end_bytes = clients[i].bytes;
            break;
        }
        struct epoll_event events[512];
        int ready = epoll_wait(epoll, events, 512, 10);
        for (int e = 0; e < ready; e++) {
            struct client *c = &clients[events[e].data.u32];
            if (c->state == CONNECTING && (events[e].events & EPOLLOUT)) {
                int error = 0;
                socklen_t length = sizeof error;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &error, &length);
                int target = (int)(events[e].data.u32 % (uint32_t)targets);
                if (error != 0 || write(c->fd, requests[target], request_lengths[target]) != request_lengths[target]) {
                    c->failed = 1;
                    c->state = DONE;
                    close(c->fd);
                    continue;
                }
                c->state = SENT;
                struct epoll_event event = {.events = EPOLLIN | EPOLLRDHUP, .data.u32 = events[e].data.u32};
                epoll_ctl(epoll, EPOLL_CTL_MOD, c->fd, &event);
            }
            if (c->state != SENT && c->state != READING) continue;
            if (events[e].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
                for (;;) {
                    ssize_t got = read(c->fd, buffer, sizeof buffer);
                    if (got > 0) {
                        if (c->state == SENT) {
                            c->state = READING;
                            c->first_byte = now_seconds();
                            // A refusal (503, 404) is a failure, not a viewer.
                            if (got < 12 || memcmp(buffer + 9, "200", 3) != 0) c->failed = 1;
                        }
                        c->bytes += (uint64_t)got;
                        continue;
                    }
                    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
                    // End of stream or error: a live stream should never end, so this viewer dropped.
                    if (!c->failed) c->dropped = 1;
                    c->state = DONE;
                    epoll_ctl(epoll, EPOLL_CTL_DEL, c->fd, NULL);
                    close(c->fd);
                    break;
                }
            }
        }
    }

    double seconds = window_end - window_start;
    int alive = 0, dropped = 0, failed = 0, measured = 0;
    double total = 0, slowest = -1;
    double *ttfb = calloc(count, sizeof *ttfb);
    for (int i = 0; i < count; i++) {
        struct client *c = &clients[i];
        if (c->failed) { failed++; continue; }
        if (c->dropped) dropped++;
        else alive++;
        double bytes = (double)(c->window_end_bytes - c->window_start_bytes);
        total += bytes;
        if (!c->dropped) {
            double rate_kBps = bytes / seconds / 1000;
            if (slowest < 0 || rate_kBps < slowest) slowest = rate_kBps;
        }
        if (c->first_byte > 0) ttfb[measured++] = (c->first_byte - c->started) * 1000;
    }
    qsort(ttfb, measured, sizeof *ttfb, compare_doubles);
    double p50 = measured ? ttfb[measured / 2] : -1, p99 = measured ? ttfb[(int)(measured * 0.99)] : -1;
    printf("clients=%d alive=%d dropped=%d failed=%d aggregate_MBps=%.1f slowest_kBps=%.0f ttfb_p50_ms=%.2f ttfb_p99_ms=%.2f\n",
           count, alive, dropped, failed, total / seconds / 1e6, slowest < 0 ? 0 : slowest, p50, p99);
    return 0;
}

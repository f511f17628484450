/* redis_server.h: a real redis-server for tests (header-only).
 *
 *   struct bs_test_redis s;
 *   if (bs_test_redis_start(&s, 0) < 0) ...   // port, dir, url filled in
 *   ... bs_test_redis_kill(&s); bs_test_redis_restart(&s); ...
 *   bs_test_redis_stop(&s);
 *
 * The server binds 127.0.0.1 on a free port, runs in a mkdtemp directory
 * with --save "" and --appendonly no (or yes with appendfsync always, for
 * crash tests), DEBUG enabled, and is waited for until it answers PING
 * (bounded). stop() sends SIGTERM, waits for it and removes the directory;
 * kill() is SIGKILL (a crash); restart() brings it back on the same port
 * and directory. Also bs_test_run_until(): drive a libevent loop until a
 * flag is set or a deadline passes; bs_test_client(): bitsleuth's async
 * client of a server, connected; bs_test_hget_int(): one hash field as a
 * number, read synchronously. */
#ifndef BS_TEST_REDIS_SERVER_H
#define BS_TEST_REDIS_SERVER_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "queue/redis_client.h"

struct bs_test_redis {
	pid_t pid;
	int port;
	int appendonly;
	char dir[256];
	char url[128];
	/* Set before bs_test_redis_start_with (then kept for restarts):
	 * further redis-server arguments (NULL-terminated), or a sentinel
	 * config file to run redis-sentinel with instead. */
	const char *extra[17];
	char sentinel_conf[300];
};

static inline long long
bs_test_now_ms(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (long long)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

static inline void
bs_test_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static inline int
bs_test_free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sa.sin_port = 0;
	socklen_t sl = sizeof(sa);
	int port = -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* 0 once the server answers PING within timeout_ms, else -1. */
static inline int
bs_test_redis_wait(const struct bs_test_redis *s, int timeout_ms)
{
	long long deadline = bs_test_now_ms() + timeout_ms;
	while (bs_test_now_ms() < deadline) {
		struct timeval tv = { 0, 200000 };
		redisContext *c = redisConnectWithTimeout("127.0.0.1", s->port, tv);
		if (c && !c->err) {
			redisSetTimeout(c, tv);
			redisReply *r = redisCommand(c, "PING");
			int ok = r && r->type == REDIS_REPLY_STATUS &&
			    strcmp(r->str, "PONG") == 0;
			if (r)
				freeReplyObject(r);
			redisFree(c);
			if (ok)
				return 0;
		} else if (c) {
			redisFree(c);
		}
		bs_test_sleep_ms(20);
	}
	return -1;
}

static inline int
bs_test_redis_spawn(struct bs_test_redis *s)
{
	char port[16], log[300];
	snprintf(port, sizeof(port), "%d", s->port);
	snprintf(log, sizeof(log), "%s/redis.log", s->dir);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		const char *argv[40];
		int n = 0;
		if (s->sentinel_conf[0]) {
			argv[n++] = "redis-sentinel";
			argv[n++] = s->sentinel_conf;
		} else {
			argv[n++] = "redis-server";
		}
		const char *fixed[] = { "--port", port, "--bind", "127.0.0.1",
		    "--dir", s->dir, "--daemonize", "no", NULL };
		for (int i = 0; fixed[i]; i++)
			argv[n++] = fixed[i];
		if (!s->sentinel_conf[0]) {
			const char *data[] = { "--save", "", "--appendonly",
			    s->appendonly ? "yes" : "no", "--appendfsync", "always",
			    "--enable-debug-command", "yes", NULL };
			for (int i = 0; data[i]; i++)
				argv[n++] = data[i];
		}
		for (int i = 0; i < 16 && s->extra[i]; i++)
			argv[n++] = s->extra[i];
		argv[n] = NULL;
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	s->pid = pid;
	if (bs_test_redis_wait(s, 5000) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		s->pid = 0;
		return -1;
	}
	return 0;
}

/* Starts a server; appendonly != 0 for durable (crash test) mode. */
static inline int
bs_test_redis_start_with(struct bs_test_redis *s, int appendonly);

static inline int
bs_test_redis_start(struct bs_test_redis *s, int appendonly)
{
	memset(s, 0, sizeof(*s));
	return bs_test_redis_start_with(s, appendonly);
}

/* The same with s->extra / s->sentinel_conf already set (the sentinel's
 * config file lives in a directory of the caller's; redis-sentinel
 * rewrites it). */
static inline int
bs_test_redis_start_with(struct bs_test_redis *s, int appendonly)
{
	s->appendonly = appendonly;
	snprintf(s->dir, sizeof(s->dir), "%s/bs-redis-XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(s->dir))
		return -1;
	for (int tries = 0; tries < 5; tries++) {
		s->port = bs_test_free_port();
		snprintf(s->url, sizeof(s->url), "redis://127.0.0.1:%d/0", s->port);
		if (s->port > 0 && bs_test_redis_spawn(s) == 0)
			return 0;
	}
	return -1;
}

/* SIGKILL: the server dies as in a crash (directory kept). */
static inline void
bs_test_redis_kill(struct bs_test_redis *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
}

/* Starts the server again on the same port and directory. */
static inline int
bs_test_redis_restart(struct bs_test_redis *s)
{
	bs_test_redis_kill(s);
	return bs_test_redis_spawn(s);
}

static inline int
bs_test_rm_cb_(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* SIGTERM, wait, remove the directory. */
static inline void
bs_test_redis_stop(struct bs_test_redis *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGTERM);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
	if (s->dir[0])
		nftw(s->dir, bs_test_rm_cb_, 16, FTW_DEPTH | FTW_PHYS);
	s->dir[0] = '\0';
}

/* A synchronous connection to the test server (NULL on failure). */
static inline redisContext *
bs_test_redis_sync(const struct bs_test_redis *s)
{
	struct timeval tv = { 5, 0 };
	redisContext *c = redisConnectWithTimeout("127.0.0.1", s->port, tv);
	if (c && c->err) {
		redisFree(c);
		return NULL;
	}
	if (c)
		redisSetTimeout(c, tv);
	return c;
}

static inline void
bs_test_tick_(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/* Runs base until *flag >= want or timeout_ms passed; returns 0 when the
 * flag got there. A 10 ms tick keeps the loop waking up. */
static inline int
bs_test_run_until(struct event_base *base, const int *flag, int want,
    int timeout_ms)
{
	struct event *tick = event_new(base, -1, EV_PERSIST, bs_test_tick_, NULL);
	struct timeval tv = { 0, 10000 };
	event_add(tick, &tv);
	long long deadline = bs_test_now_ms() + timeout_ms;
	while (*flag < want && bs_test_now_ms() < deadline)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(tick);
	return *flag >= want ? 0 : -1;
}

/* Runs base for ms milliseconds. */
static inline void
bs_test_run_for(struct event_base *base, int ms)
{
	int never = 0;
	(void)bs_test_run_until(base, &never, 1, ms);
}

static inline void
bs_test_count_up_(int up, void *arg)
{
	if (up)
		(*(int *)arg)++;
}

/* bitsleuth's async client (queue/redis_client.h) of s on base, with 2 s
 * timeouts; *ups counts its connects and must outlive it. Waits (3 s at
 * most) for the first connect; NULL when there is none. */
static inline struct bs_redis *
bs_test_client(struct event_base *base, const struct bs_test_redis *s, int *ups)
{
	struct bs_redis_config cfg = { .url = s->url, .password = NULL, .connect_timeout_ms = 2000, .command_timeout_ms = 2000 };
	char err[256];
	int want = *ups + 1;
	struct bs_redis *r = bs_redis_new(base, &cfg, bs_test_count_up_, ups, err,
	    sizeof(err));
	if (!r) {
		fprintf(stderr, "cannot create the redis client: %s\n", err);
		return NULL;
	}
	if (bs_test_run_until(base, ups, want, 3000) != 0) {
		fprintf(stderr, "the redis client did not connect to %s\n", s->url);
		bs_redis_free(r);
		return NULL;
	}
	return r;
}

/* HGET key field as a number; 0 when missing. */
static inline long long
bs_test_hget_int(redisContext *c, const char *key, const char *field)
{
	redisReply *r = redisCommand(c, "HGET %s %s", key, field);
	long long v = r && r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : 0;
	freeReplyObject(r);
	return v;
}

#endif

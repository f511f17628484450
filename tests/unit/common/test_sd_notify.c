/* test_sd_notify: the NOTIFY_SOCKET address forms (path, @abstract, bad
 * ones) and real datagrams received on a unix socket of each kind, as
 * systemd would receive them; nothing sent while the variable is unset. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "../test.h"
#include "common/sd_notify.h"

/* A datagram socket bound where NOTIFY_SOCKET = name points. */
static int
bind_notify(const char *name)
{
	struct sockaddr_un sun;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	int n = bs_sd_notify_addr(name, sun.sun_path, sizeof(sun.sun_path));
	if (n < 0)
		return -1;
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	if (fd < 0)
		return -1;
	struct timeval tv = { 2, 0 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (bind(fd, (struct sockaddr *)&sun,
	    (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
recv_text(int fd, char *out, size_t outlen)
{
	ssize_t n = recv(fd, out, outlen - 1, 0);
	if (n < 0)
		return -1;
	out[n] = '\0';
	return 0;
}

int
main(void)
{
	char err[256], buf[256];

	TEST("addresses: a path, an abstract name, and what is neither") {
		char out[108];
		CHECK(bs_sd_notify_addr("/run/systemd/notify", out, sizeof(out)) == 19);
		CHECK(memcmp(out, "/run/systemd/notify", 19) == 0);
		CHECK(bs_sd_notify_addr("@bitsleuth/x", out, sizeof(out)) == 12);
		CHECK(out[0] == '\0' && memcmp(out + 1, "bitsleuth/x", 11) == 0);
		CHECK(bs_sd_notify_addr("", out, sizeof(out)) == -1);
		CHECK(bs_sd_notify_addr("@", out, sizeof(out)) == -1);
		CHECK(bs_sd_notify_addr("relative/path", out, sizeof(out)) == -1);
		CHECK(bs_sd_notify_addr(NULL, out, sizeof(out)) == -1);
		char longp[200];
		memset(longp, 'a', sizeof(longp) - 1);
		longp[0] = '/';
		longp[sizeof(longp) - 1] = '\0';
		CHECK(bs_sd_notify_addr(longp, out, sizeof(out)) == -1);
	}

	TEST("unset or empty NOTIFY_SOCKET: nothing sent, not an error") {
		unsetenv("NOTIFY_SOCKET");
		CHECK(bs_sd_notify("READY=1", err, sizeof(err)) == 0);
		setenv("NOTIFY_SOCKET", "", 1);
		CHECK(bs_sd_notify("READY=1", err, sizeof(err)) == 0);
	}

	TEST("a path socket receives the datagram as sent") {
		char dir[] = "/tmp/bs-sdn-XXXXXX";
		CHECK(mkdtemp(dir) != NULL);
		char path[128];
		snprintf(path, sizeof(path), "%s/notify", dir);
		int fd = bind_notify(path);
		CHECK(fd >= 0);
		setenv("NOTIFY_SOCKET", path, 1);
		CHECK(bs_sd_notify("READY=1\nSTATUS=ready", err, sizeof(err)) == 1);
		CHECK(recv_text(fd, buf, sizeof(buf)) == 0);
		CHECK_STR(buf, "READY=1\nSTATUS=ready");
		CHECK(bs_sd_notify("STOPPING=1", err, sizeof(err)) == 1);
		CHECK(recv_text(fd, buf, sizeof(buf)) == 0);
		CHECK_STR(buf, "STOPPING=1");
		close(fd);
		unlink(path);
		/* Nobody bound there any more: an error naming the socket. */
		CHECK(bs_sd_notify("READY=1", err, sizeof(err)) == -1);
		CHECK(strstr(err, path) != NULL);
		rmdir(dir);
	}

	TEST("an abstract socket (@name) receives it too") {
		char name[64];
		snprintf(name, sizeof(name), "@bs-test-sdn-%ld", (long)getpid());
		int fd = bind_notify(name);
		CHECK(fd >= 0);
		setenv("NOTIFY_SOCKET", name, 1);
		CHECK(bs_sd_notify("READY=1", err, sizeof(err)) == 1);
		CHECK(recv_text(fd, buf, sizeof(buf)) == 0);
		CHECK_STR(buf, "READY=1");
		close(fd);
	}

	TEST("a value that is no socket address is an error") {
		setenv("NOTIFY_SOCKET", "not-a-socket", 1);
		CHECK(bs_sd_notify("READY=1", err, sizeof(err)) == -1);
		CHECK(strstr(err, "not-a-socket") != NULL);
		unsetenv("NOTIFY_SOCKET");
	}
	return TEST_REPORT();
}

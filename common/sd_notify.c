/* sd_notify: READY=1 / STOPPING=1 / STATUS= datagrams to $NOTIFY_SOCKET
 * (see sd_notify.h). The protocol is systemd's (sd_notify(3), "Notes"):
 * SOCK_DGRAM on AF_UNIX, newline-separated assignments, no reply. The
 * send does not block: a full socket buffer loses the datagram, which is
 * reported, never waited on (the loop must not stall on systemd). */
#include "common/sd_notify.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int
bs_sd_notify_addr(const char *value, char *out, size_t outlen)
{
	struct sockaddr_un sun;
	size_t n = value ? strlen(value) : 0;
	if (n < 2 || n > sizeof(sun.sun_path) || n > outlen ||
	    (value[0] != '/' && value[0] != '@'))
		return -1;
	memcpy(out, value, n);
	if (out[0] == '@')
		out[0] = '\0';      /* abstract: no NUL terminator counted */
	else if (n == sizeof(sun.sun_path))
		return -1;          /* a path needs room for its NUL */
	return (int)n;
}

int
bs_sd_notify(const char *state, char *err, size_t errlen)
{
	const char *v = getenv("NOTIFY_SOCKET");
	if (!v || !*v)
		return 0;
	struct sockaddr_un sun;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	int n = bs_sd_notify_addr(v, sun.sun_path, sizeof(sun.sun_path));
	if (n < 0) {
		snprintf(err, errlen, "NOTIFY_SOCKET '%.*s' is not a unix socket "
		    "path or @abstract name", 120, v);
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errlen, "cannot notify systemd: socket: %s",
		    strerror(errno));
		return -1;
	}
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    (size_t)n);
	ssize_t w;
	do
		w = sendto(fd, state, strlen(state), MSG_NOSIGNAL,
		    (const struct sockaddr *)&sun, len);
	while (w < 0 && errno == EINTR);
	int e = errno;
	close(fd);
	if (w < 0) {
		snprintf(err, errlen, "cannot notify systemd at %.*s: %s", 120, v,
		    strerror(e));
		return -1;
	}
	return 1;
}

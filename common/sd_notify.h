/* sd_notify: systemd's readiness protocol (sd_notify(3)) without
 * libsystemd: one datagram of "KEY=value" lines to the unix socket named
 * by $NOTIFY_SOCKET (a path, or "@name" for the abstract namespace).
 *
 * bitsleuth sends READY=1 once it listens and Redis is up (and, with a
 * worker, once it consumes), STOPPING=1 when it starts draining, and
 * STATUS=... lines saying what it waits for (cmd/process.c), so that a
 * unit with Type=notify starts its dependants only once bitsleuth is
 * useful. Nothing is sent when NOTIFY_SOCKET is unset. No state: each call
 * opens, sends and closes its own socket. Any thread. */
#ifndef BS_SD_NOTIFY_H
#define BS_SD_NOTIFY_H

#include <stddef.h>

/* Sends state (e.g. "READY=1\nSTATUS=serving") to $NOTIFY_SOCKET.
 * Returns 1 when sent, 0 when NOTIFY_SOCKET is unset or empty, -1 with a
 * reason (the address and strerror) in err when it could not be sent. */
int bs_sd_notify(const char *state, char *err, size_t errlen);

/* The sockaddr_un path bytes for a NOTIFY_SOCKET value: a leading '@'
 * becomes the NUL of the abstract namespace. Writes at most outlen bytes
 * to out and returns how many (the length to pass after sun_family), or
 * -1 when the value is empty, too long, or neither a path ("/...") nor
 * abstract ("@..."). Pure, for the unit test. */
int bs_sd_notify_addr(const char *value, char *out, size_t outlen);

#endif

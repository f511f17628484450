/* floor: the cheapest HTTP receiver libevent's evhttp allows, the lower
 * bound of what an ingest server can cost on this machine. It reads the
 * whole body (evhttp does), touches every byte of it (a sum, so the read is
 * not optimised away) and answers 202 with a small JSON body. No HMAC, no
 * JSON parse, no Redis.
 *
 *   cc -O2 -o floor bench/floor.c $(pkg-config --cflags --libs libevent)
 *   floor PORT        listens on 127.0.0.1:PORT; SIGTERM/SIGINT stop it
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char reply[] = "{\"status\":\"queued\"}";
static unsigned long long sink;

static void
on_request(struct evhttp_request *req, void *arg)
{
	(void)arg;
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t n = evbuffer_get_length(in);
	unsigned char *p = evbuffer_pullup(in, -1);
	unsigned long long s = 0;
	for (size_t i = 0; i < n; i += 64)
		s += p[i];
	sink += s;
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	evbuffer_add_reference(out, reply, sizeof(reply) - 1, NULL, NULL);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evhttp_send_reply(req, evhttp_request_get_command(req) == EVHTTP_REQ_GET ?
	    200 : 202, "Accepted", NULL);
}

static void
on_signal(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopexit(arg, NULL);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: floor PORT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	struct event_base *base = event_base_new();
	struct evhttp *http = evhttp_new(base);
	if (!base || !http)
		return 1;
	evhttp_set_max_body_size(http, 16 << 20);
	evhttp_set_gencb(http, on_request, NULL);
	if (evhttp_bind_socket(http, "127.0.0.1", (ev_uint16_t)strtol(argv[1], NULL, 10)) != 0) {
		fprintf(stderr, "floor: cannot bind 127.0.0.1:%s\n", argv[1]);
		return 1;
	}
	struct event *t = evsignal_new(base, SIGTERM, on_signal, base);
	struct event *i = evsignal_new(base, SIGINT, on_signal, base);
	event_add(t, NULL);
	event_add(i, NULL);
	event_base_dispatch(base);
	fprintf(stderr, "floor: stopped (%llu)\n", sink);
	event_free(t);
	event_free(i);
	evhttp_free(http);
	event_base_free(base);
	return 0;
}

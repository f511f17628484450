/* sleuth_fast: a loopback Sleuth that answers register_deploy at once, for
 * the end-to-end benchmark. What bitsleuth's worker calls (deploy/sleuth.c
 * bs_sleuth_url, worker/task.c task_start):
 *
 *   POST {sleuth.base_url}/api/1/deployments/{org}/{deployment}/register_deploy
 *   Authorization: Bearer {token}
 *   a JSON body; any 2xx is success (bs_sleuth_classify)
 *
 * A POST to such a path with the expected token gets 200 {"success":true}
 * and is counted; a wrong token gets 401, another path 404 (both counted as
 * bad). GET /count answers "ok N bad M bytes B"; SIGUSR1 prints the same
 * line to stderr.
 *
 *   cc -O2 -o sleuth_fast bench/sleuth_fast.c $(pkg-config --cflags --libs libevent)
 *   sleuth_fast PORT TOKEN
 */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned long long n_ok, n_bad, n_bytes;
static char auth_want[1100];

static void
count_line(char *out, size_t len)
{
	snprintf(out, len, "ok %llu bad %llu bytes %llu\n", n_ok, n_bad, n_bytes);
}

static int
is_register_deploy(const char *uri)
{
	static const char pre[] = "/api/1/deployments/";
	static const char suf[] = "/register_deploy";
	size_t n = strcspn(uri, "?");
	if (n < sizeof(pre) - 1 + 3 + sizeof(suf) - 1 ||
	    strncmp(uri, pre, sizeof(pre) - 1) != 0 ||
	    strncmp(uri + n - (sizeof(suf) - 1), suf, sizeof(suf) - 1) != 0)
		return 0;
	/* org/deployment: exactly one '/' between prefix and suffix. */
	const char *a = uri + sizeof(pre) - 1, *b = uri + n - (sizeof(suf) - 1);
	int slashes = 0;
	for (const char *p = a; p < b; p++)
		slashes += *p == '/';
	return slashes == 1;
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	(void)arg;
	const char *uri = evhttp_request_get_uri(req);
	struct evbuffer *out = evhttp_request_get_output_buffer(req);
	struct evkeyvalq *oh = evhttp_request_get_output_headers(req);
	evhttp_add_header(oh, "Content-Type", "application/json");
	if (evhttp_request_get_command(req) == EVHTTP_REQ_GET) {
		char line[128];
		count_line(line, sizeof(line));
		evbuffer_add(out, line, strlen(line));
		evhttp_send_reply(req, 200, "OK", NULL);
		return;
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST ||
	    !is_register_deploy(uri)) {
		n_bad++;
		evbuffer_add_printf(out, "{\"error\":\"not found\"}");
		evhttp_send_reply(req, 404, "Not Found", NULL);
		return;
	}
	const char *auth = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization");
	if (!auth || strcmp(auth, auth_want) != 0) {
		n_bad++;
		evbuffer_add_printf(out, "{\"error\":\"unauthorized\"}");
		evhttp_send_reply(req, 401, "Unauthorized", NULL);
		return;
	}
	n_ok++;
	n_bytes += evbuffer_get_length(evhttp_request_get_input_buffer(req));
	evbuffer_add_printf(out, "{\"success\":true}");
	evhttp_send_reply(req, 200, "OK", NULL);
}

static void
on_signal(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	if (fd == SIGUSR1) {
		char line[128];
		count_line(line, sizeof(line));
		fputs(line, stderr);
		return;
	}
	event_base_loopexit(arg, NULL);
}

int
main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: sleuth_fast PORT TOKEN\n");
		return 2;
	}
	snprintf(auth_want, sizeof(auth_want), "Bearer %s", argv[2]);
	signal(SIGPIPE, SIG_IGN);
	struct event_base *base = event_base_new();
	struct evhttp *http = evhttp_new(base);
	if (!base || !http)
		return 1;
	evhttp_set_max_body_size(http, 16 << 20);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
	evhttp_set_gencb(http, on_request, NULL);
	if (evhttp_bind_socket(http, "127.0.0.1", (ev_uint16_t)strtol(argv[1], NULL, 10)) != 0) {
		fprintf(stderr, "sleuth_fast: cannot bind 127.0.0.1:%s\n", argv[1]);
		return 1;
	}
	struct event *sig[3];
	int nums[3] = { SIGTERM, SIGINT, SIGUSR1 };
	for (int i = 0; i < 3; i++) {
		sig[i] = evsignal_new(base, nums[i], on_signal, base);
		event_add(sig[i], NULL);
	}
	event_base_dispatch(base);
	char line[128];
	count_line(line, sizeof(line));
	fprintf(stderr, "sleuth_fast: stopped: %s", line);
	for (int i = 0; i < 3; i++)
		event_free(sig[i]);
	evhttp_free(http);
	event_base_free(base);
	return 0;
}

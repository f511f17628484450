/* test_http_client: bs_http against a real evhttp server on 127.0.0.1
 * (port 0) running in the same event_base. Every callback is counted: each
 * request must be answered exactly once, never before bs_http_post returns. */
#include "deploy/http_client.h"
#include "tests/unit/test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#define MAX_HELD 64

struct server {
	struct event_base *base;
	struct evhttp *http;
	int port;
	int hits;
	char method[16];
	char path[256];
	char auth[256];
	char ctype[256];
	char ua[256];
	int saw_expect;
	char body[256];
	size_t body_len;
	struct evhttp_request *held[MAX_HELD];
	int n_held;
};

struct call {
	int calls;
	int returned;        /* bs_http_post had returned when cb ran */
	long status;
	char body[256];
	size_t body_len;
	int body_all_x;
	long retry_after;
	int curl_code;
	char error[512];
};

static void
copy_header(struct evkeyvalq *h, const char *name, char *out, size_t outlen)
{
	const char *v = evhttp_find_header(h, name);
	snprintf(out, outlen, "%s", v ? v : "");
}

static void
on_request(struct evhttp_request *req, void *arg)
{
	struct server *s = arg;
	const char *uri = evhttp_request_get_uri(req);
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	struct evbuffer *reply = evbuffer_new();

	s->hits++;
	snprintf(s->method, sizeof(s->method), "%s",
	    evhttp_request_get_command(req) == EVHTTP_REQ_POST ? "POST" : "other");
	snprintf(s->path, sizeof(s->path), "%s", uri);
	copy_header(in, "Authorization", s->auth, sizeof(s->auth));
	copy_header(in, "Content-Type", s->ctype, sizeof(s->ctype));
	copy_header(in, "User-Agent", s->ua, sizeof(s->ua));
	s->saw_expect = evhttp_find_header(in, "Expect") != NULL;
	struct evbuffer *b = evhttp_request_get_input_buffer(req);
	s->body_len = evbuffer_get_length(b);
	evbuffer_copyout(b, s->body, sizeof(s->body));

	if (strcmp(uri, "/hang") == 0) {
		if (s->n_held < MAX_HELD)
			s->held[s->n_held++] = req;
		evbuffer_free(reply);
		return;
	}
	if (strcmp(uri, "/busy") == 0) {
		evhttp_add_header(out, "Retry-After", "7");
		evbuffer_add_printf(reply, "later");
		evhttp_send_reply(req, 503, "Busy", reply);
	} else if (strcmp(uri, "/date") == 0) {
		char date[64];
		time_t when = time(NULL) + 30;
		struct tm tm;
		gmtime_r(&when, &tm);
		strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
		evhttp_add_header(out, "Retry-After", date);
		evhttp_send_reply(req, 429, "Slow down", reply);
	} else if (strcmp(uri, "/big") == 0) {
		static char chunk[65536];
		memset(chunk, 'x', sizeof(chunk));
		for (int i = 0; i < 16; i++)
			evbuffer_add(reply, chunk, sizeof(chunk));  /* 1 MiB */
		evhttp_send_reply(req, 200, "OK", reply);
	} else if (strncmp(uri, "/echo/", 6) == 0) {
		evbuffer_add_printf(reply, "%s", uri);
		evhttp_send_reply(req, 200, "OK", reply);
	} else if (strcmp(uri, "/bad") == 0) {
		evbuffer_add_printf(reply, "sha not found");
		evhttp_send_reply(req, 400, "Bad Request", reply);
	} else {
		evhttp_add_header(out, "X-Test", "yes");
		evbuffer_add_printf(reply, "Success");
		evhttp_send_reply(req, 200, "OK", reply);
	}
	evbuffer_free(reply);
}

static int
server_start(struct server *s, struct event_base *base)
{
	memset(s, 0, sizeof(*s));
	s->base = base;
	s->http = evhttp_new(base);
	if (!s->http)
		return -1;
	evhttp_set_gencb(s->http, on_request, s);
	struct evhttp_bound_socket *bs =
	    evhttp_bind_socket_with_handle(s->http, "127.0.0.1", 0);
	if (!bs)
		return -1;
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	if (getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sin,
	    &sl) != 0)
		return -1;
	s->port = ntohs(sin.sin_port);
	return 0;
}

static void
server_release_held(struct server *s)
{
	for (int i = 0; i < s->n_held; i++)
		evhttp_send_reply(s->held[i], 200, "OK", NULL);
	s->n_held = 0;
}

static void
server_stop(struct server *s)
{
	server_release_held(s);
	evhttp_free(s->http);
}

static void
on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Runs the loop until *counter >= want or timeout_s passes. */
static int
run_until(struct event_base *base, const int *counter, int want,
    double timeout_s)
{
	struct event *tick = event_new(base, -1, EV_PERSIST, on_tick, NULL);
	struct timeval tv = { 0, 10000 };
	event_add(tick, &tv);
	double end = now_s() + timeout_s;
	while (*counter < want && now_s() < end)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(tick);
	return *counter >= want;
}

static int total_calls;

static void
on_resp(const struct bs_http_response *r, void *arg)
{
	struct call *c = arg;
	total_calls++;
	c->calls++;
	c->status = r->status;
	c->body_len = r->body_len;
	snprintf(c->body, sizeof(c->body), "%s", r->body ? r->body : "(null)");
	c->body_all_x = 1;
	for (size_t i = 0; i < r->body_len; i++)
		if (r->body[i] != 'x')
			c->body_all_x = 0;
	if (r->body && r->body[r->body_len] != '\0')
		c->body_all_x = -1;  /* not NUL-terminated */
	c->retry_after = r->retry_after_s;
	c->curl_code = r->curl_code;
	snprintf(c->error, sizeof(c->error), "%s", r->error ? r->error : "");
}

static char url_buf[2048];

static const char *
url(const struct server *s, const char *path)
{
	snprintf(url_buf, sizeof(url_buf), "http://127.0.0.1:%d%s", s->port, path);
	return url_buf;
}

/* A chain: each callback starts the next request until `left` is 0. */
struct chain {
	struct bs_http *h;
	const struct server *s;
	int left;
	int done;
	int ok;
	int nested_in_flight_ok;
};

static void
on_chain(const struct bs_http_response *r, void *arg)
{
	struct chain *ch = arg;
	ch->done++;
	if (r->status == 200)
		ch->ok++;
	/* our own request no longer counts as in flight */
	if (bs_http_in_flight(ch->h) != 0)
		ch->nested_in_flight_ok = 0;
	if (ch->left-- > 0) {
		struct bs_http_request req = { .url = url(ch->s, "/ok"),
		    .body = "{}", .body_len = 2 };
		bs_http_post(ch->h, &req, on_chain, ch);
	}
}

int
main(void)
{
	/* libevent's debug mode catches event_assign on a pending event, use
	 * after free of events and similar misuse of the loop. */
	event_enable_debug_mode();
	struct event_base *base = event_base_new();
	struct server srv;
	if (!base || server_start(&srv, base) != 0) {
		fprintf(stderr, "cannot start the test server\n");
		return 1;
	}
	struct bs_http *h = bs_http_new(base);
	CHECK(h != NULL);

	TEST("200: method, path, headers and body bytes arrive; answer read") {
		static const char body[] = "{\"sha\":\"abc\"}\0tail";
		const char *hdrs[] = { "Authorization: Bearer tok123",
		    "X-Extra: 1" };
		struct bs_http_request req = {
			.url = url(&srv, "/api/1/deployments/acme/web/register_deploy"),
			.headers = hdrs, .n_headers = 2,
			.body = body, .body_len = sizeof(body) - 1 };
		struct call c = { 0 };
		CHECK_INT(bs_http_post(h, &req, on_resp, &c), 0);
		CHECK_INT(c.calls, 0);  /* never before post returns */
		CHECK_INT(bs_http_in_flight(h), 1);
		CHECK(run_until(base, &c.calls, 1, 10));
		CHECK_INT(c.calls, 1);
		CHECK_INT(c.status, 200);
		CHECK_STR(c.body, "Success");
		CHECK_INT(c.body_len, 7);
		CHECK_INT(c.retry_after, -1);
		CHECK_INT(c.curl_code, 0);
		CHECK_STR(c.error, "");
		CHECK_INT(bs_http_in_flight(h), 0);
		CHECK_STR(srv.method, "POST");
		CHECK_STR(srv.path, "/api/1/deployments/acme/web/register_deploy");
		CHECK_STR(srv.auth, "Bearer tok123");
		CHECK_STR(srv.ctype, "application/json");
		CHECK_STR(srv.ua, "bitsleuth/" BS_VERSION);
		CHECK(!srv.saw_expect);
		CHECK_INT(srv.body_len, sizeof(body) - 1);
		CHECK(memcmp(srv.body, body, sizeof(body) - 1) == 0);
	}

	TEST("503 with Retry-After: 7") {
		struct bs_http_request req = { .url = url(&srv, "/busy") };
		struct call c = { 0 };
		CHECK_INT(bs_http_post(h, &req, on_resp, &c), 0);
		CHECK(run_until(base, &c.calls, 1, 10));
		CHECK_INT(c.calls, 1);
		CHECK_INT(c.status, 503);
		CHECK_INT(c.retry_after, 7);
		CHECK_STR(c.body, "later");
		CHECK_STR(c.error, "");
		CHECK_INT(srv.body_len, 0);
	}

	TEST("429 with an HTTP-date Retry-After") {
		struct bs_http_request req = { .url = url(&srv, "/date") };
		struct call c = { 0 };
		CHECK_INT(bs_http_post(h, &req, on_resp, &c), 0);
		CHECK(run_until(base, &c.calls, 1, 10));
		CHECK_INT(c.status, 429);
		CHECK(c.retry_after >= 25 && c.retry_after <= 31);
	}

	TEST("400 body is delivered") {
		struct bs_http_request req = { .url = url(&srv, "/bad") };
		struct call c = { 0 };
		CHECK_INT(bs_http_post(h, &req, on_resp, &c), 0);
		CHECK(run_until(base, &c.calls, 1, 10));
		CHECK_INT(c.status, 400);
		CHECK_STR(c.body, "sha not found");
		CHECK_STR(c.error, "");
	}

	TEST("a server that never answers: timeout after timeout_ms") {
		struct bs_http_request req = { .url = url(&srv, "/hang"),
		    .timeout_ms = 300 };
		struct call c = { 0 };
		double t0 = now_s();
		CHECK_INT(bs_http_post(h, &req, on_resp, &c), 0);
		CHECK(run_until(base, &c.calls, 1, 10));
		double took = now_s() - t0;
		CHECK_INT(c.calls, 1);
		CHECK_INT(c.status, 0);
		CHECK_INT(c.curl_code, 28);  /* CURLE_OPERATION_TIMEDOUT */
		CHECK(c.error[0] != '\0');
		/* the server holds the request until released below: only the
		 * timeout can have ended it (the upper bound is run_until's) */
		CHECK(took >= 0.28);
		server_release_held(&srv);
	}

	TEST("connection refused") {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in sin = { .sin_family = AF_INET };
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		socklen_t sl = sizeof(sin);
		CHECK(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
		CHECK(getsockname(fd, (struct sockaddr *)&sin, &sl) == 0);
		close(fd);  /* bound, never listened, now closed: refused */
		char u[128];
		snprintf(u, sizeof(u), "http://127.0.0.1:%d/x", ntohs(sin.sin_port));
		struct bs_http_request req = { .url = u };
		struct call c = { 0 };
		CHECK_INT(bs_http_post(h, &req, on_resp, &c), 0);
		CHECK(run_until(base, &c.calls, 1, 10));
		CHECK_INT(c.calls, 1);
		CHECK_INT(c.status, 0);
		CHECK_INT(c.curl_code, 7);  /* CURLE_COULDNT_CONNECT */
		CHECK(c.error[0] != '\0');
	}

	TEST("1 MiB answer capped at max_response, transfer still succeeds") {
		struct bs_http_request req = { .url = url(&srv, "/big"),
		    .max_response = 1000 };
		struct call c = { 0 };
		CHECK_INT(bs_http_post(h, &req, on_resp, &c), 0);
		CHECK(run_until(base, &c.calls, 1, 20));
		CHECK_INT(c.calls, 1);
		CHECK_INT(c.status, 200);
		CHECK_INT(c.body_len, 1000);
		CHECK_INT(c.body_all_x, 1);
		CHECK_STR(c.error, "");
		/* default cap: 64 KiB */
		struct bs_http_request req2 = { .url = url(&srv, "/big") };
		struct call c2 = { 0 };
		CHECK_INT(bs_http_post(h, &req2, on_resp, &c2), 0);
		CHECK(run_until(base, &c2.calls, 1, 20));
		CHECK_INT(c2.status, 200);
		CHECK_INT(c2.body_len, 65536);
		CHECK_INT(c2.body_all_x, 1);
	}

	TEST("50 concurrent requests, each answered exactly once") {
		enum { N = 50 };
		static struct call c[N];
		char paths[N][32];
		memset(c, 0, sizeof(c));
		int before = total_calls, hits_before = srv.hits;
		for (int i = 0; i < N; i++) {
			snprintf(paths[i], sizeof(paths[i]), "/echo/%d", i);
			struct bs_http_request req = { .url = url(&srv, paths[i]),
			    .body = "x", .body_len = 1 };
			CHECK_INT(bs_http_post(h, &req, on_resp, &c[i]), 0);
		}
		CHECK_INT(bs_http_in_flight(h), N);
		int want = before + N;
		CHECK(run_until(base, &total_calls, want, 20));
		/* run a little longer: no duplicate callbacks show up */
		int never = 0;
		run_until(base, &never, 1, 0.2);
		CHECK_INT(total_calls, want);
		int once = 0, right = 0;
		for (int i = 0; i < N; i++) {
			if (c[i].calls == 1)
				once++;
			if (c[i].status == 200 && strcmp(c[i].body, paths[i]) == 0)
				right++;
		}
		CHECK_INT(once, N);
		CHECK_INT(right, N);
		CHECK_INT(srv.hits - hits_before, N);
		CHECK_INT(bs_http_in_flight(h), 0);
	}

	TEST("a callback may start a new request") {
		struct chain ch = { .h = h, .s = &srv, .left = 3,
		    .nested_in_flight_ok = 1 };
		struct bs_http_request req = { .url = url(&srv, "/ok") };
		CHECK_INT(bs_http_post(h, &req, on_chain, &ch), 0);
		CHECK(run_until(base, &ch.done, 4, 10));
		int never = 0;
		run_until(base, &never, 1, 0.1);
		CHECK_INT(ch.done, 4);
		CHECK_INT(ch.ok, 4);
		CHECK(ch.nested_in_flight_ok);
		CHECK_INT(bs_http_in_flight(h), 0);
	}

	TEST("requests refused before libcurl still complete from the loop") {
		const char *bad[] = { "X-Evil: a\r\nInjected: b" };
		struct bs_http_request r1 = { .url = url(&srv, "/ok"),
		    .headers = bad, .n_headers = 1 };
		struct bs_http_request r2 = { .url = NULL };
		struct bs_http_request r3 = { .url = "ftp://127.0.0.1/x" };
		struct call c1 = { 0 }, c2 = { 0 }, c3 = { 0 };
		int hits = srv.hits;
		CHECK_INT(bs_http_post(h, &r1, on_resp, &c1), 0);
		CHECK_INT(bs_http_post(h, &r2, on_resp, &c2), 0);
		CHECK_INT(bs_http_post(h, &r3, on_resp, &c3), 0);
		CHECK_INT(c1.calls + c2.calls + c3.calls, 0);
		CHECK_INT(bs_http_in_flight(h), 3);
		CHECK(run_until(base, &c3.calls, 1, 10));
		run_until(base, &c1.calls, 1, 1);
		run_until(base, &c2.calls, 1, 1);
		CHECK_INT(c1.calls, 1);
		CHECK_STR(c1.error, "invalid request header");
		CHECK_INT(c1.status, 0);
		CHECK_INT(c2.calls, 1);
		CHECK_STR(c2.error, "no url");
		CHECK_INT(c3.calls, 1);
		CHECK_INT(c3.status, 0);
		CHECK_INT(c3.curl_code, 1);  /* CURLE_UNSUPPORTED_PROTOCOL */
		CHECK_INT(srv.hits, hits);
		CHECK_INT(bs_http_post(h, &r1, NULL, NULL), -1);
		CHECK_INT(bs_http_in_flight(h), 0);
	}

	bs_http_free(h);

	TEST("bs_http_free with requests in flight: each gets 'shutdown' once") {
		enum { N = 5 };
		struct bs_http *h2 = bs_http_new(base);
		CHECK(h2 != NULL);
		struct call c[N] = { 0 };
		struct call deferred = { 0 };
		int hits = srv.hits;
		for (int i = 0; i < N; i++) {
			struct bs_http_request req = { .url = url(&srv, "/hang") };
			CHECK_INT(bs_http_post(h2, &req, on_resp, &c[i]), 0);
		}
		CHECK(run_until(base, &srv.hits, hits + N, 10));
		const char *bad[] = { "no colon here" };
		struct bs_http_request rb = { .url = url(&srv, "/ok"),
		    .headers = bad, .n_headers = 1 };
		CHECK_INT(bs_http_post(h2, &rb, on_resp, &deferred), 0);
		CHECK_INT(bs_http_in_flight(h2), N + 1);
		int calls_before = total_calls;
		bs_http_free(h2);
		CHECK_INT(total_calls - calls_before, N + 1);
		int shutdown_once = 0;
		for (int i = 0; i < N; i++)
			if (c[i].calls == 1 && c[i].status == 0 &&
			    strcmp(c[i].error, "shutdown") == 0)
				shutdown_once++;
		CHECK_INT(shutdown_once, N);
		CHECK_INT(deferred.calls, 1);
		CHECK_STR(deferred.error, "invalid request header");
		/* the loop runs on: nothing of h2 fires again */
		int never = 0;
		run_until(base, &never, 1, 0.2);
		CHECK_INT(total_calls - calls_before, N + 1);
	}

	TEST("bs_http_free of an idle client; NULL is fine") {
		struct bs_http *h3 = bs_http_new(base);
		CHECK(h3 != NULL);
		CHECK_INT(bs_http_in_flight(h3), 0);
		bs_http_free(h3);
		bs_http_free(NULL);
		CHECK(bs_http_new(NULL) == NULL);
	}

	server_stop(&srv);
	int never = 0;
	run_until(base, &never, 1, 0.1);
	event_base_free(base);
	libevent_global_shutdown();
	return TEST_REPORT();
}

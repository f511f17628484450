/* ingest: the HTTP side: POST /hooks/bitbucket, /healthz, /readyz, /metrics.
 *
 * evhttp with every limit set explicitly (body, headers, timeouts, methods,
 * and http.max_connections concurrent connections: beyond that, new ones
 * wait in the kernel's listen backlog until one closes; see conn_limit.h).
 * A delivery is judged by intake, then enqueued; the reply is sent from the
 * enqueue callback, so 202 means Redis holds the job, and 503 means it does
 * not (Bitbucket resends on 5xx). */
#ifndef BS_INGEST_H
#define BS_INGEST_H

#include <stddef.h>

struct bs_app;
struct bs_ingest;

/* Binds cfg->listen. Returns NULL with a reason in err. */
struct bs_ingest *bs_ingest_new(struct bs_app *app, char *err, size_t errlen);
int bs_ingest_port(const struct bs_ingest *in);
/* Stops accepting new connections; requests already read still finish. */
void bs_ingest_stop_accepting(struct bs_ingest *in);
/* Deliveries waiting for Redis to answer. */
size_t bs_ingest_pending(const struct bs_ingest *in);
/* Frees the server, its connections and their tracking. NULL is a no-op.
 * Before event_base_free. */
void bs_ingest_free(struct bs_ingest *in);

#endif

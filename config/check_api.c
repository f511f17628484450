/* check_api: the checks of bitbucket.api.* and backfill.* (see
 * config_internal.h), after the tree was mapped.
 *
 * The API is optional: without credentials the worker never calls it and
 * leaves `commits` out of a deploy whose payload list it cannot prove
 * (README "Bitbucket's API"). Credentials are a token (Bearer) or a
 * username with an app password (Basic), never both; each secret comes
 * from the environment variable named here. */
#include "config/config_internal.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct bs_ynode *
api_node(const struct ctx *c, const char *key)
{
	const struct bs_ynode *b = bs_ynode_get(c->root, "bitbucket", NULL);
	const struct bs_ynode *a = b ? bs_ynode_get(b, "api", NULL) : NULL;
	const struct bs_ynode *v = a && key ? bs_ynode_get(a, key, NULL) : NULL;
	return v ? v : a ? a : b;
}

/* The secret of bitbucket.api.<key>_env / <key>_file (the file wins),
 * NULL when it is unset or empty (an error when the name is not a
 * variable name, a warning for the worker: the API is then not called). */
static char *
api_secret(struct ctx *c, const char *key, const char *name,
    const char *file)
{
	char ek[64], fk[64];
	snprintf(ek, sizeof(ek), "bitbucket.api.%s_env", key);
	snprintf(fk, sizeof(fk), "bitbucket.api.%s_file", key);
	if (!name && !file)
		return NULL;
	bool ok = !name || bs_config_is_env_name(name);
	if (!ok && !file) {
		ERR(c, api_node(c, ek + 14), "%s: must name an environment "
		    "variable ([A-Za-z_][A-Za-z0-9_]*), not hold the secret", ek);
		return NULL;
	}
	bool worker = c->uses & BS_USES_WORKER, failed;
	struct bs_secret_keys k = { .env_key = ek, .file_key = fk, .env = name,
		.env_ok = ok, .env_written = name != NULL, .file = file,
		.file_at = api_node(c, fk + 14) };
	char *v = bs_config_secret(c, &k, worker, &failed);
	if (!v && !file && worker)
		WARN(c, api_node(c, ek + 14), "%s: environment variable %s is not "
		    "set: Bitbucket's API is not called (no commit backfill, Cloud "
		    "merges may go with a short sha)", ek, name);
	return v;
}

void
bs_config_check_api(struct ctx *c)
{
	struct bs_config *cfg = c->cfg;
	struct bs_bitbucket_api *api = &cfg->bitbucket.api;

	if (api->cloud_url)
		bs_config_check_http_url(c, api_node(c, "cloud_url"),
		    "bitbucket.api.cloud_url", api->cloud_url,
		    "the Bitbucket credentials");
	if (api->server_url)
		bs_config_check_http_url(c, api_node(c, "server_url"),
		    "bitbucket.api.server_url", api->server_url,
		    "the Bitbucket credentials");

	bool token = api->token_env || api->token_file;
	bool app_password = api->app_password_env || api->app_password_file;
	if (token && (api->username || app_password)) {
		ERR(c, api_node(c, "token_env"), "bitbucket.api: give either "
		    "token_env (Bearer) or username with app_password_env (Basic), "
		    "not both");
		return;
	}
	if (api->username && !app_password)
		ERR(c, api_node(c, "username"), "bitbucket.api.username: needs "
		    "app_password_env, the variable holding the app password");
	else if (app_password && !api->username)
		ERR(c, api_node(c, "app_password_env"), "bitbucket.api."
		    "app_password_env: needs username (Basic authentication)");
	else if (api->username && strchr(api->username, ':'))
		ERR(c, api_node(c, "username"), "bitbucket.api.username: may not "
		    "contain ':'");
	api->token = api_secret(c, "token", api->token_env, api->token_file);
	if (api->username)
		api->app_password = api_secret(c, "app_password",
		    api->app_password_env, api->app_password_file);

	/* A task holds its lane's lease while it backfills (or a merge waits
	 * for its full sha) and then calls Sleuth; the lease is capped by the
	 * visibility timeout. */
	long long need = cfg->backfill.max_wait_ms + cfg->sleuth.timeout_ms +
	    2LL * cfg->redis.command_timeout_ms;
	bool merges = false;
	for (size_t i = 0; i < cfg->n_deployments; i++)
		merges = merges || cfg->deployments[i].track == BS_TRACK_MERGE;
	if (need < cfg->worker.visibility_timeout_ms) {
		/* fine */
	} else if (api->token || api->app_password) {
		ERR(c, bs_ynode_get(c->root, "backfill", NULL), "backfill.max_wait "
		    "(%lld ms) + sleuth.timeout_ms (%d) + 2 x redis."
		    "command_timeout_ms must stay below worker.visibility_timeout "
		    "(%lld ms): a deploy still being prepared would be claimed by "
		    "another worker", (long long)cfg->backfill.max_wait_ms,
		    cfg->sleuth.timeout_ms,
		    (long long)cfg->worker.visibility_timeout_ms);
	} else if (merges) {
		WARN(c, bs_ynode_get(c->root, "backfill", NULL), "backfill.max_wait "
		    "(%lld ms) + sleuth.timeout_ms (%d) is not below worker."
		    "visibility_timeout (%lld ms): a Cloud merge waiting for its "
		    "full sha may be claimed by another worker; lower max_wait",
		    (long long)cfg->backfill.max_wait_ms, cfg->sleuth.timeout_ms,
		    (long long)cfg->worker.visibility_timeout_ms);
	}
}

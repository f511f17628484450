/* fuzz_config: bs_config_parse on arbitrary bytes. It must never crash,
 * read out of bounds or leak; every diagnostic must have a message and a
 * sane place, and rc must agree with the error count. */
#include "config/config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	if (!init) {
		/* Some variables set, some not, so both paths run. */
		setenv("BITBUCKET_WEBHOOK_SECRET", "fuzz-secret", 1);
		unsetenv("SLEUTH_API_TOKEN");
		setenv("FUZZ_TOKEN", "t", 1);
		init = 1;
	}
	char *text = malloc(size ? size : 1);
	if (size)
		memcpy(text, data, size);
	struct bs_config cfg;
	struct bs_diags d;
	bs_diags_init(&d);
	int rc = bs_config_parse("fuzz.yaml", text, size, &cfg, &d);
	if ((rc == 0) != (d.errors == 0))
		abort();
	for (size_t i = 0; i < d.n; i++) {
		if (!d.items[i].message || d.items[i].line < 0 ||
		    d.items[i].column < 0 ||
		    (d.items[i].line > 0 && d.items[i].column < 1))
			abort();
	}
	if (rc == 0) {
		if (!cfg.listen_host || !cfg.redis.url || !cfg.sleuth.base_url ||
		    !cfg.log_level || cfg.issues.n_patterns == 0)
			abort();
		for (size_t i = 0; i < cfg.n_deployments; i++) {
			const struct bs_deployment *dep = &cfg.deployments[i];
			if (!dep->org || !dep->deployment || !dep->repository ||
			    !dep->environment || !dep->tag_pattern)
				abort();
		}
	}
	bs_config_release(&cfg);
	bs_diags_release(&d);
	free(text);
	return 0;
}

/* parse_bench: how long the ingest's parse of one payload takes.
 *
 *   build/parse_bench [FILE] [EVENT_KEY]
 *
 * Times bs_parse_event (which includes the strict UTF-8 check) on FILE
 * (default bench/push5.json) as EVENT_KEY (default repo:push,
 * Cloud) in a calibrated loop of about one second, five times, and prints
 * the median microseconds per parse. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parsers/bitbucket.h"

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	const char *path = argc > 1 ? argv[1] : "bench/push5.json";
	const char *key = argc > 2 ? argv[2] : "repo:push";
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "parse_bench: cannot open '%s'\n", path);
		return 1;
	}
	static char buf[4 << 20];
	size_t len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	enum bs_product product = strncmp(key, "repo:push", 9) == 0 ||
	    strncmp(key, "pullrequest:", 12) == 0 ? BS_PRODUCT_CLOUD : BS_PRODUCT_DC;
	struct bs_parse_limits lim;
	bs_parse_limits_default(&lim);
	char err[256];
	long iters = 1;
	for (;;) {
		double t0 = now_s();
		for (long i = 0; i < iters; i++) {
			struct bs_event ev;
			bs_event_init(&ev);
			if (bs_parse_event(product, key, buf, len, &lim, &ev, err,
			    sizeof(err)) != BS_PARSE_OK) {
				fprintf(stderr, "parse_bench: %s\n", err);
				return 1;
			}
			bs_event_release(&ev);
		}
		if (now_s() - t0 > 0.2)
			break;
		iters *= 2;
	}
	iters *= 5;
	double us[5];
	for (int r = 0; r < 5; r++) {
		double t0 = now_s();
		for (long i = 0; i < iters; i++) {
			struct bs_event ev;
			bs_event_init(&ev);
			(void)bs_parse_event(product, key, buf, len, &lim, &ev, err,
			    sizeof(err));
			bs_event_release(&ev);
		}
		us[r] = (now_s() - t0) / (double)iters * 1e6;
	}
	qsort(us, 5, sizeof(us[0]), cmp);
	printf("%s (%zu bytes) as %s: %.2f us per parse (median of 5, min %.2f, "
	    "max %.2f), %.0f MB/s\n", path, len, key, us[2], us[0], us[4],
	    len / us[2]);
	return 0;
}

/* proc_stats: process_* figures from /proc (see proc_stats.h). */
#include "common/proc_stats.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Reads up to cap - 1 bytes of path into buf (NUL-terminated); its
 * length, or -1. */
static ssize_t
slurp(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t n = 0;
	while (n + 1 < cap) {
		ssize_t r = read(fd, buf + n, cap - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	return (ssize_t)n;
}

/* The boot time (unix seconds) from /proc/stat's "btime" line, or -1. */
static double
boot_time(void)
{
	FILE *f = fopen("/proc/stat", "re");
	if (!f)
		return -1;
	char line[512];
	double bt = -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "btime ", 6) == 0) {
			char *end;
			unsigned long long v = strtoull(line + 6, &end, 10);
			if (end != line + 6)
				bt = (double)v;
			break;
		}
	}
	fclose(f);
	return bt;
}

/* /proc/self/stat: fields after "(comm)" (which may hold spaces and
 * parentheses, hence the last ')'). proc(5): 14 utime, 15 stime,
 * 22 starttime (clock ticks after boot), 23 vsize (bytes), 24 rss (pages). */
static void
read_stat(struct bs_proc_stats *st)
{
	char buf[2048];
	if (slurp("/proc/self/stat", buf, sizeof(buf)) <= 0)
		return;
	char *p = strrchr(buf, ')');
	if (!p)
		return;
	p++;
	unsigned long long f[25] = {0};
	/* p is at field 3 (state), a letter: skip it, then fields 4.. */
	while (*p == ' ')
		p++;
	if (*p)
		p++;
	for (int i = 4; i <= 24; i++) {
		char *end;
		f[i] = strtoull(p, &end, 10);
		if (end == p)
			return;
		p = end;
	}
	long tck = sysconf(_SC_CLK_TCK);
	long page = sysconf(_SC_PAGESIZE);
	double bt = boot_time();
	if (tck <= 0 || page <= 0 || bt < 0)
		return;
	st->cpu_seconds = (double)(f[14] + f[15]) / (double)tck;
	st->start_time = bt + (double)f[22] / (double)tck;
	st->virtual_bytes = (double)f[23];
	st->resident_bytes = (double)f[24] * (double)page;
	st->have_stat = 1;
}

static void
read_fds(struct bs_proc_stats *st)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return;
	long n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	st->open_fds = (double)(n > 0 ? n - 1 : 0);  /* not the listing's own */
	st->have_fds = 1;
}

void
bs_proc_stats_read(struct bs_proc_stats *st)
{
	memset(st, 0, sizeof(*st));
	read_stat(st);
	read_fds(st);
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		st->max_fds = rl.rlim_cur == RLIM_INFINITY ? 1e308 :
		    (double)rl.rlim_cur;
		st->have_max_fds = rl.rlim_cur != RLIM_INFINITY;
	}
}

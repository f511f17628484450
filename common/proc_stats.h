/* proc_stats: this process's standard process_* figures, as Prometheus'
 * own clients report them (client_golang's process collector): CPU time,
 * memory, file descriptors and start time, read from /proc/self/stat,
 * /proc/stat (boot time), /proc/self/fd and getrlimit. Linux only; what
 * cannot be read is left unset (its `have_` flag 0), never guessed. */
#ifndef BS_PROC_STATS_H
#define BS_PROC_STATS_H

struct bs_proc_stats {
	int have_stat;              /* cpu, virtual, resident, start_time */
	double cpu_seconds;         /* user + system */
	double virtual_bytes;
	double resident_bytes;
	double start_time;          /* unix seconds */
	int have_fds;
	double open_fds;
	int have_max_fds;
	double max_fds;             /* RLIMIT_NOFILE soft limit */
};

/* Reads them now (a few small /proc reads). Always fills *st. */
void bs_proc_stats_read(struct bs_proc_stats *st);

#endif

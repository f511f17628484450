/* help_doc: the man page and the bash completion, written from the help
 * table (help.h) by the hidden `bitsleuth help --man` and `bitsleuth help
 * --bash-completion` that the build runs (CMakeLists.txt), so neither can
 * drift from --help.
 *
 * The man page: NAME, SYNOPSIS, DESCRIPTION (the overview as it is), then
 * one subsection per command. A command's text is read in blocks
 * separated by empty lines: the usage block and indented blocks that are
 * not option lists stay as they are (.nf), an option list ("  -x, --long
 * ARG   what", continued by deeper-indented lines) becomes .TP items, any
 * other block one filled paragraph. Text is escaped for roff (\e, \-, a
 * leading '.' or '\'' guarded by \&), so that `groff -ww -man` has
 * nothing to warn about. */
#include "cmd/help.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* === roff ================================================================ */

/* Writes s[0..n) escaped for roff; at_line_start guards a leading control
 * character. */
static void
roff_text(FILE *f, const char *s, size_t n, bool at_line_start)
{
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];
		if (i == 0 && at_line_start && (ch == '.' || ch == '\''))
			fputs("\\&", f);
		if (ch == '\\')
			fputs("\\e", f);
		else if (ch == '-')
			fputs("\\-", f);
		else
			fputc(ch, f);
	}
}

/* The length of the line at s (without its newline). */
static size_t
line_len(const char *s)
{
	return strcspn(s, "\n");
}

static size_t
indent_of(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && s[i] == ' ')
		i++;
	return i;
}

/* Whether the line is the start of an option item: "  -x ..." */
static bool
option_start(const char *s, size_t n)
{
	return n > 3 && s[0] == ' ' && s[1] == ' ' && s[2] == '-';
}

/* A block of lines [s, end) as lines without filling. */
static void
roff_verbatim(FILE *f, const char *s, const char *end)
{
	fputs(".PP\n.nf\n", f);
	while (s < end) {
		size_t n = line_len(s);
		roff_text(f, s, n, true);
		fputc('\n', f);
		s += n + (s[n] == '\n');
	}
	fputs(".fi\n", f);
}

/* An option list: each item's term (up to two spaces) in bold, then its
 * description, continuation lines joined. */
static void
roff_options(FILE *f, const char *s, const char *end)
{
	while (s < end) {
		size_t n = line_len(s);
		if (option_start(s, n)) {
			const char *t = s + 2, *stop = s + n;
			const char *gap = t;
			while (gap + 1 < stop && !(gap[0] == ' ' && gap[1] == ' '))
				gap++;
			if (gap + 1 >= stop)
				gap = stop;
			fputs(".TP\n.B ", f);
			roff_text(f, t, (size_t)(gap - t), false);
			fputc('\n', f);
			const char *d = gap;
			while (d < stop && *d == ' ')
				d++;
			if (d < stop) {
				roff_text(f, d, (size_t)(stop - d), true);
				fputc('\n', f);
			}
		} else {
			size_t in = indent_of(s, n);
			if (in < n) {
				roff_text(f, s + in, n - in, true);
				fputc('\n', f);
			}
		}
		s += n + (s[n] == '\n');
	}
}

/* A paragraph: lines filled, their leading blanks dropped (a line that
 * starts with a blank would break the fill). */
static void
roff_paragraph(FILE *f, const char *s, const char *end)
{
	fputs(".PP\n", f);
	while (s < end) {
		size_t n = line_len(s);
		size_t in = indent_of(s, n);
		roff_text(f, s + in, n - in, true);
		fputc('\n', f);
		s += n + (s[n] == '\n');
	}
}

/* One help text, block by block. */
static void
roff_help(FILE *f, const char *text)
{
	const char *s = text;
	while (*s) {
		while (*s == '\n')
			s++;
		if (!*s)
			break;
		const char *end = strstr(s, "\n\n");
		end = end ? end + 1 : s + strlen(s);
		size_t n = line_len(s);
		bool indented = indent_of(s, n) > 0;
		if (strncmp(s, "usage:", 6) == 0 || strncmp(s, "Daemon", 6) == 0 ||
		    strncmp(s, "Tools:", 6) == 0 || strncmp(s, "Environment:", 12) == 0)
			roff_verbatim(f, s, end);
		else if (option_start(s, n))
			roff_options(f, s, end);
		else if (indented)
			roff_verbatim(f, s, end);
		else
			roff_paragraph(f, s, end);
		s = end;
	}
}

void
bs_help_write_man(FILE *f)
{
	fputs(".\\\" bitsleuth.1: written by `bitsleuth help --man` from the "
	    "--help texts\n.\\\" (cmd/help.c); do not edit.\n", f);
	fputs(".TH BITSLEUTH 1 \"\" \"bitsleuth " BS_VERSION "\" \"User Commands\"\n",
	    f);
	fputs(".nh\n", f);
	fputs(".SH NAME\nbitsleuth \\- Bitbucket webhooks in, Sleuth deploys out\n",
	    f);
	fputs(".SH SYNOPSIS\n.B bitsleuth\n.I COMMAND\n[\\fIOPTIONS\\fR]\n", f);
	fputs(".br\n.B bitsleuth help\n.I COMMAND\n", f);
	fputs(".SH DESCRIPTION\n", f);
	/* The overview without its first line (NAME says it). */
	const char *ov = strchr(bs_help_overview, '\n');
	roff_help(f, ov ? ov + 1 : bs_help_overview);
	fputs(".SH COMMANDS\n", f);
	for (size_t i = 0; i < bs_help_n_texts; i++) {
		fputs(".SS ", f);
		roff_text(f, bs_help_texts[i].cmd, strlen(bs_help_texts[i].cmd),
		    false);
		fputc('\n', f);
		roff_help(f, bs_help_texts[i].text);
	}
	fputs(".SH SEE ALSO\nThe README of the source distribution: "
	    "configuration reference and operations runbook.\n", f);
}

/* === bash completion ===================================================== */

/* The option words of text ("-c", "--config", ...): words that start with
 * '-' after a blank, '[' or '(' and go on with a letter, each once. */
static void
bash_options(FILE *f, const char *text)
{
	char seen[2048] = " ";
	size_t used = 1;
	for (const char *p = text; *p; p++) {
		if (*p != '-' || (p > text && !strchr(" [(|", p[-1])))
			continue;
		const char *q = p + 1;
		if (*q == '-')
			q++;
		if (!(*q >= 'a' && *q <= 'z'))
			continue;
		while ((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') ||
		    *q == '-')
			q++;
		size_t n = (size_t)(q - p);
		char word[64];
		if (n >= sizeof(word) - 2)
			continue;
		snprintf(word, sizeof(word), " %.*s ", (int)n, p);
		if (strstr(seen, word) || used + n + 2 >= sizeof(seen))
			continue;
		memcpy(seen + used, word + 1, n + 1);
		used += n + 1;
		seen[used] = '\0';
		fprintf(f, "%s%.*s", used == n + 2 ? "" : " ", (int)n, p);
		p = q - 1;
	}
}

void
bs_help_write_bash(FILE *f)
{
	fputs("# bash completion for bitsleuth: written by `bitsleuth help "
	    "--bash-completion`\n# from the --help texts (cmd/help.c); do not "
	    "edit.\n", f);
	fputs("_bitsleuth()\n{\n"
	    "    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
	    "    local cmds=\"", f);
	for (size_t i = 0; i < bs_help_n_texts; i++)
		fprintf(f, "%s ", bs_help_texts[i].cmd);
	fputs("help\"\n", f);
	fputs("    if [ \"$COMP_CWORD\" -eq 1 ]; then\n"
	    "        mapfile -t COMPREPLY < <(compgen -W \"$cmds --help --version\" -- \"$cur\")\n"
	    "        return\n    fi\n"
	    "    case $prev in\n"
	    "        -c|--config)\n"
	    "            mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n"
	    "            return ;;\n    esac\n"
	    "    local opts=\"\" subs=\"\"\n"
	    "    case ${COMP_WORDS[1]} in\n", f);
	for (size_t i = 0; i < bs_help_n_texts; i++) {
		fprintf(f, "        %s) opts=\"", bs_help_texts[i].cmd);
		bash_options(f, bs_help_texts[i].text);
		fputs(" --help\"", f);
		if (bs_help_texts[i].subcommands)
			fprintf(f, " subs=\"%s\"", bs_help_texts[i].subcommands);
		fputs(" ;;\n", f);
	}
	fputs("        help)\n"
	    "            [ \"$COMP_CWORD\" -eq 2 ] &&\n"
	    "                mapfile -t COMPREPLY < <(compgen -W \"$cmds\" -- \"$cur\")\n"
	    "            return ;;\n"
	    "        *) return ;;\n    esac\n"
	    "    if [ -n \"$subs\" ] && [ \"$COMP_CWORD\" -eq 2 ] && [[ $cur != -* ]]; then\n"
	    "        mapfile -t COMPREPLY < <(compgen -W \"$subs\" -- \"$cur\")\n"
	    "    elif [[ $cur == -* ]]; then\n"
	    "        mapfile -t COMPREPLY < <(compgen -W \"$opts\" -- \"$cur\")\n"
	    "    else\n"
	    "        mapfile -t COMPREPLY < <(compgen -f -- \"$cur\")\n"
	    "    fi\n}\n"
	    "complete -o filenames -F _bitsleuth bitsleuth\n", f);
}

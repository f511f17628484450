/* help: the table of --help texts (help.c), private to cmd/, and the
 * writers that turn it into the man page and the bash completion
 * (help_doc.c; run at build time through the hidden `bitsleuth help
 * --man` and `bitsleuth help --bash-completion`), so that --help, the man
 * page and the completion cannot drift apart. */
#ifndef BS_HELP_H
#define BS_HELP_H

#include <stddef.h>
#include <stdio.h>

/* One command's help: name, text (starting "usage: bitsleuth NAME"; then
 * paragraphs and option lists "  -x, --long ARG   what it does", blocks
 * separated by empty lines), and its subcommands, space-separated (NULL:
 * none). */
struct bs_help_text {
	const char *cmd;
	const char *text;
	const char *subcommands;
};

extern const char bs_help_overview[];     /* `bitsleuth --help` */
extern const struct bs_help_text bs_help_texts[];
extern const size_t bs_help_n_texts;

/* The man page bitsleuth.1 (roff, man macros) from the table to f. */
void bs_help_write_man(FILE *f);
/* A bash completion script for bitsleuth from the table to f: commands,
 * subcommands, and each command's options (the words starting with '-'
 * in its text). */
void bs_help_write_bash(FILE *f);

#endif

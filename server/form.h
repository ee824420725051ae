/* form.h - an HTML form's fields as a request brought them (SPEC §14): text fields kept in
 * memory up to a limit, and one file field's bytes in a file of their own, up to another. The
 * parsing is libmicrohttpd's post processor's (http.c); this is what it fills. */
#ifndef GAZETTE_FORM_H
#define GAZETTE_FORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define FORM_FIELDS_MAX 64 /* fields past this many are dropped, and the form is marked over */

struct form_field {
	char *name;
	struct buf value;
};

struct form {
	struct form_field *fields;
	size_t n;
	size_t text_bytes, text_max; /* the text fields' bytes, and what they may take */
	bool text_over;              /* a field, or the text fields together, went past it */
	bool malformed;              /* the post processor could not read the body */
	/* the file field's: where its bytes went (-1: none came), how many, its declared type */
	int file_fd;
	size_t file_bytes, file_max;
	bool file_over;   /* the file went past file_max: the bytes past it were dropped */
	bool file_failed; /* its bytes could not all be written */
	char file_type[100];
};

void form_init(struct form *f, size_t text_max, size_t file_max);
/* Frees the fields and closes the file. */
void form_cleanup(struct form *f);

/* A piece of text field name, at offset off of its value (0 begins a field; a piece that goes
 * on is at the end of the last field of that name). Past the limits, the form is marked over
 * and the piece dropped. */
void form_add(struct form *f, const char *name, const char *data, size_t size, uint64_t off);

/* The value of the first field of name, NULL when the form has none (or is NULL). */
const char *form_get(const struct form *f, const char *name);

#endif

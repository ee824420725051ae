/* form.c - the fields of an HTML form, bounded (form.h). */
#include "form.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mem.h"

void form_init(struct form *f, size_t text_max, size_t file_max)
{
	memset(f, 0, sizeof(*f));
	f->text_max = text_max;
	f->file_max = file_max;
	f->file_fd = -1;
}

void form_cleanup(struct form *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->fields[i].name);
		buf_cleanup(&f->fields[i].value);
	}
	free(f->fields);
	if (f->file_fd >= 0)
		close(f->file_fd);
	form_init(f, f->text_max, f->file_max);
}

void form_add(struct form *f, const char *name, const char *data, size_t size, uint64_t off)
{
	if (f->text_over || f->text_bytes > f->text_max || size > f->text_max - f->text_bytes) {
		f->text_over = true;
		return;
	}
	if (memchr(data, '\0', size)) {
		f->malformed = true; /* no field's text holds a NUL */
		return;
	}
	struct form_field *last = NULL;
	if (off > 0) {
		for (size_t i = f->n; i-- > 0;) {
			if (strcmp(f->fields[i].name, name) == 0) {
				last = &f->fields[i];
				break;
			}
		}
	}
	if (!last) {
		if (f->n == FORM_FIELDS_MAX) {
			f->text_over = true;
			return;
		}
		f->fields = xrealloc(f->fields, (f->n + 1) * sizeof(*f->fields));
		last = &f->fields[f->n++];
		last->name = xstrdup(name);
		buf_init(&last->value);
		f->text_bytes += strlen(name);
	}
	buf_append(&last->value, data, size);
	f->text_bytes += size;
}

const char *form_get(const struct form *f, const char *name)
{
	if (!f)
		return NULL;
	for (size_t i = 0; i < f->n; i++)
		if (strcmp(f->fields[i].name, name) == 0)
			return buf_str(&f->fields[i].value);
	return NULL;
}

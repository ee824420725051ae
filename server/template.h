/* template.h - Mustache templates: parsed once into a tree, rendered over Jansson values. */
#ifndef GAZETTE_TEMPLATE_H
#define GAZETTE_TEMPLATE_H

#include <stddef.h>

#include <jansson.h>

#include "buf.h"

/*
 * The dialect is the Mustache spec (interpolation, sections, inverted sections, comments,
 * set delimiters, partials) plus its optional inheritance ({{<parent}}, {{$block}}) and
 * dynamic names ({{>*name}}, {{<*name}}). Lambdas are not supported. Our own choices where
 * the spec is silent:
 * - A section is skipped for false, null, a missing name, an empty array and also the empty
 *   string ""; everything else, including 0 and 0.0, is truthy.
 * - Integers print as %lld, reals with the fewest digits that read back as the same double,
 *   true and false as words; null, objects and arrays print nothing.
 * - A line holding only whitespace and section, inverted, close, comment, set-delimiter,
 *   partial, parent or block tags is standalone and vanishes with its line ending, except
 *   when it holds both the opening and the closing tag of a block that is not an argument
 *   of a parent: such a block stands for its content, like a variable does.
 * - A closing tag repeats its opener's name as written, the '*' of a dynamic parent included.
 *
 * Errors are plain strings appended to a caller's struct buf; nothing here prints.
 */

struct tpl;     /* opaque: one parsed template */
struct tpl_set; /* opaque: named templates; partials {{>x}} and parents {{<x}} resolve to them */

/* Returns an empty set; free it with tpl_set_free. Never NULL. */
struct tpl_set *tpl_set_new(void);
/* Frees the set and every template in it. NULL is fine. */
void tpl_set_free(struct tpl_set *set);

/*
 * Parses src (len bytes; need not be NUL-terminated, may hold any bytes) and stores it under
 * name, replacing and freeing a template of that name. file is only used in messages. The set
 * keeps its own copies of name and file. Must not run while another thread renders the set.
 * Returns 0, or -1 with "file:line:col: message" appended to err; the set is then unchanged.
 */
int tpl_set_add(struct tpl_set *set, const char *name, const char *file, const char *src,
                size_t len, struct buf *err);

/*
 * Adds every DIR/<name>.mustache (regular files; names starting with '.' are skipped) under
 * <name>, in name order, then runs tpl_set_check. Returns 0, or -1 with a message appended to
 * err: "file: strerror" for I/O errors, else as tpl_set_add or tpl_set_check. Templates added
 * before a failure stay in the set.
 */
int tpl_set_load_dir(struct tpl_set *set, const char *dir, struct buf *err);
/* The same, each under prefix and its name ("admin/" + "login"). */
int tpl_set_load_dir_as(struct tpl_set *set, const char *dir, const char *prefix, struct buf *err);

/*
 * Every static {{>name}} and {{<name}} in the set must name a template of the set (dynamic
 * {{>*x}} cannot be checked). Returns 0, or -1 with "file:line:col: unknown partial 'name'"
 * appended to err for the first miss (templates in name order, tags in source order).
 */
int tpl_set_check(const struct tpl_set *set, struct buf *err);

/* Returns the template stored under name, owned by the set, or NULL if absent. */
const struct tpl *tpl_set_get(const struct tpl_set *set, const char *name);

/*
 * Renders t (a template of set) over ctx (any json_t, may be NULL = empty), appending to out.
 * A partial or parent missing from the set renders as the empty string; tpl_set_check is where
 * that is an error. Reentrant: many threads may render the same set at once (no static or
 * global mutable state; ctx is only read, its reference counts are not touched).
 * Returns 0, or -1 with a message appended to err, e.g. "partials nested deeper than 64 levels
 * (at file:line:col)"; out may then hold partial output.
 */
int tpl_render(const struct tpl_set *set, const struct tpl *t, json_t *ctx, struct buf *out,
               struct buf *err);

#endif

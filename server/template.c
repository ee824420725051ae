/* template.c - Mustache: source lexed to tokens, built once into a tree, rendered many times. */
#include "template.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "escape.h"
#include "mem.h"

/* Containers open at once while parsing one template: the tree is freed recursively. */
#define MAX_SECTION_DEPTH 1000
/* Partials, parents and blocks inside each other at render: stops self-inclusion. */
#define MAX_INCLUDE_DEPTH 64
/* Every level of recursion at render, so that 64 includes of deep templates fit a thread stack. */
#define MAX_RENDER_DEPTH 2048

enum node_kind {
	N_ROOT,
	N_TEXT,
	N_VAR,      /* {{x}}: escaped */
	N_RAW,      /* {{{x}}} and {{&x}} */
	N_SECTION,  /* {{#x}} */
	N_INVERTED, /* {{^x}} */
	N_PARTIAL,  /* {{>x}} and {{>*x}} */
	N_PARENT,   /* {{<x}} and {{<*x}}: only its direct block children matter */
	N_BLOCK,    /* {{$x}} */
};

/* One part of a dotted name, as an offset into the node's name. */
struct span {
	size_t off;
	size_t len;
};

struct node {
	enum node_kind kind;
	bool dynamic;    /* the name is looked up in the context to find the template's name */
	bool never;      /* a name that can never resolve, like the nested dynamic {{>**x}} */
	bool standalone; /* alone on its line: the indentation applies from the first line on */
	size_t line, col;
	char *str; /* N_TEXT: the text; else the name, without a dynamic '*' */
	size_t len;
	struct span *parts; /* the dotted name split; none for "." */
	size_t nparts;
	char *indent; /* added to the indentation of what this node includes */
	size_t indent_len;
	struct node **kids;
	size_t nkids;
	size_t kids_cap;
};

struct tpl {
	char *name;
	char *file;
	struct node root;
	const struct node **refs; /* static partials and parents, for tpl_set_check */
	size_t nrefs;
	size_t refs_cap;
};

struct tpl_set {
	struct tpl **v; /* sorted by name */
	size_t n;
	size_t cap;
};

/* ---- tree ---- */

static void node_free(struct node *n)
{
	for (size_t i = 0; i < n->nkids; i++) {
		node_free(n->kids[i]);
		free(n->kids[i]);
	}
	free(n->kids);
	free(n->str);
	free(n->parts);
	free(n->indent);
}

static void tpl_free(struct tpl *t)
{
	if (!t)
		return;
	node_free(&t->root);
	free(t->refs);
	free(t->name);
	free(t->file);
	free(t);
}

static void add_kid(struct node *parent, struct node *kid)
{
	if (parent->nkids == parent->kids_cap) {
		parent->kids_cap = parent->kids_cap ? 2 * parent->kids_cap : 4;
		parent->kids = xrealloc(parent->kids, parent->kids_cap * sizeof(*parent->kids));
	}
	parent->kids[parent->nkids++] = kid;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_indent(char c)
{
	return c == ' ' || c == '\t';
}

/* Names compare as byte strings, shorter first on a tie, which is strcmp's order for C strings. */
static int name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* How much of a name messages show: a name can be as long as the template. */
static int shown(size_t len)
{
	return len < 100 ? (int)len : 100;
}

/* ---- lexer: source to tokens ---- */

enum tok_kind {
	T_TEXT, /* at most one line: a '\n' only at its end */
	T_VAR,
	T_RAW,
	T_SECTION,
	T_INVERTED,
	T_CLOSE,
	T_PARTIAL,
	T_PARENT,
	T_BLOCK,
	T_COMMENT,
	T_DELIM,
};

struct token {
	enum tok_kind kind;
	bool dynamic;
	size_t line, col; /* of the text, or of the tag's opening delimiter */
	size_t off, len;  /* the text, or the tag's name */
};

/* An open container while building the tree. */
struct open {
	struct node *node;
	/* Definition indentation of the innermost standalone block: removed from line starts. */
	const char *strip;
	size_t strip_len;
};

struct parser {
	const char *src;
	size_t len;
	const char *file;
	struct buf *err;
	struct tpl *t;

	struct token *toks;
	size_t ntoks, toks_cap;
	/* Line counting walks forward only: tokens come in source order. */
	size_t seen, line, line_start;

	struct open *stack; /* stack[0] is the root */
	size_t depth, stack_cap;
	unsigned char *line_stack; /* opens seen while judging one line */
	size_t line_stack_cap;
	struct buf text; /* text not yet put into a node, so that comments don't split it */

	/* The block indentation found for the line starting at token block_line. */
	size_t block_line;
	const char *block_ws;
	size_t block_ws_len;
};

static void locate(struct parser *p, size_t off, size_t *line, size_t *col)
{
	for (; p->seen < off; p->seen++) {
		if (p->src[p->seen] == '\n') {
			p->line++;
			p->line_start = p->seen + 1;
		}
	}
	*line = p->line;
	*col = off - p->line_start + 1;
}

static void fail_at(struct buf *err, const char *file, size_t line, size_t col, const char *fmt,
                    ...) __attribute__((format(printf, 5, 6)));

static void fail_at(struct buf *err, const char *file, size_t line, size_t col, const char *fmt,
                    ...)
{
	va_list ap;
	buf_printf(err, "%s:%zu:%zu: ", file, line, col);
	va_start(ap, fmt);
	buf_vprintf(err, fmt, ap);
	va_end(ap);
}

static struct token *push_token(struct parser *p, enum tok_kind kind, size_t at)
{
	if (p->ntoks == p->toks_cap) {
		p->toks_cap = p->toks_cap ? 2 * p->toks_cap : 64;
		p->toks = xrealloc(p->toks, p->toks_cap * sizeof(*p->toks));
	}
	struct token *t = &p->toks[p->ntoks++];
	memset(t, 0, sizeof(*t));
	t->kind = kind;
	locate(p, at, &t->line, &t->col);
	return t;
}

/* Text is cut after each '\n' so that lines can be judged token by token. */
static void lex_text(struct parser *p, size_t from, size_t to)
{
	while (from < to) {
		const char *nl = memchr(p->src + from, '\n', to - from);
		size_t end = nl ? (size_t)(nl - p->src) + 1 : to;
		struct token *t = push_token(p, T_TEXT, from);
		t->off = from;
		t->len = end - from;
		from = end;
	}
}

static void trim(const char *s, size_t *from, size_t *to)
{
	while (*from < *to && is_space(s[*from]))
		(*from)++;
	while (*to > *from && is_space(s[*to - 1]))
		(*to)--;
}

/* Splits "{{=<% %>=}}"'s inside (without the '='s) into the two new delimiters. */
static bool parse_delims(const char *s, size_t from, size_t to, struct span out[2])
{
	for (int i = 0; i < 2; i++) {
		while (from < to && is_space(s[from]))
			from++;
		size_t start = from;
		while (from < to && !is_space(s[from])) {
			if (s[from] == '=')
				return false;
			from++;
		}
		if (from == start)
			return false;
		out[i].off = start;
		out[i].len = from - start;
	}
	while (from < to && is_space(s[from]))
		from++;
	return from == to;
}

/*
 * Fills p->toks. On a syntax error, stops and puts the message in lex_err: the tokens before it
 * still get built, so that an earlier structural error is the one reported.
 */
static int lex(struct parser *p, struct buf *lex_err)
{
	const char *src = p->src;
	const char *otag = "{{", *ctag = "}}";
	size_t olen = 2, clen = 2;
	struct buf triple = BUF_INIT; /* "}" + ctag: what ends {{{x}}} */
	size_t pos = 0;
	int rc = 0;

	buf_puts(&triple, "}}}");
	while (pos < p->len) {
		const char *o = memmem(src + pos, p->len - pos, otag, olen);
		if (!o) {
			lex_text(p, pos, p->len);
			break;
		}
		size_t start = (size_t)(o - src);
		lex_text(p, pos, start);

		size_t in = start + olen;
		bool is_triple = in < p->len && src[in] == '{';
		const char *closer = is_triple ? triple.data : ctag;
		size_t closer_len = is_triple ? triple.len : clen;
		if (is_triple)
			in++;
		const char *c = memmem(src + in, p->len - in, closer, closer_len);
		size_t line, col;
		locate(p, start, &line, &col);
		if (!c) {
			fail_at(lex_err, p->file, line, col, "unclosed tag");
			rc = -1;
			break;
		}
		size_t end = (size_t)(c - src);
		pos = end + closer_len;

		enum tok_kind kind = T_VAR;
		if (is_triple) {
			kind = T_RAW;
		} else if (in < end) {
			switch (src[in]) {
			case '#': kind = T_SECTION; break;
			case '^': kind = T_INVERTED; break;
			case '/': kind = T_CLOSE; break;
			case '>': kind = T_PARTIAL; break;
			case '<': kind = T_PARENT; break;
			case '$': kind = T_BLOCK; break;
			case '&': kind = T_RAW; break;
			case '!': kind = T_COMMENT; break;
			case '=': kind = T_DELIM; break;
			default: break;
			}
			if (kind != T_VAR)
				in++;
		}

		if (kind == T_COMMENT) {
			push_token(p, T_COMMENT, start);
			continue;
		}
		if (kind == T_DELIM) {
			struct span d[2];
			if (end == in || src[end - 1] != '=' ||
			    !parse_delims(src, in, end - 1, d)) {
				fail_at(
				    lex_err, p->file, line, col,
				    "bad set-delimiter tag: need two delimiters without whitespace "
				    "or '=', as in {{=<%% %%>=}}");
				rc = -1;
				break;
			}
			otag = src + d[0].off;
			olen = d[0].len;
			ctag = src + d[1].off;
			clen = d[1].len;
			buf_reset(&triple);
			buf_putc(&triple, '}');
			buf_append(&triple, ctag, clen);
			push_token(p, T_DELIM, start);
			continue;
		}

		size_t from = in, to = end;
		trim(src, &from, &to);
		bool dynamic = false;
		if ((kind == T_PARTIAL || kind == T_PARENT || kind == T_CLOSE) && from < to &&
		    src[from] == '*') {
			dynamic = true;
			from++;
			trim(src, &from, &to);
		}
		if (from == to) {
			fail_at(lex_err, p->file, line, col, "empty tag name");
			rc = -1;
			break;
		}
		for (size_t i = from; i < to; i++) {
			if (is_space(src[i])) {
				fail_at(lex_err, p->file, line, col,
				        "whitespace inside tag name '%.*s'", shown(to - from),
				        src + from);
				rc = -1;
				break;
			}
		}
		if (rc)
			break;
		struct token *t = push_token(p, kind, start);
		t->dynamic = dynamic;
		t->off = from;
		t->len = to - from;
	}
	buf_cleanup(&triple);
	return rc;
}

/* ---- builder: tokens to tree, line by line ---- */

static struct open *top(struct parser *p)
{
	return &p->stack[p->depth - 1];
}

/* How much of s (n bytes at a line start) the current block indentation removes. */
static size_t strippable(const struct open *o, const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && i < o->strip_len && s[i] == o->strip[i])
		i++;
	return i;
}

static void flush_text(struct parser *p)
{
	if (!p->text.len)
		return;
	struct node *n = xcalloc(1, sizeof(*n));
	n->kind = N_TEXT;
	n->str = buf_steal(&p->text, &n->len);
	add_kid(top(p)->node, n);
}

/* Spaces and tabs, then nothing, "\n" or "\r\n". */
static bool blank(const struct parser *p, const struct token *t)
{
	const char *s = p->src + t->off;
	size_t n = t->len;
	if (n && s[n - 1] == '\n') {
		n--;
		if (n && s[n - 1] == '\r')
			n--;
	}
	for (size_t i = 0; i < n; i++)
		if (!is_indent(s[i]))
			return false;
	return true;
}

enum { LS_PARENT = 1, LS_SLOT = 2 };

/*
 * A line is standalone when it holds only whitespace and tags that render nothing in place.
 * A block that is not a parent's argument is a slot that renders its content right there, so
 * a line holding a slot's open and close tags keeps its whitespace and line ending.
 */
static bool standalone_line(struct parser *p, size_t i, size_t j)
{
	size_t tags = 0, sp = 0, popped = 0;

	for (size_t k = i; k < j; k++) {
		const struct token *t = &p->toks[k];
		switch (t->kind) {
		case T_TEXT:
			if (!blank(p, t))
				return false;
			continue;
		case T_VAR:
		case T_RAW: return false;
		case T_SECTION:
		case T_INVERTED:
		case T_PARENT:
		case T_BLOCK: {
			bool in_parent;
			if (sp)
				in_parent = p->line_stack[sp - 1] & LS_PARENT;
			else
				in_parent = popped < p->depth &&
				            p->stack[p->depth - 1 - popped].node->kind == N_PARENT;
			if (sp == p->line_stack_cap) {
				p->line_stack_cap = p->line_stack_cap ? 2 * p->line_stack_cap : 16;
				p->line_stack = xrealloc(p->line_stack, p->line_stack_cap);
			}
			p->line_stack[sp++] =
			    (unsigned char)((t->kind == T_PARENT ? LS_PARENT : 0) |
			                    (t->kind == T_BLOCK && !in_parent ? LS_SLOT : 0));
			break;
		}
		case T_CLOSE:
			if (sp) {
				if (p->line_stack[--sp] & LS_SLOT)
					return false;
			} else {
				popped++;
			}
			break;
		case T_PARTIAL:
		case T_COMMENT:
		case T_DELIM: break;
		}
		tags++;
	}
	return tags > 0;
}

/*
 * A standalone block's definition indentation: the leading whitespace of its first line of
 * content that is not blank, else the tag's own indentation. Cached per line, as every block
 * opened on one line gets the same answer.
 */
static void block_indent(struct parser *p, size_t next_line, const char *own, size_t own_len,
                         const char **ws, size_t *ws_len)
{
	if (p->block_line == next_line && p->block_ws) {
		*ws = p->block_ws;
		*ws_len = p->block_ws_len;
		return;
	}
	*ws = own;
	*ws_len = own_len;
	for (size_t m = next_line; m < p->ntoks; m++) {
		const struct token *t = &p->toks[m];
		if (t->kind != T_TEXT) {
			*ws = p->src + t->off;
			*ws_len = 0;
			break;
		}
		const char *s = p->src + t->off;
		size_t w = 0;
		while (w < t->len && is_indent(s[w]))
			w++;
		if (!(s[t->len - 1] == '\n' && blank(p, t))) {
			*ws = s;
			*ws_len = w;
			break;
		}
	}
	p->block_line = next_line;
	p->block_ws = *ws;
	p->block_ws_len = *ws_len;
}

static struct node *new_node(struct parser *p, enum node_kind kind, const struct token *t)
{
	struct node *n = xcalloc(1, sizeof(*n));
	n->kind = kind;
	n->dynamic = t->dynamic;
	n->line = t->line;
	n->col = t->col;
	n->str = xstrndup(p->src + t->off, t->len);
	n->len = t->len;
	return n;
}

/* Splits a looked-up name at its dots; "." alone is the top of the context stack. */
static void split_name(struct node *n)
{
	if (n->len == 1 && n->str[0] == '.')
		return;
	if (n->dynamic && memchr(n->str, '*', n->len)) {
		/* Dynamic names cannot be nested: {{>**x}} and {{>*a.*b}} name nothing. */
		n->never = true;
		return;
	}
	size_t count = 1;
	for (size_t i = 0; i < n->len; i++)
		count += n->str[i] == '.';
	n->parts = xcalloc(count, sizeof(*n->parts));
	size_t start = 0;
	for (size_t i = 0; i <= n->len; i++) {
		if (i == n->len || n->str[i] == '.') {
			n->parts[n->nparts].off = start;
			n->parts[n->nparts].len = i - start;
			n->nparts++;
			start = i + 1;
		}
	}
}

static void set_indent(struct node *n, const char *s, size_t len)
{
	free(n->indent);
	n->indent = xstrndup(s, len);
	n->indent_len = len;
}

static void add_ref(struct tpl *t, const struct node *n)
{
	if (n->dynamic)
		return;
	if (t->nrefs == t->refs_cap) {
		t->refs_cap = t->refs_cap ? 2 * t->refs_cap : 8;
		t->refs = xrealloc(t->refs, t->refs_cap * sizeof(*t->refs));
	}
	t->refs[t->nrefs++] = n;
}

static const char *kind_word(enum node_kind kind)
{
	switch (kind) {
	case N_PARENT: return "parent";
	case N_BLOCK: return "block";
	case N_INVERTED: return "inverted section";
	default: return "section";
	}
}

/* {{/x}} closes the open whose name is written the same way, '*' included. */
static bool closes(const struct parser *p, const struct node *open, const struct token *c)
{
	const char *name = open->str;
	size_t len = open->len;
	bool star = open->dynamic;
	if (!star && len && name[0] == '*') {
		star = true;
		name++;
		len--;
	}
	return star == c->dynamic && len == c->len && !memcmp(name, p->src + c->off, len);
}

static void push_open(struct parser *p, struct node *n, const char *strip, size_t strip_len)
{
	if (p->depth == p->stack_cap) {
		p->stack_cap *= 2;
		p->stack = xrealloc(p->stack, p->stack_cap * sizeof(*p->stack));
	}
	p->stack[p->depth].node = n;
	p->stack[p->depth].strip = strip;
	p->stack[p->depth].strip_len = strip_len;
	p->depth++;
}

/*
 * Adds tag token k of the line made of tokens [i, j). lead is the whitespace starting the line
 * when nothing but it precedes the tag (NULL otherwise); for a standalone line it is the
 * line's indentation.
 */
static int add_tag(struct parser *p, size_t k, size_t j, bool alone, const char *lead,
                   size_t lead_len)
{
	const struct token *t = &p->toks[k];
	struct open *o = top(p);
	size_t cut = lead ? strippable(o, lead, lead_len) : 0;
	struct node *n;

	switch (t->kind) {
	case T_TEXT:
	case T_COMMENT:
	case T_DELIM: return 0;
	case T_VAR:
	case T_RAW:
		flush_text(p);
		n = new_node(p, t->kind == T_VAR ? N_VAR : N_RAW, t);
		split_name(n);
		add_kid(o->node, n);
		return 0;
	case T_PARTIAL:
		flush_text(p);
		n = new_node(p, N_PARTIAL, t);
		if (n->dynamic)
			split_name(n);
		if (alone) {
			n->standalone = true;
			set_indent(n, lead + cut, lead_len - cut);
		}
		add_kid(o->node, n);
		add_ref(p->t, n);
		return 0;
	case T_SECTION:
	case T_INVERTED:
	case T_PARENT:
	case T_BLOCK: break;
	case T_CLOSE:
		flush_text(p);
		if (p->depth == 1) {
			fail_at(p->err, p->file, t->line, t->col,
			        "close tag '%s%.*s' without open section", t->dynamic ? "*" : "",
			        shown(t->len), p->src + t->off);
			return -1;
		}
		if (!closes(p, o->node, t)) {
			fail_at(
			    p->err, p->file, t->line, t->col,
			    "mismatched close tag '%s%.*s', expected '%s%.*s' (opened at %zu:%zu)",
			    t->dynamic ? "*" : "", shown(t->len), p->src + t->off,
			    o->node->dynamic ? "*" : "", shown(o->node->len), o->node->str,
			    o->node->line, o->node->col);
			return -1;
		}
		p->depth--;
		return 0;
	}

	if (p->depth > MAX_SECTION_DEPTH) {
		fail_at(p->err, p->file, t->line, t->col, "sections nested deeper than %d levels",
		        MAX_SECTION_DEPTH);
		return -1;
	}
	flush_text(p);
	const char *strip = o->strip;
	size_t strip_len = o->strip_len;
	switch (t->kind) {
	case T_SECTION:
		n = new_node(p, N_SECTION, t);
		split_name(n);
		break;
	case T_INVERTED:
		n = new_node(p, N_INVERTED, t);
		split_name(n);
		break;
	case T_PARENT:
		n = new_node(p, N_PARENT, t);
		if (n->dynamic)
			split_name(n);
		if (alone) {
			n->standalone = true;
			set_indent(n, lead + cut, lead_len - cut);
		}
		add_ref(p->t, n);
		break;
	default:
		n = new_node(p, N_BLOCK, t);
		if (alone) {
			/*
			 * Indentation is removed where a block is defined and added where it is
			 * expanded, relative to the enclosing block's.
			 */
			n->standalone = true;
			block_indent(p, j, lead, lead_len, &strip, &strip_len);
			size_t c = strippable(o, strip, strip_len);
			set_indent(n, strip + c, strip_len - c);
		} else if (lead) {
			/* Alone after whitespace: its content's later lines line up with it. */
			set_indent(n, lead + cut, lead_len - cut);
		}
		break;
	}
	add_kid(o->node, n);
	push_open(p, n, strip, strip_len);
	return 0;
}

static int build(struct parser *p)
{
	size_t i = 0;
	while (i < p->ntoks) {
		size_t j = i;
		while (j < p->ntoks) {
			const struct token *t = &p->toks[j++];
			if (t->kind == T_TEXT && p->src[t->off + t->len - 1] == '\n')
				break;
		}
		bool alone = standalone_line(p, i, j);
		const struct token *first = &p->toks[i];
		bool lead_ws = first->kind == T_TEXT && j > i + 1 && blank(p, first);

		for (size_t k = i; k < j; k++) {
			const struct token *t = &p->toks[k];
			if (t->kind == T_TEXT) {
				if (alone)
					continue;
				const char *s = p->src + t->off;
				size_t n = t->len, cut = k == i ? strippable(top(p), s, n) : 0;
				buf_append(&p->text, s + cut, n - cut);
				continue;
			}
			const char *lead = NULL;
			size_t lead_len = 0;
			if (alone || k == i) {
				lead = p->src + first->off;
				lead_len = lead_ws ? first->len : 0;
			} else if (k == i + 1 && lead_ws) {
				lead = p->src + first->off;
				lead_len = first->len;
			}
			if (add_tag(p, k, j, alone, lead, lead_len) < 0)
				return -1;
		}
		i = j;
	}
	flush_text(p);
	return 0;
}

static struct tpl *parse(const char *name, const char *file, const char *src, size_t len,
                         struct buf *err)
{
	struct parser p = {
	    .src = src,
	    .len = len,
	    .file = file,
	    .err = err,
	    .line = 1,
	    .block_line = (size_t)-1,
	};
	struct buf lex_err = BUF_INIT;
	struct tpl *t = xcalloc(1, sizeof(*t));
	t->name = xstrdup(name);
	t->file = xstrdup(file);
	t->root.kind = N_ROOT;
	p.t = t;
	p.stack_cap = 16;
	p.stack = xmalloc(p.stack_cap * sizeof(*p.stack));
	p.stack[0] = (struct open){.node = &t->root};
	p.depth = 1;

	int lexed = lex(&p, &lex_err);
	if (build(&p) < 0)
		goto fail;
	if (lexed < 0) {
		buf_append(err, lex_err.data, lex_err.len);
		goto fail;
	}
	if (p.depth > 1) {
		const struct node *n = top(&p)->node;
		fail_at(err, file, n->line, n->col, "unclosed %s '%s%.*s'", kind_word(n->kind),
		        n->dynamic ? "*" : "", shown(n->len), n->str);
		goto fail;
	}
	goto done;
fail:
	tpl_free(t);
	t = NULL;
done:
	buf_cleanup(&lex_err);
	buf_cleanup(&p.text);
	free(p.toks);
	free(p.stack);
	free(p.line_stack);
	return t;
}

/* ---- set ---- */

struct tpl_set *tpl_set_new(void)
{
	return xcalloc(1, sizeof(struct tpl_set));
}

void tpl_set_free(struct tpl_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++)
		tpl_free(set->v[i]);
	free(set->v);
	free(set);
}

/* Index of name, or of where it would go with *found false. */
static size_t find(const struct tpl_set *set, const char *name, size_t len, bool *found)
{
	size_t lo = 0, hi = set->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *m = set->v[mid]->name;
		int c = name_cmp(name, len, m, strlen(m));
		if (!c) {
			*found = true;
			return mid;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	*found = false;
	return lo;
}

static const struct tpl *get(const struct tpl_set *set, const char *name, size_t len)
{
	bool found;
	if (!set)
		return NULL;
	size_t i = find(set, name, len, &found);
	return found ? set->v[i] : NULL;
}

int tpl_set_add(struct tpl_set *set, const char *name, const char *file, const char *src,
                size_t len, struct buf *err)
{
	struct tpl *t = parse(name, file ? file : name, src ? src : "", src ? len : 0, err);
	if (!t)
		return -1;
	bool found;
	size_t i = find(set, name, strlen(name), &found);
	if (found) {
		tpl_free(set->v[i]);
		set->v[i] = t;
		return 0;
	}
	if (set->n == set->cap) {
		set->cap = set->cap ? 2 * set->cap : 16;
		set->v = xrealloc(set->v, set->cap * sizeof(*set->v));
	}
	memmove(set->v + i + 1, set->v + i, (set->n - i) * sizeof(*set->v));
	set->v[i] = t;
	set->n++;
	return 0;
}

const struct tpl *tpl_set_get(const struct tpl_set *set, const char *name)
{
	return get(set, name, strlen(name));
}

int tpl_set_check(const struct tpl_set *set, struct buf *err)
{
	for (size_t i = 0; i < set->n; i++) {
		const struct tpl *t = set->v[i];
		for (size_t r = 0; r < t->nrefs; r++) {
			const struct node *n = t->refs[r];
			if (!get(set, n->str, n->len)) {
				fail_at(err, t->file, n->line, n->col, "unknown partial '%.*s'",
				        shown(n->len), n->str);
				return -1;
			}
		}
	}
	return 0;
}

static int read_file(const char *path, struct buf *content, struct buf *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		goto fail;
	for (;;) {
		buf_reserve(content, 4096);
		ssize_t n = read(fd, content->data + content->len, content->cap - content->len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail_close;
		if (n == 0)
			break;
		content->len += (size_t)n;
		content->data[content->len] = '\0';
	}
	close(fd);
	return 0;
fail_close:;
	int saved = errno;
	close(fd);
	errno = saved;
fail:
	buf_printf(err, "%s: %s", path, strerror(errno));
	return -1;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int tpl_set_load_dir(struct tpl_set *set, const char *dir, struct buf *err)
{
	return tpl_set_load_dir_as(set, dir, "", err);
}

int tpl_set_load_dir_as(struct tpl_set *set, const char *dir, const char *prefix, struct buf *err)
{
	static const char ext[] = ".mustache";
	const size_t ext_len = sizeof(ext) - 1;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = -1;

	DIR *d = opendir(dir);
	if (!d) {
		buf_printf(err, "%s: %s", dir, strerror(errno));
		return -1;
	}
	for (;;) {
		errno = 0;
		struct dirent *e = readdir(d);
		if (!e) {
			if (errno) {
				buf_printf(err, "%s: %s", dir, strerror(errno));
				closedir(d);
				goto out;
			}
			break;
		}
		size_t len = strlen(e->d_name);
		if (e->d_name[0] == '.' || len <= ext_len ||
		    strcmp(e->d_name + len - ext_len, ext) != 0)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			names = xrealloc(names, cap * sizeof(*names));
		}
		names[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);

	for (size_t i = 0; i < n; i++) {
		char *path = xasprintf("%s/%s", dir, names[i]);
		struct stat st;
		struct buf content = BUF_INIT;
		int r = 0;
		if (stat(path, &st) < 0) {
			buf_printf(err, "%s: %s", path, strerror(errno));
			r = -1;
		} else if (S_ISREG(st.st_mode)) {
			names[i][strlen(names[i]) - ext_len] = '\0';
			char *name = xasprintf("%s%s", prefix, names[i]);
			r = read_file(path, &content, err);
			if (!r)
				r = tpl_set_add(set, name, path, content.data, content.len, err);
			free(name);
		}
		buf_cleanup(&content);
		free(path);
		if (r < 0)
			goto out;
	}
	rc = tpl_set_check(set, err);
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return rc;
}

/* ---- render ---- */

/* The blocks of a parent tag being rendered: they override the parent's blocks of that name. */
struct override {
	const struct node *parent;
	const struct tpl *owner;
};

struct render {
	const struct tpl_set *set;
	struct buf *out;
	struct buf *err;
	const struct tpl *cur; /* whose nodes are being rendered, for messages */
	json_t **ctx;          /* context stack; borrowed references */
	size_t nctx, ctx_cap;
	struct override *ovr; /* outermost (most derived) first */
	size_t novr, ovr_cap;
	struct buf indent; /* put before each line of output */
	bool pending;      /* at a line start: the indentation is due before more output */
	unsigned includes;
	unsigned nesting;
};

static int render_nodes(struct render *r, struct node *const *kids, size_t n);

static void push_ctx(struct render *r, json_t *v)
{
	if (r->nctx == r->ctx_cap) {
		r->ctx_cap = r->ctx_cap ? 2 * r->ctx_cap : 16;
		r->ctx = xrealloc(r->ctx, r->ctx_cap * sizeof(*r->ctx));
	}
	r->ctx[r->nctx++] = v;
}

static json_t *lookup(const struct render *r, const struct node *n)
{
	if (n->never)
		return NULL;
	if (!n->nparts)
		return r->nctx ? r->ctx[r->nctx - 1] : NULL;
	const char *first = n->str + n->parts[0].off;
	json_t *v = NULL;
	for (size_t i = r->nctx; i-- > 0;) {
		if (json_is_object(r->ctx[i])) {
			v = json_object_getn(r->ctx[i], first, n->parts[0].len);
			if (v)
				break;
		}
	}
	/* Only the first part searches the stack: the rest must be inside what it found. */
	for (size_t i = 1; v && i < n->nparts; i++)
		v = json_is_object(v)
		        ? json_object_getn(v, n->str + n->parts[i].off, n->parts[i].len)
		        : NULL;
	return v;
}

static bool truthy(const json_t *v)
{
	if (!v)
		return false;
	switch (json_typeof(v)) {
	case JSON_NULL:
	case JSON_FALSE: return false;
	case JSON_ARRAY: return json_array_size(v) > 0;
	case JSON_STRING: return json_string_length(v) > 0;
	default: return true;
	}
}

static void put_indent(struct render *r)
{
	if (r->pending) {
		buf_append(r->out, r->indent.data, r->indent.len);
		r->pending = false;
	}
}

/* Template text: each of its lines gets the current indentation. */
static void emit_text(struct render *r, const char *s, size_t n)
{
	while (n) {
		const char *nl = memchr(s, '\n', n);
		size_t k = nl ? (size_t)(nl - s) + 1 : n;
		put_indent(r);
		buf_append(r->out, s, k);
		if (nl)
			r->pending = true;
		s += k;
		n -= k;
	}
}

/* The shortest "%.*g" that reads back as the same double: 1.21 prints "1.21", not 1.2099... */
static int format_real(char *dst, size_t cap, double d)
{
	int n = 0;
	for (int prec = 1; prec <= 17; prec++) {
		n = snprintf(dst, cap, "%.*g", prec, d);
		if (strtod(dst, NULL) == d)
			break;
	}
	return n;
}

/* Data is output as is: its newlines get no indentation, as the spec demands. */
static void emit_value(struct render *r, const json_t *v, bool escape)
{
	char num[64];
	const char *s;
	size_t n;

	if (!v)
		return;
	switch (json_typeof(v)) {
	case JSON_STRING:
		s = json_string_value(v);
		n = json_string_length(v);
		break;
	case JSON_INTEGER:
		n = (size_t)snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		                     json_integer_value(v));
		s = num;
		break;
	case JSON_REAL:
		n = (size_t)format_real(num, sizeof(num), json_real_value(v));
		s = num;
		break;
	case JSON_TRUE:
		s = "true";
		n = 4;
		break;
	case JSON_FALSE:
		s = "false";
		n = 5;
		break;
	default: return;
	}
	if (!n)
		return;
	put_indent(r);
	if (escape)
		escape_html(r->out, s, n);
	else
		buf_append(r->out, s, n);
}

static int nested_error(struct render *r, const struct node *n, const char *what, int limit)
{
	buf_printf(r->err, "%s nested deeper than %d levels (at %s:%zu:%zu)", what, limit,
	           r->cur->file, n->line, n->col);
	return -1;
}

/* Renders kids one level deeper, within the bound that keeps the C stack small. */
static int descend(struct render *r, const struct node *at, struct node *const *kids, size_t n)
{
	if (r->nesting >= MAX_RENDER_DEPTH)
		return nested_error(r, at, "templates", MAX_RENDER_DEPTH);
	r->nesting++;
	int rc = render_nodes(r, kids, n);
	r->nesting--;
	return rc;
}

static int render_section(struct render *r, const struct node *n)
{
	json_t *v = lookup(r, n);
	int rc = 0;

	if (n->kind == N_INVERTED)
		return truthy(v) ? 0 : descend(r, n, n->kids, n->nkids);
	if (!truthy(v))
		return 0;
	if (json_is_array(v)) {
		for (size_t i = 0; !rc && i < json_array_size(v); i++) {
			push_ctx(r, json_array_get(v, i));
			rc = descend(r, n, n->kids, n->nkids);
			r->nctx--;
		}
		return rc;
	}
	push_ctx(r, v);
	rc = descend(r, n, n->kids, n->nkids);
	r->nctx--;
	return rc;
}

/*
 * Renders kids, nodes of owner's tree, for n (a partial, parent or block of the current
 * template): one include level deeper, with n's indentation added.
 */
static int include(struct render *r, const struct node *n, const struct tpl *owner,
                   struct node *const *kids, size_t nkids)
{
	if (r->includes >= MAX_INCLUDE_DEPTH)
		return nested_error(r, n, n->kind == N_BLOCK ? "blocks" : "partials",
		                    MAX_INCLUDE_DEPTH);
	if (r->nesting >= MAX_RENDER_DEPTH)
		return nested_error(r, n, "templates", MAX_RENDER_DEPTH);
	const struct tpl *saved = r->cur;
	size_t indent_len = r->indent.len, out_len = r->out->len;
	bool pending = r->pending;
	if (n->indent_len) {
		buf_append(&r->indent, n->indent, n->indent_len);
		if (n->standalone)
			r->pending = true;
	}
	r->cur = owner;
	r->includes++;
	r->nesting++;
	int rc = render_nodes(r, kids, nkids);
	r->nesting--;
	r->includes--;
	r->cur = saved;
	/* Nothing came out: a line start we made up must not indent what follows. */
	if (r->out->len == out_len)
		r->pending = pending;
	r->indent.len = indent_len;
	if (r->indent.data)
		r->indent.data[indent_len] = '\0';
	return rc;
}

static int render_partial(struct render *r, const struct node *n)
{
	const struct tpl *t;
	if (n->dynamic) {
		const json_t *v = lookup(r, n);
		if (!json_is_string(v))
			return 0;
		t = get(r->set, json_string_value(v), json_string_length(v));
	} else {
		t = get(r->set, n->str, n->len);
	}
	if (!t)
		return 0;
	if (n->kind == N_PARTIAL)
		return include(r, n, t, t->root.kids, t->root.nkids);

	if (r->novr == r->ovr_cap) {
		r->ovr_cap = r->ovr_cap ? 2 * r->ovr_cap : 8;
		r->ovr = xrealloc(r->ovr, r->ovr_cap * sizeof(*r->ovr));
	}
	r->ovr[r->novr].parent = n;
	r->ovr[r->novr].owner = r->cur;
	r->novr++;
	int rc = include(r, n, t, t->root.kids, t->root.nkids);
	r->novr--;
	return rc;
}

static int render_block(struct render *r, const struct node *n)
{
	/* The outermost parent tag that passes this block wins: it is the most derived. */
	for (size_t f = 0; f < r->novr; f++) {
		const struct node *parent = r->ovr[f].parent;
		for (size_t i = 0; i < parent->nkids; i++) {
			const struct node *b = parent->kids[i];
			if (b->kind == N_BLOCK && b->len == n->len &&
			    !memcmp(b->str, n->str, n->len))
				return include(r, n, r->ovr[f].owner, b->kids, b->nkids);
		}
	}
	return include(r, n, r->cur, n->kids, n->nkids);
}

static int render_nodes(struct render *r, struct node *const *kids, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct node *k = kids[i];
		int rc = 0;
		switch (k->kind) {
		case N_ROOT: rc = render_nodes(r, k->kids, k->nkids); break;
		case N_TEXT: emit_text(r, k->str, k->len); break;
		case N_VAR:
		case N_RAW: emit_value(r, lookup(r, k), k->kind == N_VAR); break;
		case N_SECTION:
		case N_INVERTED: rc = render_section(r, k); break;
		case N_PARTIAL:
		case N_PARENT: rc = render_partial(r, k); break;
		case N_BLOCK: rc = render_block(r, k); break;
		}
		if (rc < 0)
			return -1;
	}
	return 0;
}

int tpl_render(const struct tpl_set *set, const struct tpl *t, json_t *ctx, struct buf *out,
               struct buf *err)
{
	if (!t) {
		buf_puts(err, "no template to render");
		return -1;
	}
	struct render r = {
	    .set = set,
	    .out = out,
	    .err = err,
	    .cur = t,
	    .pending = true,
	};
	buf_init(&r.indent);
	if (ctx)
		push_ctx(&r, ctx);
	/* An empty render still leaves out NUL-terminated, so buf_str and callers agree. */
	buf_append(out, "", 0);
	int rc = render_nodes(&r, t->root.kids, t->root.nkids);
	free(r.ctx);
	free(r.ovr);
	buf_cleanup(&r.indent);
	return rc;
}

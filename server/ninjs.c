/* ninjs.c - stories to and from IPTC ninjs 3.1; HTML bodies to Markdown with libxml2. */
#include "ninjs.h"

#include <errno.h>
#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mem.h"

/* --- HTML to Markdown --- */

#define HTML_DEPTH_MAX 32   /* deeper markup gives its text only */
#define HTML_NEST_MAX  8    /* deeper lists and quotes run inline: a line's prefix stays short */
#define HTML_ATTRS_MAX 100  /* attributes in one tag: libxml2 checks each against the others */
#define HTML_ROWS_MAX  1000 /* rows of one table; the rest run inline */
#define HTML_COLS_MAX  64

struct md {
	struct buf *out;
	size_t limit;     /* out may not grow past this: the conversion is refused */
	bool bol;         /* at the beginning of a line: block syntax is possible here */
	bool lead_digits; /* the line so far is digits: a '.' or ')' would make a list */
	bool space;       /* whitespace is pending (collapsed, HTML-style) */
	bool inline_only; /* inside a link, an emphasis, a heading or a cell: no block syntax */
	bool in_cell;     /* inside a table cell: '|' ends the cell unless escaped, code too */
	bool heading;     /* a trailing '#' would close the heading */
	int depth;        /* elements walked into */
	int nest;         /* lists and quotes around */
};

static bool name_is(const xmlNode *n, const char *name)
{
	return n->type == XML_ELEMENT_NODE && strcasecmp((const char *)n->name, name) == 0;
}

static bool name_in(const xmlNode *n, const char *const *names)
{
	for (; *names; names++)
		if (name_is(n, *names))
			return true;
	return false;
}

static const char *const dropped[] = {
    "script",   "style",  "iframe", "object", "embed",  "noscript", "template", "head",
    "svg",      "math",   "form",   "button", "select", "textarea", "input",    "frame",
    "frameset", "applet", "audio",  "video",  "canvas", "title",    NULL};
static const char *const blocks[] = {
    "p",      "div",        "section", "article",    "header", "footer", "aside",  "main", "nav",
    "figure", "figcaption", "address", "dl",         "dt",     "dd",     "center", "body", "html",
    "li",     "ul",         "ol",      "blockquote", "table",  "tr",     "td",     "th",   "pre",
    "h1",     "h2",         "h3",      "h4",         "h5",     "h6",     "hr",     "br",   NULL};

/* Whether the UTF-8 character at s (n bytes left) is a control: C0 but tab and newline, DEL,
 * C1, U+FFFE and U+FFFF. Its length in *len. */
static bool control_at(const unsigned char *s, size_t n, size_t *len)
{
	*len = 1;
	if ((s[0] < 0x20 && s[0] != '\n' && s[0] != '\t') || s[0] == 0x7f)
		return true;
	if (s[0] == 0xc2 && n > 1 && s[1] >= 0x80 && s[1] <= 0x9f) {
		*len = 2;
		return true;
	}
	if (s[0] == 0xef && n > 2 && s[1] == 0xbf && (s[2] == 0xbe || s[2] == 0xbf)) {
		*len = 3;
		return true;
	}
	return false;
}

/* Ends the current block: the next text starts a new paragraph (inline: a space). */
static void block_break(struct md *m)
{
	struct buf *o = m->out;
	if (m->inline_only) {
		m->space = o->len > 0;
		return;
	}
	m->space = false;
	if (o->len == 0)
		return;
	while (o->len < 2 || o->data[o->len - 1] != '\n' || o->data[o->len - 2] != '\n')
		buf_putc(o, '\n');
	m->bol = true;
	m->lead_digits = true;
}

static void pending_space(struct md *m)
{
	if (m->space)
		buf_putc(m->out, ' ');
	m->space = false;
}

/* Text, escaped so that it stays text. */
static void put_text(struct md *m, const unsigned char *s, size_t n)
{
	struct buf *o = m->out;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		size_t len;
		if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f') {
			m->space = !m->bol;
			continue;
		}
		if (control_at(s + i, n - i, &len)) {
			i += len - 1; /* controls say nothing */
			continue;
		}
		if (c == 0xc2 && i + 1 < n && s[i + 1] == 0xa0) {
			i++; /* a no-break space: Markdown would take it for a space */
			pending_space(m);
			buf_puts(o, "&nbsp;");
			m->bol = m->lead_digits = false;
			continue;
		}
		pending_space(m);
		if (strchr("\\`*_[]<>!&|~", c) || (m->heading && c == '#') ||
		    (m->bol && strchr("#>+-=", c)) || (m->lead_digits && (c == '.' || c == ')')))
			buf_putc(o, '\\');
		buf_putc(o, (char)c);
		m->lead_digits = m->lead_digits && c >= '0' && c <= '9';
		m->bol = false;
	}
}

/* Code's text as it is, but for controls; in a cell its '|' escaped, inline its newlines
 * spaces. */
static void put_code(struct md *m, const char *code, bool block)
{
	const unsigned char *s = (const unsigned char *)code;
	size_t n = strlen(code);
	for (size_t i = 0; i < n; i++) {
		size_t len;
		if (control_at(s + i, n - i, &len)) {
			i += len - 1;
			continue;
		}
		if (s[i] == '\n' && !block)
			buf_putc(m->out, ' ');
		else if (s[i] == '|' && m->in_cell)
			buf_puts(m->out, "\\|");
		else
			buf_putc(m->out, (char)s[i]);
	}
}

static void walk(struct md *m, const xmlNode *n);

static void children(struct md *m, const xmlNode *n)
{
	for (const xmlNode *c = n->children; c; c = c->next)
		walk(m, c);
}

/* The children of n rendered on their own (for a list item, a quote, a cell, an emphasis),
 * inline_only when they may not hold blocks. Returns what they gave, trimmed; the caller
 * frees it. */
static char *render_apart(struct md *m, const xmlNode *n, bool bol, bool inline_only)
{
	struct buf b = BUF_INIT;
	struct md sub = *m;
	sub.out = &b;
	sub.limit = m->limit > m->out->len ? m->limit - m->out->len : 0;
	sub.bol = sub.lead_digits = bol;
	sub.space = false;
	sub.inline_only = m->inline_only || inline_only;
	children(&sub, n);
	while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == ' '))
		b.data[--b.len] = '\0';
	return buf_steal(&b, NULL);
}

/* Appends text with prefix before its first line and indent before every other one. */
static void put_lines(struct md *m, const char *text, const char *prefix, const char *indent)
{
	buf_puts(m->out, prefix);
	for (const char *p = text; *p; p++) {
		buf_putc(m->out, *p);
		if (*p == '\n' && p[1])
			buf_puts(m->out, p[1] == '\n' ? (*indent == '>' ? ">" : "") : indent);
	}
}

static void inline_wrap(struct md *m, const xmlNode *n, const char *mark)
{
	char *inner = render_apart(m, n, false, true);
	const char *s = inner;
	while (*s == ' ')
		s++;
	if (*s) {
		if (m->space || (s != inner && !m->bol))
			buf_putc(m->out, ' ');
		m->space = false;
		buf_puts(m->out, mark);
		buf_puts(m->out, s);
		buf_puts(m->out, mark);
		m->bol = m->lead_digits = false;
	}
	free(inner);
}

static bool safe_href(const char *href)
{
	return strncasecmp(href, "http://", 7) == 0 || strncasecmp(href, "https://", 8) == 0 ||
	       strncasecmp(href, "mailto:", 7) == 0;
}

static void link(struct md *m, const xmlNode *n)
{
	xmlChar *href = xmlGetProp(n, (const xmlChar *)"href");
	const char *h = href ? (const char *)href : "";
	while (*h == ' ' || *h == '\t' || *h == '\n')
		h++;
	if (!safe_href(h)) {
		children(m, n); /* its text, without a link nobody may follow */
		xmlFree(href);
		return;
	}
	char *inner = render_apart(m, n, false, true);
	pending_space(m);
	buf_putc(m->out, '[');
	if (*inner) {
		buf_puts(m->out, inner);
	} else {
		struct md t = *m;
		t.bol = t.lead_digits = false;
		put_text(&t, (const unsigned char *)h, strlen(h));
	}
	buf_puts(m->out, "](<");
	for (const char *p = h; *p; p++) {
		/* what could end the destination, the cell or the line is encoded */
		if (*p == '<' || *p == '>' || *p == '\\' || *p == '|' || (unsigned char)*p <= ' ' ||
		    *p == 0x7f)
			buf_printf(m->out, "%%%02X", (unsigned char)*p);
		else
			buf_putc(m->out, *p);
	}
	buf_puts(m->out, ">)");
	m->bol = m->lead_digits = false;
	free(inner);
	xmlFree(href);
}

/* The text of everything under top, without recursion; block elements end with a space. */
static void all_text(const xmlNode *top, struct buf *out)
{
	const xmlNode *n = top->children;
	while (n) {
		if ((n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) && n->content)
			buf_puts(out, (const char *)n->content);
		if (name_is(n, "br"))
			buf_putc(out, '\n');
		if (n->type == XML_ELEMENT_NODE && n->children && !name_in(n, dropped)) {
			n = n->children;
			continue;
		}
		while (n && n != top && !n->next) {
			n = n->parent;
			if (n && n != top && name_in(n, blocks))
				buf_putc(out, ' ');
		}
		n = n && n != top ? n->next : NULL;
	}
}

/* The longest run of ch in s. */
static size_t longest_run(const char *s, char ch)
{
	size_t best = 0, run = 0;
	for (; *s; s++) {
		run = *s == ch ? run + 1 : 0;
		if (run > best)
			best = run;
	}
	return best;
}

static void inline_code(struct md *m, const xmlNode *n)
{
	struct buf code = BUF_INIT;
	all_text(n, &code);
	const char *s = buf_str(&code);
	while (*s == ' ' || *s == '\n')
		s++;
	if (*s) {
		size_t ticks = longest_run(s, '`') + 1;
		pending_space(m);
		for (size_t i = 0; i < ticks; i++)
			buf_putc(m->out, '`');
		buf_putc(m->out, ' ');
		put_code(m, s, false);
		buf_putc(m->out, ' ');
		for (size_t i = 0; i < ticks; i++)
			buf_putc(m->out, '`');
		m->bol = m->lead_digits = false;
	}
	buf_cleanup(&code);
}

static void code_block(struct md *m, const xmlNode *n)
{
	if (m->inline_only) {
		inline_code(m, n);
		return;
	}
	struct buf code = BUF_INIT;
	all_text(n, &code);
	block_break(m);
	size_t fence = longest_run(buf_str(&code), '`') + 1;
	if (fence < 3)
		fence = 3;
	for (size_t i = 0; i < fence; i++)
		buf_putc(m->out, '`');
	buf_putc(m->out, '\n');
	const char *s = buf_str(&code);
	while (*s == '\n')
		s++;
	put_code(m, s, true);
	if (m->out->data[m->out->len - 1] != '\n')
		buf_putc(m->out, '\n');
	for (size_t i = 0; i < fence; i++)
		buf_putc(m->out, '`');
	block_break(m);
	buf_cleanup(&code);
}

static void list(struct md *m, const xmlNode *n, bool ordered)
{
	if (m->inline_only || m->nest >= HTML_NEST_MAX) {
		bool was = m->inline_only;
		m->inline_only = true;
		children(m, n);
		m->inline_only = was;
		return;
	}
	block_break(m);
	m->nest++;
	unsigned number = 1;
	for (const xmlNode *c = n->children; c; c = c->next) {
		if (!name_is(c, "li"))
			continue;
		char *item = render_apart(m, c, true, false);
		char marker[16], indent[16];
		int w = snprintf(marker, sizeof(marker), ordered ? "%u. " : "- ", number++);
		/* what continues the item lines up with its text */
		snprintf(indent, sizeof(indent), "%*s", w, "");
		put_lines(m, item, marker, indent);
		buf_putc(m->out, '\n');
		free(item);
	}
	m->nest--;
	block_break(m);
}

static void quote(struct md *m, const xmlNode *n)
{
	if (m->inline_only || m->nest >= HTML_NEST_MAX) {
		block_break(m);
		children(m, n);
		block_break(m);
		return;
	}
	block_break(m);
	m->nest++;
	char *text = render_apart(m, n, true, false);
	m->nest--;
	if (*text)
		put_lines(m, text, "> ", "> ");
	free(text);
	block_break(m);
}

static void table(struct md *m, const xmlNode *n)
{
	/* rows from thead, tbody, tfoot or the table itself, in order */
	size_t nrows = 0, cap = 16;
	const xmlNode **rows = xcalloc(cap, sizeof(*rows));
	for (const xmlNode *c = n->children; c; c = c->next) {
		const xmlNode *first = c, *last = c->next;
		if (name_is(c, "thead") || name_is(c, "tbody") || name_is(c, "tfoot"))
			first = c->children, last = NULL;
		for (const xmlNode *r = first; r && r != last; r = r->next) {
			if (!name_is(r, "tr") || nrows == HTML_ROWS_MAX)
				continue;
			if (nrows == cap)
				rows = xrealloc(rows, (cap *= 2) * sizeof(*rows));
			rows[nrows++] = r;
		}
	}
	size_t cols = 0;
	for (size_t i = 0; i < nrows; i++) {
		size_t k = 0;
		for (const xmlNode *c = rows[i]->children; c; c = c->next)
			k += name_is(c, "td") || name_is(c, "th");
		cols = k > cols ? k : cols;
	}
	if (m->inline_only || nrows == 0 || cols == 0 || cols > HTML_COLS_MAX ||
	    nrows == HTML_ROWS_MAX) {
		/* no table Markdown can hold: its text, a paragraph a cell */
		free(rows);
		block_break(m);
		children(m, n);
		block_break(m);
		return;
	}
	block_break(m);
	for (size_t i = 0; i < nrows; i++) {
		size_t k = 0;
		buf_putc(m->out, '|');
		for (const xmlNode *c = rows[i]->children; c; c = c->next) {
			if (!name_is(c, "td") && !name_is(c, "th"))
				continue;
			struct md cell = *m;
			cell.in_cell = true;
			char *text = render_apart(&cell, c, false, true);
			buf_printf(m->out, " %s |", text);
			free(text);
			k++;
		}
		for (; k < cols; k++)
			buf_puts(m->out, "  |");
		buf_putc(m->out, '\n');
		if (i == 0) {
			buf_putc(m->out, '|');
			for (k = 0; k < cols; k++)
				buf_puts(m->out, " --- |");
			buf_putc(m->out, '\n');
		}
	}
	free(rows);
	block_break(m);
}

static void heading(struct md *m, const xmlNode *n, int level)
{
	if (m->inline_only) {
		block_break(m);
		children(m, n);
		block_break(m);
		return;
	}
	block_break(m);
	struct md h = *m;
	h.heading = true;
	char *text = render_apart(&h, n, false, true);
	if (*text) {
		for (int i = 0; i < level; i++)
			buf_putc(m->out, '#');
		buf_printf(m->out, " %s", text);
	}
	free(text);
	block_break(m);
}

static void walk(struct md *m, const xmlNode *n)
{
	if (m->out->len > m->limit)
		return; /* refused by the caller: nothing more is worth the work */
	if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
		if (n->content)
			put_text(m, n->content, strlen((const char *)n->content));
		return;
	}
	if (n->type != XML_ELEMENT_NODE || name_in(n, dropped))
		return;
	if (m->depth >= HTML_DEPTH_MAX) {
		struct buf text = BUF_INIT;
		all_text(n, &text);
		put_text(m, (const unsigned char *)buf_str(&text), text.len);
		buf_cleanup(&text);
		return;
	}
	m->depth++;
	const char *name = (const char *)n->name;
	if ((name[0] == 'h' || name[0] == 'H') && name[1] >= '1' && name[1] <= '6' && !name[2]) {
		heading(m, n, name[1] - '0');
	} else if (name_is(n, "br")) {
		if (m->inline_only) {
			m->space = true;
		} else {
			buf_puts(m->out, "\\\n");
			m->bol = m->lead_digits = true;
			m->space = false;
		}
	} else if (name_is(n, "hr")) {
		block_break(m);
		if (!m->inline_only)
			buf_puts(m->out, "***");
		block_break(m);
	} else if (name_is(n, "strong") || name_is(n, "b")) {
		inline_wrap(m, n, "**");
	} else if (name_is(n, "em") || name_is(n, "i") || name_is(n, "cite")) {
		inline_wrap(m, n, "*");
	} else if (name_is(n, "del") || name_is(n, "s") || name_is(n, "strike")) {
		inline_wrap(m, n, "~~");
	} else if (name_is(n, "a")) {
		link(m, n);
	} else if (name_is(n, "code") || name_is(n, "kbd") || name_is(n, "samp")) {
		inline_code(m, n);
	} else if (name_is(n, "pre")) {
		code_block(m, n);
	} else if (name_is(n, "ul") || name_is(n, "ol")) {
		list(m, n, name_is(n, "ol"));
	} else if (name_is(n, "blockquote")) {
		quote(m, n);
	} else if (name_is(n, "table")) {
		table(m, n);
	} else if (name_is(n, "img")) {
		xmlChar *alt = xmlGetProp(n, (const xmlChar *)"alt");
		if (alt)
			put_text(m, alt, strlen((const char *)alt));
		xmlFree(alt);
	} else if (name_in(n, blocks)) {
		/* p, div, an item outside a list, ...: a paragraph */
		block_break(m);
		children(m, n);
		block_break(m);
	} else {
		children(m, n); /* span, font, u, small, ...: their text */
	}
	m->depth--;
}

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init(void)
{
	xmlInitParser();
}

/* Whether some tag of html has more than HTML_ATTRS_MAX attributes (counted generously: every
 * run of name characters after a space or a closing quote, outside quotes). */
static bool too_many_attributes(const char *html, size_t len)
{
	size_t i = 0;
	while (i < len) {
		if (html[i] != '<') {
			i++;
			continue;
		}
		unsigned attrs = 0;
		char quote = 0;
		bool after_gap = false;
		for (i++; i < len && (quote || html[i] != '>'); i++) {
			char c = html[i];
			if (quote) {
				if (c == quote) {
					quote = 0;
					after_gap = true;
				}
			} else if (c == '"' || c == '\'') {
				quote = c;
			} else if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
			           c == '/') {
				after_gap = true;
			} else if (after_gap) {
				after_gap = false;
				if (++attrs > HTML_ATTRS_MAX)
					return true;
			}
		}
	}
	return false;
}

/* libxml2's tree of html, or NULL (with why) when it is refused or does not parse. */
static htmlDocPtr parse_html(const char *html, size_t len, int *why)
{
	pthread_once(&xml_once, xml_init);
	*why = 0;
	if (len == 0)
		return NULL;
	if (len > INT32_MAX || too_many_attributes(html, len)) {
		*why = -EINVAL;
		return NULL;
	}
	return htmlReadMemory(html, (int)len, NULL, "UTF-8",
	                      HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET);
}

int ninjs_html_markdown(struct buf *out, const char *html, size_t len)
{
	int why;
	htmlDocPtr doc = parse_html(html, len, &why);
	if (!doc)
		return why;
	struct buf b = BUF_INIT;
	struct md m = {.out = &b, .limit = 8 * len + 65536, .bol = true, .lead_digits = true};
	for (const xmlNode *n = doc->children; n; n = n->next)
		walk(&m, n);
	xmlFreeDoc(doc);
	int rc = b.len > m.limit ? -E2BIG : 0;
	size_t end = b.len;
	while (end && (b.data[end - 1] == '\n' || b.data[end - 1] == ' '))
		end--;
	if (rc == 0)
		buf_append(out, b.data ? b.data : "", end);
	buf_cleanup(&b);
	return rc;
}

void ninjs_text_markdown(struct buf *out, const char *text)
{
	const char *p = text;
	bool first = true;
	while (*p) {
		size_t n = strcspn(p, "\n");
		struct buf line = BUF_INIT;
		struct md m = {.out = &line, .limit = SIZE_MAX, .bol = true, .lead_digits = true};
		put_text(&m, (const unsigned char *)p, n);
		if (line.len) {
			if (!first)
				buf_puts(out, "\n\n");
			buf_append(out, line.data, line.len);
			first = false;
		}
		buf_cleanup(&line);
		p += n;
		if (*p)
			p++;
	}
}

/* --- a story as ninjs --- */

static json_t *role_value(const char *role, const char *content_type, const char *value)
{
	json_t *o = json_pack("{s:s, s:s}", "role", role, "value", value);
	if (o && content_type)
		json_object_set_new(o, "contentType", json_string(content_type));
	return json_pack("[o]", o);
}

static json_t *party(const char *name, const char *role)
{
	return json_pack("{s:s, s:s}", "name", name, "role", role);
}

json_t *ninjs_from_article(const struct article *a, const char *base_url, const char *site_language)
{
	char *url = article_url(a, base_url);
	bool usable = strcmp(a->status, "published") == 0;
	json_t *o =
	    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "uri", a->uri && *a->uri ? a->uri : url,
	              "type", "text", "language", article_language(a, site_language), "pubStatus",
	              usable ? "usable" : "withheld", "firstCreated", a->published_at,
	              "versionCreated", a->updated_at);
	if (!o) {
		free(url);
		return NULL;
	}
	json_object_set_new(o, "headlines", role_value("main", NULL, a->title));
	if (*a->summary)
		json_object_set_new(o, "descriptions", role_value("summary", NULL, a->summary));
	json_object_set_new(o, "bodies", role_value("main", "text/html", a->body_html));
	if (*a->author)
		json_object_set_new(o, "by", json_string(a->author));
	json_t *sources = json_array();
	if (*a->source)
		json_array_append_new(sources, party(a->source, "source"));
	if (*a->editor)
		json_array_append_new(sources, party(a->editor, "editor"));
	if (json_array_size(sources))
		json_object_set_new(o, "infoSources", sources);
	else
		json_decref(sources);
	if (a->ntags) {
		json_t *subjects = json_array();
		for (size_t i = 0; i < a->ntags; i++) {
			char *page = article_tag_path(a->tags[i], base_url);
			json_array_append_new(
			    subjects, json_pack("{s:s, s:s}", "name", a->tags[i], "uri", page));
			free(page);
		}
		json_object_set_new(o, "subjects", subjects);
	}
	json_object_set_new(o, "altIds",
	                    json_pack("[{s:s, s:s}]", "role", "slug", "value", a->slug));
	free(url);
	return o;
}

/* --- ninjs as a story --- */

/* What becomes of each top-level key of a document. */
enum use { MAPPED, SERVER, IGNORED };

struct key {
	const char *name;
	enum use use;
};

/* ninjs 3.1's properties (ninjs-schema_3.1.json, ninjsType). */
static const struct key ninjs_keys[] = {
    {"uri", MAPPED},
    {"type", MAPPED},
    {"language", MAPPED},
    {"pubStatus", MAPPED},
    {"firstCreated", MAPPED},
    {"contentCreated", MAPPED},
    {"versionCreated", SERVER},
    {"headlines", MAPPED},
    {"descriptions", MAPPED},
    {"bodies", MAPPED},
    {"by", MAPPED},
    {"infoSources", MAPPED},
    {"subjects", MAPPED},
    {"altIds", MAPPED},
    {"representationType", IGNORED},
    {"profile", IGNORED},
    {"version", IGNORED},
    {"embargoedUntil", IGNORED},
    {"urgency", IGNORED},
    {"copyrightHolder", IGNORED},
    {"copyrightNotice", IGNORED},
    {"usageTerms", IGNORED},
    {"edNote", IGNORED},
    {"people", IGNORED},
    {"organisations", IGNORED},
    {"places", IGNORED},
    {"events", IGNORED},
    {"eventDetails", IGNORED},
    {"plannedCoverage", IGNORED},
    {"objects", IGNORED},
    {"title", IGNORED},
    {"slugline", IGNORED},
    {"located", IGNORED},
    {"renditions", IGNORED},
    {"associations", IGNORED},
    {"trustIndicators", IGNORED},
    {"standard", IGNORED},
    {"genres", IGNORED},
    {"expires", IGNORED},
    {"rightsInfo", IGNORED},
    {"digitalSourceType", IGNORED},
    {NULL, IGNORED},
};

/* The keys Superdesk's ninjs formatter maps onto a story; the rest of what it writes is left
 * out (its dialect has no schema to refuse unknown keys by). */
static const struct key superdesk_keys[] = {
    {"guid", MAPPED},         {"type", MAPPED},
    {"language", MAPPED},     {"pubstatus", MAPPED},
    {"firstcreated", MAPPED}, {"versioncreated", SERVER},
    {"headline", MAPPED},     {"description_text", MAPPED},
    {"body_html", MAPPED},    {"body_text", MAPPED},
    {"byline", MAPPED},       {"source", MAPPED},
    {"subject", MAPPED},      {NULL, IGNORED},
};

static const struct key *key_of(const struct key *keys, const char *name)
{
	for (; keys->name; keys++)
		if (strcmp(keys->name, name) == 0)
			return keys;
	return NULL;
}

static int bad(struct article_error *err, const char *field, const char *message)
{
	snprintf(err->field, sizeof(err->field), "%s", field);
	snprintf(err->message, sizeof(err->message), "%s", message);
	return -1;
}

/* An optional string member; -1 when it is there with another type. */
static int get_string(const json_t *o, const char *key, const char *field, const char **out,
                      struct article_error *err)
{
	json_t *v = json_object_get(o, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return bad(err, field, "must be a string");
	*out = json_string_value(v);
	return 0;
}

/* An array of objects (headlines, bodies, ...): -1 when it is something else. */
static int get_objects(const json_t *o, const char *key, json_t **out, struct article_error *err)
{
	json_t *v = json_object_get(o, key);
	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_array(v))
		return bad(err, key, "must be an array of objects");
	size_t i;
	json_t *item;
	json_array_foreach(v, i, item)
	{
		if (!json_is_object(item)) {
			snprintf(err->field, sizeof(err->field), "%s[%zu]", key, i);
			snprintf(err->message, sizeof(err->message), "must be an object");
			return -1;
		}
	}
	*out = v;
	return 0;
}

static bool is_html(const char *content_type)
{
	return content_type && (strncasecmp(content_type, "text/html", 9) == 0 ||
	                        strncasecmp(content_type, "application/xhtml+xml", 21) == 0 ||
	                        strcasecmp(content_type, "body_xhtml") == 0 ||
	                        strcasecmp(content_type, "html") == 0);
}

/* The item of a role/value array to use: the one whose role is one of roles (in that order),
 * else the first. Checks every item's value and contentType are strings; *index is its place,
 * SIZE_MAX when the array is empty. */
static int pick(json_t *items, const char *key, const char *const *roles, json_t **out,
                size_t *index, struct article_error *err)
{
	*out = NULL;
	*index = SIZE_MAX;
	size_t i;
	json_t *item;
	json_array_foreach(items, i, item)
	{
		char field[64];
		const char *s;
		snprintf(field, sizeof(field), "%s[%zu].value", key, i);
		if (get_string(item, "value", field, &s, err) < 0)
			return -1;
		if (!s)
			return bad(err, field, "is required");
		snprintf(field, sizeof(field), "%s[%zu].contentType", key, i);
		if (get_string(item, "contentType", field, &s, err) < 0)
			return -1;
		snprintf(field, sizeof(field), "%s[%zu].role", key, i);
		if (get_string(item, "role", field, &s, err) < 0)
			return -1;
	}
	for (const char *const *r = roles; *r && !*out; r++) {
		json_array_foreach(items, i, item)
		{
			const char *role = json_string_value(json_object_get(item, "role"));
			if (role && strcmp(role, *r) == 0) {
				*out = item;
				*index = i;
				break;
			}
		}
	}
	if (!*out && json_array_size(items)) {
		*out = json_array_get(items, 0);
		*index = 0;
	}
	return 0;
}

/* A body's HTML as Markdown into story's body; -1 with err naming field when it is refused. */
static int html_body(json_t *story, const char *html, const char *field, struct article_error *err)
{
	struct buf md = BUF_INIT;
	int rc = ninjs_html_markdown(&md, html, strlen(html));
	if (rc == 0)
		json_object_set_new(story, "body", json_string(buf_str(&md)));
	buf_cleanup(&md);
	if (rc == -EINVAL)
		return bad(err, field, "has a tag with more than 100 attributes");
	if (rc < 0)
		return bad(err, field,
		           "holds markup that makes more than 8 times its size in text");
	return 0;
}

/* A body: HTML (preferred) becomes Markdown, plain text its paragraphs. */
static int pick_body(json_t *bodies, json_t *story, struct article_error *err, size_t *index)
{
	static const char *const roles[] = {"main", "richtext", "body", NULL};
	json_t *item;
	if (pick(bodies, "bodies", roles, &item, index, err) < 0)
		return -1;
	/* an HTML body says more than a plain one with the same role: look for one first */
	size_t i;
	json_t *b;
	json_array_foreach(bodies, i, b)
	{
		const char *ct = json_string_value(json_object_get(b, "contentType"));
		const char *role = json_string_value(json_object_get(b, "role"));
		const char *chosen = item ? json_string_value(json_object_get(item, "role")) : NULL;
		if (is_html(ct) &&
		    (!item || !is_html(json_string_value(json_object_get(item, "contentType")))) &&
		    (!chosen || !role || strcmp(role, chosen) == 0 ||
		     strcmp(role, "richtext") == 0)) {
			item = b;
			*index = i;
			break;
		}
	}
	if (!item)
		return 0;
	const char *value = json_string_value(json_object_get(item, "value"));
	const char *ct = json_string_value(json_object_get(item, "contentType"));
	if (is_html(ct)) {
		char field[40];
		snprintf(field, sizeof(field), "bodies[%zu]", *index);
		return html_body(story, value, field, err);
	}
	struct buf md = BUF_INIT;
	ninjs_text_markdown(&md, value);
	json_object_set_new(story, "body", json_string(buf_str(&md)));
	buf_cleanup(&md);
	return 0;
}

/* Plain text of a value that may be HTML (a headline or description with a contentType):
 * its text on one line, controls left out. */
static json_t *plain(const char *value, const char *content_type)
{
	if (!is_html(content_type))
		return json_string(value);
	int why;
	htmlDocPtr doc = parse_html(value, strlen(value), &why);
	struct buf text = BUF_INIT, line = BUF_INIT;
	if (doc) {
		for (const xmlNode *n = doc->children; n; n = n->next)
			if (n->type == XML_ELEMENT_NODE)
				all_text(n, &text);
		xmlFreeDoc(doc);
	}
	const unsigned char *p = (const unsigned char *)buf_str(&text);
	size_t n = text.len;
	bool space = false;
	for (size_t i = 0; i < n; i++) {
		size_t len = 1;
		if (p[i] == ' ' || p[i] == '\n' || p[i] == '\t' || p[i] == '\r' ||
		    control_at(p + i, n - i, &len)) {
			space = line.len > 0;
			i += len - 1;
			continue;
		}
		if (space)
			buf_putc(&line, ' ');
		space = false;
		buf_putc(&line, (char)p[i]);
	}
	json_t *s = json_string(buf_str(&line));
	buf_cleanup(&text);
	buf_cleanup(&line);
	return s ? s : json_string("");
}

/* How a Gazette field's error is said in the document's own words. */
struct origin {
	const char *field, *ninjs, *superdesk;
};

static const struct origin origins[] = {
    {"title", "headlines", "headline"},
    {"body", "bodies", "body_html"},
    {"summary", "descriptions", "description_text"},
    {"published_at", "firstCreated", "firstcreated"},
    {"status", "pubStatus", "pubstatus"},
    {"author", "by", "byline"},
    {"editor", "infoSources", "source"},
    {"source", "infoSources", "source"},
    {"language", "language", "language"},
    {"uri", "uri", "guid"},
    {"slug", "uri", "guid"},
    {"tags", "subjects", "subject"},
};

/* Turns err's Gazette field into the document's; tags[i] becomes the subject it came from. */
static void name_origin(struct article_error *err, bool superdesk, const size_t *tag_from)
{
	unsigned long i;
	if (sscanf(err->field, "tags[%lu]", &i) == 1) {
		snprintf(err->field, sizeof(err->field), "%s[%zu]",
		         superdesk ? "subject" : "subjects", tag_from[i < 20 ? i : 0]);
		return;
	}
	for (size_t k = 0; k < sizeof(origins) / sizeof(origins[0]); k++) {
		if (strcmp(err->field, origins[k].field) == 0) {
			snprintf(err->field, sizeof(err->field), "%s",
			         superdesk ? origins[k].superdesk : origins[k].ninjs);
			return;
		}
	}
}

static int map_status(const char *s, const char *field, json_t *story, struct article_error *err)
{
	if (!s)
		return 0;
	if (strcmp(s, "usable") == 0)
		json_object_set_new(story, "status", json_string("published"));
	else if (strcmp(s, "withheld") == 0 || strcmp(s, "canceled") == 0)
		json_object_set_new(story, "status", json_string("draft"));
	else
		return bad(err, field, "must be \"usable\", \"withheld\" or \"canceled\"");
	return 0;
}

/* subjects (ninjs) or subject (Superdesk): each one's name is a tag. */
static int map_subjects(json_t *subjects, const char *key, json_t *story, size_t *tag_from,
                        struct article_error *err)
{
	json_t *tags = json_array();
	size_t i;
	json_t *s;
	json_array_foreach(subjects, i, s)
	{
		char field[64];
		const char *name;
		snprintf(field, sizeof(field), "%s[%zu].name", key, i);
		if (get_string(s, "name", field, &name, err) < 0) {
			json_decref(tags);
			return -1;
		}
		if (!name || !*name)
			continue; /* a subject known only by its uri or code: no tag */
		if (json_array_size(tags) == ARTICLE_TAGS_MAX) {
			json_decref(tags);
			return bad(err, key, "a story has at most 20 tags");
		}
		tag_from[json_array_size(tags)] = i;
		json_array_append_new(tags, json_string(name));
	}
	json_object_set_new(story, "tags", tags);
	return 0;
}

static void set_string(json_t *story, const char *key, const char *value)
{
	if (value)
		json_object_set_new(story, key, json_string(value));
}

/* What both dialects say alike: the type (text only), the language and the status (its key
 * spelt status_key). */
static int read_common(const json_t *in, json_t *story, const char *status_key,
                       struct article_error *err)
{
	const char *s;
	if (get_string(in, "type", "type", &s, err) < 0)
		return -1;
	if (s && strcmp(s, "text") != 0)
		return bad(err, "type", "only \"text\" news objects are stories");
	if (get_string(in, "language", "language", &s, err) < 0)
		return -1;
	set_string(story, "language", s);
	if (get_string(in, status_key, status_key, &s, err) < 0)
		return -1;
	return map_status(s, status_key, story, err);
}

/* ninjs 3.1 into story (Gazette's input fields). */
static int from_ninjs(const json_t *in, json_t *story, size_t *tag_from, struct article_error *err)
{
	const char *s;
	json_t *items, *item;
	size_t index;
	if (read_common(in, story, "pubStatus", err) < 0)
		return -1;
	const char *first, *content;
	if (get_string(in, "firstCreated", "firstCreated", &first, err) < 0 ||
	    get_string(in, "contentCreated", "contentCreated", &content, err) < 0 ||
	    get_string(in, "versionCreated", "versionCreated", &s, err) < 0)
		return -1;
	/* when it was first published, as near as the document says */
	set_string(story, "published_at", first ? first : content ? content : s);
	if (s)
		json_object_set_new(story, "updated_at", json_string(s));

	static const char *const headline_roles[] = {"main", "headline", NULL};
	if (get_objects(in, "headlines", &items, err) < 0)
		return -1;
	if (items && pick(items, "headlines", headline_roles, &item, &index, err) < 0)
		return -1;
	if (!items || !item)
		return bad(err, "headlines", "is required: a story has a headline");
	json_object_set_new(story, "title",
	                    plain(json_string_value(json_object_get(item, "value")),
	                          json_string_value(json_object_get(item, "contentType"))));

	static const char *const summary_roles[] = {"summary", "abstract", "teaser", NULL};
	if (get_objects(in, "descriptions", &items, err) < 0)
		return -1;
	if (items && pick(items, "descriptions", summary_roles, &item, &index, err) < 0)
		return -1;
	if (items && item)
		json_object_set_new(story, "summary",
		                    plain(json_string_value(json_object_get(item, "value")),
		                          json_string_value(json_object_get(item, "contentType"))));

	if (get_objects(in, "bodies", &items, err) < 0)
		return -1;
	if (!items || json_array_size(items) == 0)
		return bad(err, "bodies", "is required: a story has a body");
	if (pick_body(items, story, err, &index) < 0)
		return -1;

	if (get_string(in, "by", "by", &s, err) < 0)
		return -1;
	set_string(story, "author", s);

	if (get_objects(in, "infoSources", &items, err) < 0)
		return -1;
	size_t i;
	json_array_foreach(items, i, item)
	{
		char field[64];
		const char *role, *name;
		snprintf(field, sizeof(field), "infoSources[%zu].role", i);
		if (get_string(item, "role", field, &role, err) < 0)
			return -1;
		snprintf(field, sizeof(field), "infoSources[%zu].name", i);
		if (get_string(item, "name", field, &name, err) < 0)
			return -1;
		if (!name || !role)
			continue;
		if (strcmp(role, "editor") == 0 && !json_object_get(story, "editor"))
			json_object_set_new(story, "editor", json_string(name));
		else if (strcmp(role, "source") == 0 && !json_object_get(story, "source"))
			json_object_set_new(story, "source", json_string(name));
	}
	if (get_objects(in, "subjects", &items, err) < 0)
		return -1;
	if (items && map_subjects(items, "subjects", story, tag_from, err) < 0)
		return -1;
	/* Gazette's own documents say their slug */
	if (get_objects(in, "altIds", &items, err) < 0)
		return -1;
	json_array_foreach(items, i, item)
	{
		const char *role = json_string_value(json_object_get(item, "role"));
		const char *value = json_string_value(json_object_get(item, "value"));
		if (role && value && strcmp(role, "slug") == 0 && article_slug_valid(value))
			json_object_set_new(story, "slug", json_string(value));
	}
	return 0;
}

/* Superdesk's ninjs 1.x into story. */
static int from_superdesk(const json_t *in, json_t *story, size_t *tag_from,
                          struct article_error *err)
{
	const char *s, *html, *text;
	if (read_common(in, story, "pubstatus", err) < 0)
		return -1;
	if (get_string(in, "firstcreated", "firstcreated", &s, err) < 0)
		return -1;
	const char *version;
	if (get_string(in, "versioncreated", "versioncreated", &version, err) < 0)
		return -1;
	set_string(story, "published_at", s ? s : version);
	if (version)
		json_object_set_new(story, "updated_at", json_string(version));
	if (get_string(in, "headline", "headline", &s, err) < 0)
		return -1;
	if (!s)
		return bad(err, "headline", "is required: a story has a headline");
	set_string(story, "title", s);
	if (get_string(in, "description_text", "description_text", &s, err) < 0)
		return -1;
	set_string(story, "summary", s);
	if (get_string(in, "body_html", "body_html", &html, err) < 0 ||
	    get_string(in, "body_text", "body_text", &text, err) < 0)
		return -1;
	if (!html && !text)
		return bad(err, "body_html", "is required: a story has a body");
	if (html && html_body(story, html, "body_html", err) < 0)
		return -1;
	if (!html) {
		struct buf md = BUF_INIT;
		ninjs_text_markdown(&md, text);
		json_object_set_new(story, "body", json_string(buf_str(&md)));
		buf_cleanup(&md);
	}
	if (get_string(in, "byline", "byline", &s, err) < 0)
		return -1;
	set_string(story, "author", s);
	if (get_string(in, "source", "source", &s, err) < 0)
		return -1;
	set_string(story, "source", s);
	json_t *subjects;
	if (get_objects(in, "subject", &subjects, err) < 0)
		return -1;
	return subjects ? map_subjects(subjects, "subject", story, tag_from, err) : 0;
}

int ninjs_to_article(const json_t *in, enum article_mode mode, int64_t now, const char *base_url,
                     struct article *a, struct article_error *err, json_t *ignored)
{
	memset(err, 0, sizeof(*err));
	if (!json_is_object(in))
		return bad(err, "", "a ninjs document must be a JSON object");
	bool superdesk = !json_object_get(in, "uri") && json_object_get(in, "guid");
	const struct key *keys = superdesk ? superdesk_keys : ninjs_keys;
	const char *name;
	json_t *value;
	json_object_foreach((json_t *)in, name, value)
	{
		const struct key *k = key_of(keys, name);
		if (!k && !superdesk) {
			snprintf(err->field, sizeof(err->field), "%.63s", name);
			snprintf(err->message, sizeof(err->message), "is not a field of ninjs 3.1");
			if (strlen(name) >= sizeof(err->field))
				err->field[0] = '\0'; /* too long to name safely */
			return -1;
		}
		if ((!k || k->use == IGNORED) && ignored)
			json_array_append_new(ignored, json_string(name));
	}
	const char *id_key = superdesk ? "guid" : "uri";
	const char *uri;
	if (get_string(in, id_key, id_key, &uri, err) < 0)
		return -1;
	if (!uri || !*uri)
		return bad(err, id_key, "is required: it says which story this is");

	json_t *story = json_object();
	size_t tag_from[ARTICLE_TAGS_MAX] = {0};
	const char *slug = article_url_slug(uri, base_url);
	int rc = superdesk ? from_superdesk(in, story, tag_from, err)
	                   : from_ninjs(in, story, tag_from, err);
	if (rc == 0) {
		if (slug)
			json_object_set_new(story, "slug", json_string(slug));
		else
			json_object_set_new(story, "uri", json_string(uri));
		if (mode != ARTICLE_IMPORT)
			json_object_del(story, "updated_at"); /* the server's to say */
		rc = article_from_json(story, mode, now, a, err);
		if (rc < 0)
			name_origin(err, superdesk, tag_from);
	}
	json_decref(story);
	return rc;
}

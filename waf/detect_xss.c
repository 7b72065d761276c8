/* Cross-site scripting detector (the detect_xss operator).
 *
 * Two linear passes over the value:
 *
 * 1. Markup, read the way a browser's tokenizer reads it: '<' and a letter
 *    open a tag; attributes are separated by spaces or '/', values may be
 *    quoted with " ' or ` (old IE) or not at all; the tag ends at '>' or
 *    at the end of the value (a page supplies the rest). A tag is script
 *    when it has an event handler attribute (on...=), a URL attribute
 *    (href, src, action, formaction, data, background, ...) whose value
 *    is a javascript:, vbscript:, data:text/html or data:image/svg+xml
 *    URL once entities are decoded and tabs, newlines and control
 *    characters dropped (as URL parsing does), a style attribute with
 *    expression(), behavior, -moz-binding or javascript:, srcdoc, or a
 *    meta http-equiv (refresh to anywhere).
 *
 * 2. Text, for what lands inside an attribute or a script rather than
 *    between tags: "<script" and "</script" anywhere; a tag that runs
 *    code or loads content once it has any attribute (iframe, frame(set),
 *    object, embed, applet, base, link, svg, math, import, portal, meta);
 *    style with script in its CSS; also inside attribute values of other
 *    tags; a known DOM event name followed by '=' after a quote
 *    (" onmouseover=...) or with a script-like value (onerror=alert(1));
 *    a javascript: or vbscript: URL at the start of the value or after a
 *    quote, '=' or space when code follows it; breaking out of a
 *    JavaScript string ('-alert(1)-', ";alert(1)//); document.cookie,
 *    document.domain, document.write, String.fromCharCode,
 *    constructor.constructor; template injection ({{...alert(...}},
 *    ${alert(1)}).
 *
 * Allowed on purpose: plain formatting markup without handlers (<b>,
 * <i>, <p>, <a href="https://...">, <img src="photo.jpg">), comparisons
 * ("a < b and c > d", "x<3", "<3"), generics ("List<String>"), the word
 * "javascript" in prose ("JavaScript: The Good Parts"), tag names used as
 * words ("the <object> element", "url.<base>.insteadOf").
 *
 * Speed: every rule of the text pass needs one byte at a fixed place ('<'
 * for a tag, '=' for a handler, a quote for a string break, '.' for
 * document.cookie, '{' for a template, ':' or '&' for a URL scheme), so
 * only those bytes are looked at (SSE2 finds them 16 bytes at a time); the
 * markup pass runs when there is a '<'. tests/fuzz/fuzz_waf_detect.c checks
 * the answer against every rule at every byte.
 *
 * Pure function, no allocation; every look-ahead is bounded, so the time
 * is linear in the length. */
#include "waf/detect.h"

#include <stddef.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#define NAME_MAX_LEN   24   /* tag and attribute names compared */
#define SCHEME_RAW_MAX 160  /* bytes read to decode a URL scheme */
#define VALUE_LOOK     256  /* bytes of a value looked at for code */
#define STYLE_LOOK     1024 /* bytes of CSS looked at after <style */

static int lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

static int is_alpha(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* HTML's whitespace, plus the control characters browsers skip. */
static int is_html_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' || c == 0;
}

static int is_quote(int c)
{
	return c == '"' || c == '\'' || c == '`';
}

/* Case-insensitive: does s[i..len) start with the lowercase word w? */
static int starts_with(const char *s, size_t len, size_t i, const char *w)
{
	size_t k;

	for (k = 0; w[k] != '\0'; k++)
		if (i + k >= len || lower((unsigned char)s[i + k]) != w[k])
			return 0;
	return 1;
}

/* ---- entities and URL schemes */

static const struct {
	const char *name;
	char c;
} named_entities[] = {
    {"colon", ':'},  {"tab", '\t'}, {"newline", '\n'}, {"lpar", '('},   {"rpar", ')'}, {"sol", '/'},
    {"period", '.'}, {"quot", '"'}, {"apos", '\''},    {"amp", '&'},    {"lt", '<'},   {"gt", '>'},
    {"grave", '`'},  {"excl", '!'}, {"nbsp", ' '},     {"equals", '='},
};

/* Decode one character at s[i] as an attribute value would be: a
 * character reference (with or without ';') or the byte. Sets *adv to the
 * bytes used. Returns the character (code points above 0x7f as 0x80). */
static int decode_char(const char *s, size_t len, size_t i, size_t *adv)
{
	size_t j, k;
	unsigned long v = 0;
	int digits = 0;

	*adv = 1;
	if (s[i] != '&' || i + 1 >= len)
		return (unsigned char)s[i];
	j = i + 1;
	if (s[j] == '#') {
		j++;
		if (j < len && (s[j] == 'x' || s[j] == 'X')) {
			for (j++; j < len && j < i + 16; j++) {
				int c = lower((unsigned char)s[j]);

				if (is_digit(c))
					v = v * 16 + (unsigned long)(c - '0');
				else if (c >= 'a' && c <= 'f')
					v = v * 16 + (unsigned long)(c - 'a' + 10);
				else
					break;
				digits++;
			}
		} else {
			for (; j < len && j < i + 16 && is_digit((unsigned char)s[j]); j++) {
				v = v * 10 + (unsigned long)(s[j] - '0');
				digits++;
			}
		}
		if (!digits)
			return '&';
		if (j < len && s[j] == ';')
			j++;
		*adv = j - i;
		return v < 0x80 ? (int)v : 0x80;
	}
	for (k = 0; k < sizeof(named_entities) / sizeof(named_entities[0]); k++) {
		const char *name = named_entities[k].name;

		if (lower((unsigned char)s[j]) == name[0] && starts_with(s, len, j, name)) {
			j += strlen(name);
			if (j < len && s[j] == ';')
				j++;
			*adv = j - i;
			return named_entities[k].c;
		}
	}
	return '&';
}

enum scheme { SCHEME_NONE, SCHEME_SCRIPT, SCHEME_DATA_HTML };

/* Does the URL at s[i..end) start with a scheme that runs script? Leading
 * spaces and control characters are skipped, tabs and newlines inside
 * are dropped, entities are decoded. *after: where the URL continues. */
static enum scheme url_scheme(const char *s, size_t end, size_t i, size_t *after)
{
	static const struct {
		const char *p;
		enum scheme k;
	} schemes[] = {
	    {"javascript:", SCHEME_SCRIPT},           {"vbscript:", SCHEME_SCRIPT},
	    {"livescript:", SCHEME_SCRIPT},           {"data:text/html", SCHEME_DATA_HTML},
	    {"data:image/svg+xml", SCHEME_DATA_HTML}, {"data:application/xhtml", SCHEME_DATA_HTML},
	    {"data:text/xml", SCHEME_DATA_HTML},
	};
	char buf[24];
	size_t n = 0, adv, limit = i + SCHEME_RAW_MAX, k;
	int c, lead = 1;

	if (limit > end)
		limit = end;
	while (i < limit && n < sizeof(buf)) {
		c = decode_char(s, end, i, &adv);
		i += adv;
		if (c <= 0x20 && (lead || c == '\t' || c == '\n' || c == '\r' || c == 0))
			continue;
		lead = 0;
		buf[n++] = (char)lower(c);
		for (k = 0; k < sizeof(schemes) / sizeof(schemes[0]); k++) {
			size_t pl = strlen(schemes[k].p);

			if (n == pl && memcmp(buf, schemes[k].p, pl) == 0) {
				*after = i;
				return schemes[k].k;
			}
		}
		/* stop as soon as no scheme can match */
		for (k = 0; k < sizeof(schemes) / sizeof(schemes[0]); k++)
			if (strlen(schemes[k].p) >= n && memcmp(buf, schemes[k].p, n) == 0)
				break;
		if (k == sizeof(schemes) / sizeof(schemes[0]))
			return SCHEME_NONE;
	}
	return SCHEME_NONE;
}

/* After "javascript:" at i: code, not a word in a sentence
 * ("javascript: the good parts")? */
static int looks_like_code(const char *s, size_t len, size_t i)
{
	size_t end = i + VALUE_LOOK < len ? i + VALUE_LOOK : len, ident = 0;
	int dot = 0, c;

	while (i < end && is_html_space((unsigned char)s[i]))
		i++;
	if (i >= end)
		return 0;
	c = (unsigned char)s[i];
	if (strchr("([{'\"`!+-~/%&", c) != NULL)
		return 1; /* also "//%0a" comment tricks and entities */
	while (i < end) {
		c = (unsigned char)s[i];
		if (is_alpha(c) || is_digit(c) || c == '_' || c == '$') {
			ident++;
		} else if (c == '.' && ident) {
			dot = 1;
		} else {
			break;
		}
		i++;
	}
	if (!ident)
		return 0;
	if (dot)
		return 1;
	return i < end && strchr("(`=[;", s[i]) != NULL;
}

/* ---- event handlers */

/* DOM event names (without "on"), sorted. */
/* clang-format off */
static const char *const events[] = {
	"abort", "activate", "afterprint", "afterscriptexecute", "animationcancel", "animationend",
	"animationiteration", "animationstart", "auxclick", "beforeactivate", "beforecopy",
	"beforecut", "beforedeactivate", "beforeinput", "beforepaste", "beforeprint",
	"beforescriptexecute", "beforetoggle", "beforeunload", "begin", "blur", "bounce", "cancel",
	"canplay", "canplaythrough", "change", "click", "close", "contextmenu", "copy", "cuechange",
	"cut", "dblclick", "deactivate", "drag", "dragend", "dragenter", "dragexit", "dragleave",
	"dragover", "dragstart", "drop", "durationchange", "emptied", "end", "ended", "error",
	"finish", "focus", "focusin", "focusout", "formdata", "fullscreenchange", "hashchange",
	"input", "invalid", "keydown", "keypress", "keyup", "load", "loadeddata", "loadedmetadata",
	"loadend", "loadstart", "message", "mousedown", "mouseenter", "mouseleave", "mousemove",
	"mouseout", "mouseover", "mouseup", "mousewheel", "pagehide", "pageshow", "paste", "pause",
	"play", "playing", "pointercancel", "pointerdown", "pointerenter", "pointerleave",
	"pointermove", "pointerout", "pointerover", "pointerrawupdate", "pointerup", "popstate",
	"progress", "propertychange", "ratechange", "readystatechange", "repeat", "reset", "resize",
	"scroll", "scrollend", "search", "securitypolicyviolation", "seeked", "seeking", "select",
	"selectionchange", "selectstart", "show", "start", "storage", "submit", "suspend",
	"timeupdate", "toggle", "touchcancel", "touchend", "touchmove", "touchstart",
	"transitioncancel", "transitionend", "transitionrun", "transitionstart", "unload",
	"volumechange", "waiting", "webkitanimationend", "webkitanimationiteration",
	"webkitanimationstart", "webkittransitionend", "wheel",
};
/* clang-format on */

static int is_event(const char *name)
{
	size_t lo = 0, hi = sizeof(events) / sizeof(events[0]);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(name, events[mid]);

		if (r == 0)
			return 1;
		if (r < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

/* ---- pass 1: tags and attributes */

struct attr {
	char name[NAME_MAX_LEN + 1];
	size_t name_len;
	int has_value;
	size_t v, v_end; /* value bytes */
};

static int url_attr(const char *n)
{
	static const char *const names[] = {
	    "href",    "src",     "action",  "formaction", "data",     "background",
	    "lowsrc",  "dynsrc",  "poster",  "code",       "codebase", "xlink:href",
	    "to",      "from",    "values",  "by",         "srcset",   "ping",
	    "content", "archive", "classid", "icon",       "manifest",
	};
	size_t k;

	for (k = 0; k < sizeof(names) / sizeof(names[0]); k++)
		if (strcmp(n, names[k]) == 0)
			return 1;
	return 0;
}

/* Script in CSS: expression(), behavior:, -moz-binding, javascript:,
 * @import, within s[i..end). */
/* Does s[i..end) spell the lowercase word w, with CSS comments allowed
 * between its letters (old IE: "expr/ * x * /ession")? */
static int css_word_at(const char *s, size_t end, size_t i, const char *w)
{
	size_t k = 0, steps = 0;

	while (w[k] != '\0' && i < end && steps++ < VALUE_LOOK) {
		if (s[i] == '/' && i + 1 < end && s[i + 1] == '*') {
			const char *c = NULL;
			size_t j;

			for (j = i + 2; j + 1 < end && j < i + VALUE_LOOK; j++)
				if (s[j] == '*' && s[j + 1] == '/') {
					c = s + j;
					break;
				}
			if (c == NULL)
				return 0;
			i = (size_t)(c - s) + 2;
			continue;
		}
		if (lower((unsigned char)s[i]) != w[k])
			return 0;
		i++;
		k++;
	}
	return w[k] == '\0';
}

static int css_has_script(const char *s, size_t end, size_t i)
{
	size_t adv;

	for (; i < end; i++) {
		int c = lower((unsigned char)s[i]);

		if (c == 'e' && css_word_at(s, end, i, "expression"))
			return 1;
		if (c == 'b' && starts_with(s, end, i, "behavior"))
			return 1;
		if (c == '-' && starts_with(s, end, i, "-moz-binding"))
			return 1;
		if (c == '@' && starts_with(s, end, i, "@import"))
			return 1;
		if ((c == 'j' || c == 'v' || c == '&') &&
		    url_scheme(s, end, i, &adv) == SCHEME_SCRIPT)
			return 1;
	}
	return 0;
}

static int attr_is_script(const char *s, const char *tag, const struct attr *a)
{
	size_t after;

	if (a->name_len > 2 && a->name[0] == 'o' && a->name[1] == 'n' &&
	    is_alpha((unsigned char)a->name[2])) {
		size_t k = 2;

		if (a->has_value)
			return 1;
		/* "onload!#$%&()...=alert(1)": junk after an event name that
		 * old parsers skipped */
		char ev[NAME_MAX_LEN + 1];

		while (k < a->name_len && is_alpha((unsigned char)a->name[k]))
			k++;
		if (k == a->name_len || k == 2)
			return 0;
		memcpy(ev, a->name + 2, k - 2);
		ev[k - 2] = '\0';
		return is_event(ev);
	}
	if (!a->has_value)
		return 0;
	if (strcmp(a->name, "srcdoc") == 0)
		return 1;
	/* SVG animation of a handler: <set attributeName=onmouseover to=...> */
	if (strcmp(a->name, "attributename") == 0 && a->v_end - a->v > 2 &&
	    lower((unsigned char)s[a->v]) == 'o' && lower((unsigned char)s[a->v + 1]) == 'n')
		return 1;
	if (strcmp(a->name, "http-equiv") == 0 && strcmp(tag, "meta") == 0)
		return 1;
	if (strcmp(a->name, "style") == 0)
		return css_has_script(s, a->v_end, a->v);
	if (url_attr(a->name)) {
		/* "content" of meta refresh: "0;url=javascript:..." */
		size_t v = a->v;

		if (strcmp(a->name, "content") == 0 || strcmp(a->name, "srcset") == 0) {
			size_t i;

			for (i = a->v; i < a->v_end; i++)
				if (url_scheme(s, a->v_end, i, &after) != SCHEME_NONE)
					return 1;
			return 0;
		}
		return url_scheme(s, a->v_end, v, &after) != SCHEME_NONE;
	}
	return 0;
}

/* Read one attribute at *p (inside a tag, before '>'). Returns 0 at the
 * end of the tag. */
static int read_attr(const char *s, size_t len, size_t *p, struct attr *a)
{
	size_t i = *p;

	while (i < len && (is_html_space((unsigned char)s[i]) || s[i] == '/'))
		i++;
	if (i >= len || s[i] == '>') {
		*p = i;
		return 0;
	}
	a->name_len = 0;
	a->has_value = 0;
	/* the first character may be '=' (a parse error browsers keep) */
	do {
		if (a->name_len < NAME_MAX_LEN && s[i] != 0)
			a->name[a->name_len++] = (char)lower((unsigned char)s[i]);
		i++;
	} while (i < len && !is_html_space((unsigned char)s[i]) && s[i] != '/' && s[i] != '>' &&
	         s[i] != '=');
	a->name[a->name_len] = '\0';
	{
		size_t j = i;

		while (j < len && is_html_space((unsigned char)s[j]))
			j++;
		if (j < len && s[j] == '=') {
			i = j + 1;
			while (i < len && is_html_space((unsigned char)s[i]))
				i++;
			a->has_value = 1;
			if (i < len && is_quote((unsigned char)s[i])) {
				char q = s[i];
				const char *e = memchr(s + i + 1, q, len - i - 1);

				a->v = i + 1;
				a->v_end = e ? (size_t)(e - s) : len;
				i = e ? a->v_end + 1 : len;
			} else {
				a->v = i;
				while (i < len && !is_html_space((unsigned char)s[i]) &&
				       s[i] != '>')
					i++;
				a->v_end = i;
			}
		}
	}
	*p = i;
	return 1;
}

/* A tag whose '<' is at i (s[i + 1] is a letter). *next: where text
 * resumes. */
static int tag_is_script(const char *s, size_t len, size_t i, size_t *next)
{
	char tag[NAME_MAX_LEN + 1];
	size_t n = 0, p = i + 1;
	struct attr a;

	while (p < len && !is_html_space((unsigned char)s[p]) && s[p] != '/' && s[p] != '>') {
		if (s[p] == ':')
			n = 0; /* namespace prefix: <x:script> */
		else if (n < NAME_MAX_LEN && s[p] != 0)
			tag[n++] = (char)lower((unsigned char)s[p]);
		p++;
	}
	tag[n] = '\0';
	while (read_attr(s, len, &p, &a))
		if (attr_is_script(s, tag, &a))
			return 1;
	*next = p < len ? p + 1 : len;
	return 0;
}

static int pass_tags(const char *s, size_t len)
{
	size_t i = 0, next;

	while (i < len) {
		const char *lt = memchr(s + i, '<', len - i);

		if (lt == NULL)
			return 0;
		i = (size_t)(lt - s);
		if (i + 1 < len && is_alpha((unsigned char)s[i + 1])) {
			if (tag_is_script(s, len, i, &next))
				return 1;
			i = next;
		} else {
			i++;
		}
	}
	return 0;
}

/* ---- pass 2: text */

/* Tags that run code or load a document whatever their attribute values
 * ("<script>" always; the others once they have an attribute: "<svg/onload",
 * "<iframe src", "<base href", while a bare "url.<base>.insteadOf" or "the
 * <object> element" is text). */
static const char *const script_tags[] = {
    "iframe", "frame", "frameset", "object", "embed",  "applet", "base",
    "link",   "svg",   "math",     "import", "portal", "meta",
};

/* '<' (or fullwidth '＜') at i: returns the bytes of it, else 0. */
static size_t lt_at(const char *s, size_t len, size_t i)
{
	if (s[i] == '<')
		return 1;
	if ((unsigned char)s[i] == 0xef && i + 2 < len && (unsigned char)s[i + 1] == 0xbc &&
	    (unsigned char)s[i + 2] == 0x9c)
		return 3;
	return 0;
}

/* A tag at i (after its '<'). *css_done: how far CSS after a <style has
 * been read already, so that many "<style" read each byte once. */
static int script_tag_at(const char *s, size_t len, size_t i, size_t *css_done)
{
	char tag[NAME_MAX_LEN + 1];
	size_t n = 0, p = i, k;
	int end_tag = 0;

	if (p < len && s[p] == '/') {
		end_tag = 1;
		p++;
	}
	if (p >= len || !is_alpha((unsigned char)s[p]))
		return 0;
	while (p < len && n < NAME_MAX_LEN) {
		int c = (unsigned char)s[p];

		if (c == 0) { /* old IE ignored NUL inside names */
			p++;
			continue;
		}
		if (c == ':') {
			n = 0;
			p++;
			continue;
		}
		if (!is_alpha(c) && !is_digit(c) && c != '-' && c != '_')
			break;
		tag[n++] = (char)lower(c);
		p++;
	}
	tag[n] = '\0';
	if (p < len && (is_alpha((unsigned char)s[p]) || is_digit((unsigned char)s[p])))
		return 0; /* longer than any name we know */
	if (strcmp(tag, "script") == 0)
		return 1; /* <script ...> and </script> (leaving a script block) */
	if (end_tag)
		return 0;
	if (strcmp(tag, "style") == 0) {
		size_t from = p > *css_done ? p : *css_done;
		size_t end = p + STYLE_LOOK < len ? p + STYLE_LOOK : len;

		if (from >= end)
			return 0;
		*css_done = end;
		return css_has_script(s, end, from);
	}
	if (p >= len || !(is_html_space((unsigned char)s[p]) || s[p] == '/'))
		return 0; /* no attribute */
	for (k = 0; k < sizeof(script_tags) / sizeof(script_tags[0]); k++)
		if (strcmp(tag, script_tags[k]) == 0)
			return 1;
	return 0;
}

/* "on<event>" at i (a word start): an event handler outside a tag. */
static int handler_at(const char *s, size_t len, size_t i)
{
	char name[NAME_MAX_LEN + 1];
	size_t n = 0, p = i + 2, b, end;
	int quoted = 0;

	while (p < len && is_alpha((unsigned char)s[p])) {
		if (n >= NAME_MAX_LEN)
			return 0;
		name[n++] = (char)lower((unsigned char)s[p]);
		p++;
	}
	name[n] = '\0';
	if (n == 0 || !is_event(name))
		return 0;
	while (p < len && is_html_space((unsigned char)s[p]))
		p++;
	if (p >= len || s[p] != '=')
		return 0;
	p++;
	/* what stands before: a quote closing the attribute we are in */
	b = i;
	while (b > 0 && (is_html_space((unsigned char)s[b - 1]) || s[b - 1] == '/'))
		b--;
	if (b > 0 && is_quote((unsigned char)s[b - 1]))
		return 1;
	/* else the value must look like script */
	while (p < len && is_html_space((unsigned char)s[p]))
		p++;
	if (p < len && is_quote((unsigned char)s[p])) {
		quoted = 1;
		p++;
	}
	end = p + VALUE_LOOK < len ? p + VALUE_LOOK : len;
	for (; p < end; p++) {
		int c = (unsigned char)s[p];

		if (!quoted && is_html_space(c))
			break;
		if (c == '(' || c == '`' || c == '&' || c == '\\' || c == '=')
			return 1;
		if ((c == 'j' || c == 'J') && starts_with(s, len, p, "javascript:"))
			return 1;
	}
	return 0;
}

struct word {
	const char *w;
	size_t n;
};

#define WORD(w)                                                                                    \
	{                                                                                          \
		w, sizeof(w) - 1                                                                   \
	}

/* Bytes that may stand between a quote and a sink: operators, ',', ')', '}'. */
static int js_op(int c)
{
	switch (c) {
	case ';':
	case '+':
	case '-':
	case '*':
	case '/':
	case '|':
	case '&':
	case ',':
	case ')':
	case '}':
	case '^':
	case '%':
	case '<':
	case '>':
	case '!':
	case '?':
	case ':':
		return 1;
	default:
		return 0;
	}
}

/* JavaScript sinks called after breaking out of a string: '-alert(1)-' */
static int js_breakout_at(const char *s, size_t len, size_t i)
{
	static const struct word sinks[] = {
	    WORD("alert"),      WORD("prompt"),      WORD("confirm"),   WORD("eval"),
	    WORD("settimeout"), WORD("setinterval"), WORD("function"),  WORD("fetch"),
	    WORD("import"),     WORD("atob"),        WORD("open"),      WORD("print"),
	    WORD("top["),       WORD("window["),     WORD("self["),     WORD("parent["),
	    WORD("this["),      WORD("location"),    WORD("document."), WORD("window."),
	};
	size_t p = i + 1, ops = 0, k;
	int c;

	while (p < len && (is_html_space((unsigned char)s[p]) || js_op((unsigned char)s[p]))) {
		if (!is_html_space((unsigned char)s[p]))
			ops++;
		if (p - i > 16)
			return 0;
		p++;
	}
	if (!ops || p >= len || !is_alpha((unsigned char)s[p]))
		return 0; /* every sink starts with a letter */
	c = lower((unsigned char)s[p]);
	for (k = 0; k < sizeof(sinks) / sizeof(sinks[0]); k++) {
		size_t q = p + sinks[k].n;
		char last = sinks[k].w[sinks[k].n - 1];

		if (sinks[k].w[0] != c || !starts_with(s, len, p, sinks[k].w))
			continue;
		if (last == '.' || last == '[')
			return 1;
		/* no space before '(': "'silent', alert (daily)" is prose */
		if (q < len && (s[q] == '(' || s[q] == '`' || s[q] == '=' || s[q] == '.'))
			return 1;
	}
	return 0;
}

/* document.cookie and the like, around the '.' at q: each word has its
 * '.' at a fixed place. */
static int keyword_around(const char *s, size_t len, size_t q)
{
	return (q >= 8 && lower((unsigned char)s[q - 1]) == 't' &&
	        (starts_with(s, len, q - 8, "document.cookie") ||
	         starts_with(s, len, q - 8, "document.domain") ||
	         starts_with(s, len, q - 8, "document.write"))) ||
	       (q >= 6 && lower((unsigned char)s[q - 1]) == 'g' &&
	        starts_with(s, len, q - 6, "string.fromcharcode")) ||
	       (q >= 11 && lower((unsigned char)s[q - 1]) == 'r' &&
	        starts_with(s, len, q - 11, "constructor.constructor")) ||
	       (q + 1 < len &&
	        (lower((unsigned char)s[q + 1]) == 'i' || lower((unsigned char)s[q + 1]) == 'o') &&
	        (starts_with(s, len, q, ".innerhtml=") || starts_with(s, len, q, ".outerhtml=")));
}

/* "{{ ... }}", "${ ... }" or "&{ ... }" (Netscape's script entities)
 * holding a call of a sink. */
static int template_at(const char *s, size_t len, size_t i)
{
	size_t end = i + VALUE_LOOK < len ? i + VALUE_LOOK : len, p;

	for (p = i + 2; p < end; p++) {
		if (s[p] == '}')
			return 0;
		if (starts_with(s, end, p, "alert") || starts_with(s, end, p, "prompt") ||
		    starts_with(s, end, p, "confirm") || starts_with(s, end, p, "constructor") ||
		    starts_with(s, end, p, "$eval") || starts_with(s, end, p, "eval("))
			return 1;
	}
	return 0;
}

/* An event handler whose '=' is at q: the word before it (after spaces)
 * must be "on<letters>" starting a word, as handler_at reads it. */
static int handler_before(const char *s, size_t len, size_t q)
{
	size_t r = q, a;
	int prev;

	while (r > 0 && is_html_space((unsigned char)s[r - 1]))
		r--;
	for (a = r; a > 0 && r - a <= NAME_MAX_LEN + 2 && is_alpha((unsigned char)s[a - 1]); a--)
		;
	if (r - a < 3 || lower((unsigned char)s[a]) != 'o' || lower((unsigned char)s[a + 1]) != 'n')
		return 0;
	prev = a ? (unsigned char)s[a - 1] : ' ';
	if (!(a == 0 || is_html_space(prev) || prev == '/' || is_quote(prev) || prev == ';'))
		return 0; /* inside a longer word, or a longer name than any event */
	return handler_at(s, len, a);
}

/* Where a URL may start: j v d l (javascript:, vbscript:, data:,
 * livescript:) or '&' (an entity for one); and what may stand before it. */
#define U_START 1
#define U_PREV  2 /* HTML space, quote, '=', '(' */
static const unsigned char url_bytes[256] = {
    [0] = U_PREV,    ['\t'] = U_PREV, ['\n'] = U_PREV, ['\v'] = U_PREV, ['\f'] = U_PREV,
    ['\r'] = U_PREV, [' '] = U_PREV,  ['"'] = U_PREV,  ['\''] = U_PREV, ['`'] = U_PREV,
    ['='] = U_PREV,  ['('] = U_PREV,  ['j'] = U_START, ['J'] = U_START, ['v'] = U_START,
    ['V'] = U_START, ['d'] = U_START, ['D'] = U_START, ['l'] = U_START, ['L'] = U_START,
    ['&'] = U_START,
};

/* javascript:, vbscript:, data:text/html... starting at i, where a URL
 * starts: at the start, after a space, a quote, '=' or '('. */
static int url_at(const char *s, size_t len, size_t i)
{
	int c = (unsigned char)s[i], prev = i ? (unsigned char)s[i - 1] : ' ';
	enum scheme k;
	size_t adv;

	if (!(url_bytes[c] & U_START) && !(c < 0x20 && i == 0))
		return 0;
	if (!(url_bytes[prev] & U_PREV))
		return 0;
	k = url_scheme(s, len, i, &adv);
	if (k == SCHEME_DATA_HTML && (i == 0 || prev == '=' || is_quote(prev)))
		return 1;
	return k == SCHEME_SCRIPT && looks_like_code(s, len, adv);
}

/* URL schemes: only in the 160 bytes (SCHEME_RAW_MAX) before a ':' or
 * a '&', where the scheme's ':' can be. With no '&' (no entity) and no
 * control character (tab, newline... which URL parsing drops), a scheme
 * is spelled byte for byte: its ':' is 4, 8 or 10 bytes after its start
 * (data:, vbscript:, javascript: and livescript:). */
static int pass_urls(const char *s, size_t len, int plain)
{
	static const size_t colon_at[3] = {4, 8, 10};
	const char *p = s, *end = s + len;
	size_t i = 0, q, k;

	if (url_at(s, len, 0))
		return 1;
	while (plain && (p = memchr(p, ':', (size_t)(end - p))) != NULL) {
		q = (size_t)(p++ - s);
		for (k = 0; k < 3; k++)
			if (q >= colon_at[k] && url_at(s, len, q - colon_at[k]))
				return 1;
	}
	for (q = 0; !plain && q < len; q++) {
		if (s[q] != ':' && s[q] != '&')
			continue;
		if (i + SCHEME_RAW_MAX <= q)
			i = q + 1 - SCHEME_RAW_MAX;
		for (; i <= q; i++)
			if (url_at(s, len, i))
				return 1;
	}
	return 0;
}

/* ---- pass 2: text, read at the bytes each rule needs
 *
 * Every rule of the text pass has a byte it cannot do without, at a fixed
 * place: a tag its '<', a handler its '=', a string break its quote,
 * document.cookie its '.', a template its '{', a URL scheme its ':' (or
 * an entity's '&'). Only those bytes are looked at. */

#define XA_LT    1   /* '<', and 0xef (fullwidth '<') */
#define XA_EQ    2   /* '=' */
#define XA_QUOTE 4   /* ' " */
#define XA_DOT   8   /* '.' */
#define XA_BRACE 16  /* '{' */
#define XA_URL   32  /* ':' */
#define XA_AMP   64  /* '&' */
#define XA_ENT   256 /* an entity ('&' that decode_char reads as one) */
#define XA_CTL   128 /* a control character: dropped inside a scheme */

static const unsigned char anchor_bits[256] = {
    [0] = XA_CTL,      [1] = XA_CTL,     [2] = XA_CTL,   [3] = XA_CTL,     [4] = XA_CTL,
    [5] = XA_CTL,      [6] = XA_CTL,     [7] = XA_CTL,   [8] = XA_CTL,     [9] = XA_CTL,
    [10] = XA_CTL,     [11] = XA_CTL,    [12] = XA_CTL,  [13] = XA_CTL,    [14] = XA_CTL,
    [15] = XA_CTL,     [16] = XA_CTL,    [17] = XA_CTL,  [18] = XA_CTL,    [19] = XA_CTL,
    [20] = XA_CTL,     [21] = XA_CTL,    [22] = XA_CTL,  [23] = XA_CTL,    [24] = XA_CTL,
    [25] = XA_CTL,     [26] = XA_CTL,    [27] = XA_CTL,  [28] = XA_CTL,    [29] = XA_CTL,
    [30] = XA_CTL,     [31] = XA_CTL,    ['<'] = XA_LT,  [0xef] = XA_LT,   ['='] = XA_EQ,
    ['\''] = XA_QUOTE, ['"'] = XA_QUOTE, ['.'] = XA_DOT, ['{'] = XA_BRACE, [':'] = XA_URL,
    ['&'] = XA_AMP,
};

/* The rules anchored at the byte at i (its anchor_bits a). */
static int anchor_at(const char *s, size_t len, size_t i, int a, size_t *css_done)
{
	size_t n;

	switch (a) {
	case XA_LT:
		return (n = lt_at(s, len, i)) != 0 && script_tag_at(s, len, i + n, css_done);
	case XA_EQ:
		return handler_before(s, len, i);
	case XA_QUOTE:
		return js_breakout_at(s, len, i);
	case XA_DOT:
		return keyword_around(s, len, i);
	case XA_BRACE:
		return i > 0 && (s[i - 1] == '{' || s[i - 1] == '$' || s[i - 1] == '&') &&
		       template_at(s, len, i - 1);
	default:
		return 0;
	}
}

/* XA_ENT when the '&' at i starts a character reference. */
static int entity_at(const char *s, size_t len, size_t i, int a)
{
	size_t adv;

	if (a != XA_AMP)
		return 0;
	decode_char(s, len, i, &adv);
	return adv > 1 ? XA_ENT : 0;
}

#if defined(__SSE2__)
/* Bit i: s[i] is an anchor byte (16 bytes at s). */
static unsigned anchors16(const char *s)
{
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)s), m;

	m = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('<')),
	                 _mm_cmpeq_epi8(v, _mm_set1_epi8('=')));
	m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8('\'')));
	m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8('"')));
	m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8('.')));
	m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8('{')));
	m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8((char)0xef)));
	m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8(':')));
	m = _mm_or_si128(m, _mm_cmpeq_epi8(v, _mm_set1_epi8('&')));
	m = _mm_or_si128(m, _mm_and_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
	                                  _mm_cmpgt_epi8(v, _mm_set1_epi8(-1))));
	return (unsigned)_mm_movemask_epi8(m);
}
#else
static unsigned anchors16(const char *s)
{
	unsigned m = 0;
	int j;

	for (j = 0; j < 16; j++)
		m |= anchor_bits[(unsigned char)s[j]] ? 1u << j : 0;
	return m;
}
#endif

/* Returns 1 for script; *seen: the anchor kinds that occur. */
static int pass_text(const char *s, size_t len, int *seen)
{
	size_t i = 0, css_done = 0;
	int a;

	*seen = 0;
	for (; i + 16 <= len; i += 16) {
		unsigned m;

		for (m = anchors16(s + i); m != 0; m &= m - 1) {
			size_t at = i + (size_t)__builtin_ctz(m);

			a = anchor_bits[(unsigned char)s[at]];
			*seen |= a | entity_at(s, len, at, a);
			if (anchor_at(s, len, at, a, &css_done))
				return 1;
		}
	}
	for (; i < len; i++) {
		a = anchor_bits[(unsigned char)s[i]];
		*seen |= a | entity_at(s, len, i, a);
		if (a && anchor_at(s, len, i, a, &css_done))
			return 1;
	}
	return 0;
}

int waf_detect_xss(const char *s, size_t len)
{
	int seen;

	if (s == NULL || len == 0)
		return 0;
	/* markup needs a '<' (and settles most attacks at once) */
	if (memchr(s, '<', len) != NULL && pass_tags(s, len))
		return 1;
	if (pass_text(s, len, &seen))
		return 1;
	/* a scheme needs its ':' (or an entity's '&') */
	return (seen & (XA_URL | XA_AMP)) && pass_urls(s, len, !(seen & (XA_ENT | XA_CTL)));
}

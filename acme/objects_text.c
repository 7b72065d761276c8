/* The text formats inside ACME responses that are not JSON objects:
 * RFC 3339 date-times and RFC 8288 Link header values. */
#include "acme/objects.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- time */

static int digits(const char *s, int n, int *out)
{
	*out = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		*out = *out * 10 + (s[i] - '0');
	}
	return 0;
}

/* The offset part: "Z", "+HH:MM" or "-HH:MM" (seconds east of UTC). */
static int parse_offset(const char *p, long *off)
{
	int hh, mm;

	if ((p[0] == 'Z' || p[0] == 'z') && p[1] == '\0') {
		*off = 0;
		return 0;
	}
	if ((p[0] != '+' && p[0] != '-') || digits(p + 1, 2, &hh) || p[3] != ':' ||
	    digits(p + 4, 2, &mm) || p[6] != '\0' || hh > 23 || mm > 59)
		return -1;
	*off = (p[0] == '-' ? -1 : 1) * (hh * 3600L + mm * 60L);
	return 0;
}

int acme_time_parse(const char *text, time_t *out)
{
	static const int mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, s;
	struct tm tm;
	const char *p = text + 19;
	long off;

	if (strlen(text) < 20 || digits(text, 4, &y) || text[4] != '-' ||
	    digits(text + 5, 2, &mo) || text[7] != '-' || digits(text + 8, 2, &d) ||
	    (text[10] != 'T' && text[10] != 't') || digits(text + 11, 2, &h) || text[13] != ':' ||
	    digits(text + 14, 2, &mi) || text[16] != ':' || digits(text + 17, 2, &s))
		return -1;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] || h > 23 || mi > 59 || s > 60 ||
	    y < 1970)
		return -1;
	if (*p == '.') {
		if (!isdigit((unsigned char)p[1]))
			return -1;
		for (p++; isdigit((unsigned char)*p); p++)
			;
	}
	if (parse_offset(p, &off) != 0)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s == 60 ? 59 : s; /* a leap second: close enough for scheduling */
	*out = timegm(&tm) - off;
	return 0;
}

/* An https URL of printable ASCII with a host. */
static int https_url(const char *u)
{
	if (strncasecmp(u, "https://", 8) != 0 || u[8] == '\0' || u[8] == '/' || u[8] == '?')
		return 0;
	for (const char *p = u; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return 0;
	return 1;
}

/* ---- Link headers (RFC 8288), for alternate certificate chains */

/* Does the parameter list params[0..n) (after the '>') hold rel with
 * "alternate" among its space-separated values? */
static int rel_is_alternate(const char *p, size_t n)
{
	const char *end = p + n, *v, *ve;

	while (p < end) {
		while (p < end && (*p == ';' || *p == ' ' || *p == '\t'))
			p++;
		if ((size_t)(end - p) < 4 || strncasecmp(p, "rel=", 4) != 0) {
			while (p < end && *p != ';')
				p++;
			continue;
		}
		v = p + 4;
		if (v < end && *v == '"')
			v++;
		for (ve = v; ve < end && *ve != '"' && *ve != ';'; ve++)
			;
		for (const char *w = v; w < ve;) {
			const char *we = w;

			while (we < ve && *we != ' ')
				we++;
			if (we - w == 9 && strncasecmp(w, "alternate", 9) == 0)
				return 1;
			w = we + 1;
		}
		p = ve;
	}
	return 0;
}

size_t acme_link_alternates(const char *value, size_t len, char **urls, size_t max)
{
	const char *p = value, *end = value + len;
	size_t found = 0;

	while (p < end && found < max) {
		const char *lt = memchr(p, '<', (size_t)(end - p)), *gt, *q;
		int quoted = 0;

		if (lt == NULL || (gt = memchr(lt, '>', (size_t)(end - lt))) == NULL)
			break;
		/* the parameters run to the next comma outside quotes */
		for (q = gt + 1; q < end && (quoted || *q != ','); q++)
			if (*q == '"')
				quoted = !quoted;
		if (rel_is_alternate(gt + 1, (size_t)(q - gt - 1))) {
			char *u = strndup(lt + 1, (size_t)(gt - lt - 1));

			if (u != NULL && https_url(u))
				urls[found++] = u;
			else
				free(u);
		}
		p = q;
	}
	return found;
}

/* The console's files (the folder admin/ui), compiled into the binary by
 * tools/embed_assets, which generates admin/ui_assets.c at build time. */
#ifndef POSTERN_ADMIN_ASSETS_H
#define POSTERN_ADMIN_ASSETS_H

#include <stddef.h>

struct admin_asset {
	const char *path;         /* "/index.html", "/app.js", ... */
	const char *content_type; /* with charset for text types */
	const unsigned char *data;
	size_t len;
};

/* The generated table (admin/ui_assets.c): one entry per console file. */
extern const struct admin_asset admin_asset_table[];
extern const size_t admin_asset_count;

/* Find the embedded file for a request path of len bytes (no query
 * string); "/" maps to "/index.html". Returns a pointer into a static
 * table (never freed), or NULL when no file has that path. */
const struct admin_asset *admin_asset_find(const char *path, size_t len);

#endif

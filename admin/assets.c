/* Look up the console's embedded files (the table is generated at build
 * time by tools/embed_assets into admin/ui_assets.c). */
#include <string.h>

#include "admin/assets.h"

const struct admin_asset *admin_asset_find(const char *path, size_t len)
{
	static const char index_path[] = "/index.html";

	if (!path)
		return NULL;
	if (len == 1 && path[0] == '/') {
		path = index_path;
		len = sizeof(index_path) - 1;
	}
	/* A dozen files: a linear scan is cheaper than anything cleverer. */
	for (size_t i = 0; i < admin_asset_count; i++) {
		const struct admin_asset *a = &admin_asset_table[i];

		if (strlen(a->path) == len && memcmp(a->path, path, len) == 0)
			return a;
	}
	return NULL;
}

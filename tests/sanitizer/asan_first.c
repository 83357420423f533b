/*
 * asan_first.so: preloaded after the ASan runtime into the uninstrumented
 * mosquitto of the sanitizer test runs, never built into mytracks.
 *
 * Why: mosquitto links libsystemd → libgcrypt → libgpg-error, whose
 * constructor runs before the preloaded ASan runtime's and calls
 * bindtextdomain(). That call takes glibc's gettext write lock and then
 * allocates; the allocation starts ASan's lazy initialisation, which reads
 * translated messages under the same lock and leaves it corrupted. The next
 * bindtextdomain() - libpq's, on the plugin's first PostgreSQL connection -
 * then waits on it forever (google/sanitizers#1270).
 *
 * The cure: interpose bindtextdomain() and allocate once before the lock
 * is taken, so that ASan is initialised outside it.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>

char *bindtextdomain(const char *domain, const char *dir)
{
	static char *(*next)(const char *, const char *);

	free(malloc(1)); /* initialises ASan here, outside the gettext lock */
	if (next == NULL) {
		*(void **)&next = dlsym(RTLD_NEXT, "bindtextdomain");
		if (next == NULL)
			return NULL;
	}
	return next(domain, dir);
}

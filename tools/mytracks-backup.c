/* mytracks-backup: an online backup of the live mytracks database.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * A copy of a WAL database's main file alone, taken while the plugin
 * writes, may miss what is still in the -wal file or catch a checkpoint
 * half done. This tool copies with SQLite's online backup API instead: one
 * read transaction on the source (in WAL mode it does not hold up the
 * plugin's commits) gives a consistent snapshot, written to a temporary
 * file beside the target, checked with PRAGMA integrity_check, made
 * durable and renamed over the target: the target is the old backup or
 * the new one, never half of one.
 */
#define _GNU_SOURCE /* asprintf */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROG "mytracks-backup"
#define BUSY_TIMEOUT_MS 10000

static void usage(FILE *f)
{
	fprintf(f, "Usage: " PROG " [options] DATABASE BACKUP_FILE\n"
		   "\n"
		   "Copies the mytracks database DATABASE (e.g. /var/lib/mytracks/mytracks.db)\n"
		   "to BACKUP_FILE while the broker and the bridge keep running: a consistent\n"
		   "snapshot through SQLite's online backup API, checked with\n"
		   "PRAGMA integrity_check, written beside BACKUP_FILE and renamed over it.\n"
		   "Do not copy a live database with cp: its latest commits may be in the\n"
		   "-wal file. To restore: stop the broker and the bridge, put the backup in\n"
		   "place of DATABASE (and delete DATABASE-wal and DATABASE-shm), start them.\n"
		   "\n"
		   "Options:\n"
		   "  -q, --quiet   print nothing but errors\n"
		   "  -h, --help    show this text\n"
		   "\n"
		   "Exit status: 0 done, 1 failed (BACKUP_FILE is left as it was), 2 bad usage.\n");
}

/* True when `a` and `b` name the same existing file. */
static bool same_file(const char *a, const char *b)
{
	struct stat sa, sb;

	return !stat(a, &sa) && !stat(b, &sb) && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* The first row's integer of `query` on `db` into `out`. Returns 0, or -1
 * after printing why. */
static int query_int(sqlite3 *db, const char *query, long long *out)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, query, -1, &st, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		fprintf(stderr, PROG ": %s: %s\n", query, sqlite3_errmsg(db));
		sqlite3_finalize(st);
		return -1;
	}
	*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return 0;
}

/* PRAGMA integrity_check of `db`: 0 when it says "ok", else -1 after
 * printing its first finding. */
static int check_integrity(sqlite3 *db, const char *name)
{
	sqlite3_stmt *st = NULL;
	const char *r;
	int rc = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_step(st) != SQLITE_ROW) {
		fprintf(stderr, PROG ": %s: integrity check failed: %s\n", name,
			sqlite3_errmsg(db));
		goto out;
	}
	r = (const char *)sqlite3_column_text(st, 0);
	if (!r || strcmp(r, "ok")) {
		fprintf(stderr, PROG ": %s: integrity check: %s\n", name, r ? r : "(null)");
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	return rc;
}

/* Copy `src` into the new file `tmp`, check it and count its locations
 * into `*locations` (-1 without a locations table). Returns 0, or -1 after
 * printing why. */
static int copy_db(const char *src, const char *tmp, long long *pages, long long *locations)
{
	sqlite3 *in = NULL, *out = NULL;
	sqlite3_backup *b;
	long long has_table;
	int rc = -1, r;

	/* read-only: the backup never writes the live database (in WAL mode a
	 * reader still needs the -shm file, which the plugin keeps) */
	if (sqlite3_open_v2(src, &in, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		fprintf(stderr, PROG ": cannot open '%s': %s\n", src,
			in ? sqlite3_errmsg(in) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(in, BUSY_TIMEOUT_MS);
	if (sqlite3_open_v2(tmp, &out, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
	    SQLITE_OK) {
		fprintf(stderr, PROG ": cannot create '%s': %s\n", tmp,
			out ? sqlite3_errmsg(out) : "out of memory");
		goto out;
	}
	sqlite3_busy_timeout(out, BUSY_TIMEOUT_MS);
	b = sqlite3_backup_init(out, "main", in, "main");
	if (!b) {
		fprintf(stderr, PROG ": cannot back up '%s': %s\n", src, sqlite3_errmsg(out));
		goto out;
	}
	/* every page in one step, in one read transaction: a snapshot. Steps
	 * of a few pages would restart each time the plugin commits. */
	do {
		r = sqlite3_backup_step(b, -1);
		if (r == SQLITE_BUSY || r == SQLITE_LOCKED)
			sqlite3_sleep(50);
	} while (r == SQLITE_OK || r == SQLITE_BUSY || r == SQLITE_LOCKED);
	*pages = sqlite3_backup_pagecount(b);
	if (sqlite3_backup_finish(b) != SQLITE_OK || r != SQLITE_DONE) {
		fprintf(stderr, PROG ": backing up '%s' failed: %s\n", src, sqlite3_errmsg(out));
		goto out;
	}
	if (check_integrity(out, tmp) || query_int(out,
						   "SELECT count(*) FROM sqlite_master WHERE type "
						   "= 'table' AND name = 'locations'",
						   &has_table))
		goto out;
	*locations = -1;
	if (has_table && query_int(out, "SELECT count(*) FROM locations", locations))
		goto out;
	rc = 0;
out:
	sqlite3_close(in);
	/* the last connection's close checkpoints the copy's WAL into it and
	 * removes the -wal file: one self-contained file */
	if (out && sqlite3_close(out) != SQLITE_OK && !rc) {
		fprintf(stderr, PROG ": cannot close '%s'\n", tmp);
		rc = -1;
	}
	return rc;
}

/* Remove the temporary copy `tmp` and what SQLite may have left beside it. */
static void remove_tmp(const char *tmp)
{
	static const char *const suffixes[] = {"", "-journal", "-wal", "-shm"};
	char path[4096];
	size_t i;

	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++)
		if (snprintf(path, sizeof(path), "%s%s", tmp, suffixes[i]) < (int)sizeof(path))
			unlink(path);
}

/* fsync the file or directory `path`. Returns 0, or -1 with errno set. */
static int sync_path(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *src, *dst;
	char *tmp = NULL, *dcopy = NULL;
	long long pages = 0, locations = -1;
	bool quiet = false;
	int c, fd, rc = 1;

	while ((c = getopt_long(argc, argv, "qh", longs, NULL)) != -1) {
		switch (c) {
		case 'q':
			quiet = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, PROG ": see --help\n");
			return 2;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, PROG ": expected DATABASE and BACKUP_FILE (see --help)\n");
		return 2;
	}
	src = argv[optind];
	dst = argv[optind + 1];
	if (access(src, R_OK)) {
		fprintf(stderr, PROG ": cannot read '%s': %s\n", src, strerror(errno));
		return 1;
	}
	if (same_file(src, dst)) {
		fprintf(stderr, PROG ": '%s' is the database itself\n", dst);
		return 2;
	}
	if (asprintf(&tmp, "%s.tmp-XXXXXX", dst) < 0) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	/* a unique name of our own (mode 0600: the copy holds everyone's
	 * locations), emptied for SQLite to write */
	fd = mkstemp(tmp);
	if (fd < 0) {
		fprintf(stderr, PROG ": cannot create a file beside '%s': %s\n", dst,
			strerror(errno));
		goto out;
	}
	close(fd);
	if (copy_db(src, tmp, &pages, &locations))
		goto fail;
	if (sync_path(tmp, O_RDONLY) || rename(tmp, dst)) {
		fprintf(stderr, PROG ": cannot write '%s': %s\n", dst, strerror(errno));
		goto fail;
	}
	dcopy = strdup(dst);
	if (dcopy)
		(void)sync_path(dirname(dcopy), O_RDONLY | O_DIRECTORY);
	if (!quiet) {
		if (locations >= 0)
			printf(PROG ": %s -> %s: %lld pages, integrity ok, %lld locations\n", src,
			       dst, pages, locations);
		else
			printf(PROG ": %s -> %s: %lld pages, integrity ok\n", src, dst, pages);
	}
	rc = 0;
	goto out;
fail:
	remove_tmp(tmp);
out:
	free(tmp);
	free(dcopy);
	return rc;
}

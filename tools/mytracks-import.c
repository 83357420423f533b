/* mytracks-import: load old history (Recorder .rec, GPX, Google Takeout) through the plugin.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * The plugin is the only writer of the database: this tool reads the
 * files, turns them into OwnTracks messages and asks the plugin to store
 * them with "import" requests on its control channel (docs/control.md),
 * as its trusted MQTT user. The plugin checks each message like a live
 * report, skips what is already stored (so an import can be run again)
 * and publishes nothing. The readers are in import_src, the batches and
 * requests in import_send; this file is the command line, the walk over
 * a Recorder store and the reporting.
 */
#define _GNU_SOURCE /* strcasecmp, realpath */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "import_send.h"
#include "import_src.h"
#include "ot.h"
#include "toolutil.h"

#define EXIT_INPUT 1 /* some input could not be read, or the broker failed */
#define EXIT_USAGE 2
#define PROGRESS_NS 100000000 /* at most ten progress lines a second */

enum kind { K_REC, K_GPX, K_TAKEOUT, K_CARD };

struct job {
	char *path;
	enum kind kind;
	char *user, *device;
};

struct options {
	const char *user, *device;
	size_t batch;
	double timeout_s;
	bool dry_run, progress;
	const char *host;
	int port;
	const char *username, *password_file, *data_dir, *cafile, *prefix;
	uint64_t max_errors;
};

struct ctx {
	struct options o;
	struct job *jobs;
	size_t njobs, jobs_alloc;
	/* the file being read */
	size_t cur;
	/* counts */
	size_t files_read;
	int64_t lines, points, messages, local_rejected, skipped;
	int64_t dry_locations, dry_events, dry_other;
	struct imp_origin first_skipped;
	uint64_t errors_shown, errors_hidden;
	struct imp_totals t;
	/* sending */
	struct imp_conn *conn;
	struct imp_batch batch;
	bool failed_input, failed_broker;
	/* the terminal's progress line */
	bool progress_shown;
	int64_t progress_at;
};

/* ---- messages to the user ---- */

static void progress_clear(struct ctx *x)
{
	if (x->progress_shown) {
		fputs("\r\033[K", stderr);
		x->progress_shown = false;
	}
}

static void progress(struct ctx *x, bool force)
{
	int64_t now;

	if (!x->o.progress)
		return;
	now = tu_mono_ns();
	if (!force && now - x->progress_at < PROGRESS_NS)
		return;
	x->progress_at = now;
	fprintf(stderr,
		"\rfiles %zu/%zu  lines %" PRId64 "  points %" PRId64 "  stored %" PRId64
		"  duplicates %" PRId64 "  rejected %" PRId64 "\033[K",
		x->files_read, x->njobs, x->lines, x->points, x->t.stored, x->t.duplicates,
		x->local_rejected + x->t.rejected);
	x->progress_shown = true;
}

static void progress_cb(void *arg)
{
	progress(arg, false);
}

/* An error about a file (`line` 0: the whole file), counted against
 * --max-errors when `capped`. */
static void __attribute__((format(printf, 5, 6)))
file_error(struct ctx *x, size_t file, long line, bool capped, const char *fmt, ...)
{
	va_list ap;

	if (capped && x->o.max_errors && x->errors_shown >= x->o.max_errors) {
		x->errors_hidden++;
		return;
	}
	if (capped)
		x->errors_shown++;
	progress_clear(x);
	if (line > 0)
		fprintf(stderr, "%s:%ld: ", x->jobs[file].path, line);
	else
		fprintf(stderr, "%s: ", x->jobs[file].path);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void __attribute__((format(printf, 2, 3))) error(struct ctx *x, const char *fmt, ...)
{
	va_list ap;

	progress_clear(x);
	fputs("mytracks-import: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void rejected_cb(void *arg, const struct imp_origin *o, const char *why)
{
	file_error(arg, o->file, o->line, true, "rejected by the plugin: %s", why);
}

static void unnamed_cb(void *arg, int64_t count, const struct imp_origin *first,
		       const struct imp_origin *last)
{
	struct ctx *x = arg;

	file_error(x, first->file, first->line, false,
		   "%" PRId64 " more messages rejected by the plugin up to %s:%ld (an answer names "
		   "only the first 20; a smaller --batch names more)",
		   count, x->jobs[last->file].path, last->line);
}

/* ---- the readers' sink ---- */

static int send_batch(struct ctx *x)
{
	struct imp_report r = {rejected_cb, unnamed_cb, progress_cb, x};
	char err[512];

	if (imp_batch_send(x->conn, &x->batch, &x->t, &r, err, sizeof(err))) {
		error(x, "%s", err);
		error(x, "stopped: run the import again when this is fixed (what is already "
			 "stored is skipped)");
		x->failed_broker = true;
		return -1;
	}
	return 0;
}

/* Dry run: what the plugin will likely make of it (transitions and cards
 * are events). */
static void dry_classify(struct ctx *x, const char *json, size_t len, long line)
{
	cJSON *o = cJSON_ParseWithLength(json, len);
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(o, "_type");

	if (!cJSON_IsObject(o) || !cJSON_IsString(type)) {
		x->local_rejected++;
		file_error(x, x->cur, line, true, "not a JSON object with a \"_type\"");
	} else if (!strcmp(type->valuestring, "location")) {
		x->dry_locations++;
	} else if (!strcmp(type->valuestring, "transition") || !strcmp(type->valuestring, "card")) {
		x->dry_events++;
	} else {
		x->dry_other++;
	}
	cJSON_Delete(o);
}

static int message_cb(void *arg, const char *json, size_t len, long line)
{
	struct ctx *x = arg;
	const struct job *j = &x->jobs[x->cur];
	struct imp_origin o = {(unsigned)x->cur, line};
	int r;

	x->messages++;
	if (x->o.dry_run) {
		dry_classify(x, json, len, line);
		progress(x, false);
		return 0;
	}
	r = imp_batch_add(&x->batch, j->user, j->device, json, len, o);
	if (r == 1) {
		if (send_batch(x))
			return -1;
		r = imp_batch_add(&x->batch, j->user, j->device, json, len, o);
	}
	if (r) {
		x->local_rejected++;
		file_error(x, x->cur, line, true,
			   "a message of %zu bytes: too large for a request (or out of memory)",
			   len);
	}
	return 0;
}

static void bad_cb(void *arg, long line, const char *why)
{
	struct ctx *x = arg;

	x->local_rejected++;
	file_error(x, x->cur, line, true, "%s", why);
}

static void skipped_cb(void *arg, long line)
{
	struct ctx *x = arg;

	if (!x->skipped++)
		x->first_skipped = (struct imp_origin){(unsigned)x->cur, line};
}

/* ---- the inputs ---- */

static int add_job(struct ctx *x, const char *path, enum kind kind, const char *user,
		   const char *device)
{
	struct job *j;

	if (x->njobs == x->jobs_alloc) {
		size_t na = x->jobs_alloc ? 2 * x->jobs_alloc : 16;
		struct job *nj = realloc(x->jobs, na * sizeof(*nj));

		if (!nj)
			return -1;
		x->jobs = nj;
		x->jobs_alloc = na;
	}
	j = &x->jobs[x->njobs];
	j->path = strdup(path);
	j->user = strdup(user);
	j->device = strdup(device);
	j->kind = kind;
	if (!j->path || !j->user || !j->device) {
		free(j->path);
		free(j->user);
		free(j->device);
		return -1;
	}
	x->njobs++;
	return 0;
}

static bool is_dir(const char *path)
{
	struct stat st;

	return !stat(path, &st) && S_ISDIR(st.st_mode);
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n > k && !strcasecmp(s + n - k, suffix);
}

static int visible(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

/* The sorted entries of `dir` (not hidden); -1 with errno. */
static int list_dir(const char *dir, struct dirent ***out)
{
	return scandir(dir, out, visible, alphasort);
}

static void free_list(struct dirent **l, int n)
{
	for (int i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

/* One device directory of a Recorder store: its .rec files, in order. */
static int walk_device(struct ctx *x, const char *ddir, const char *user, const char *device,
		       size_t *found)
{
	struct dirent **files;
	int n = list_dir(ddir, &files), rc = 0;
	char path[PATH_MAX];

	if (n < 0) {
		error(x, "%s: cannot read the directory: %s", ddir, strerror(errno));
		x->failed_input = true;
		return 0;
	}
	for (int i = 0; i < n && !rc; i++) {
		struct stat st;

		if (!has_suffix(files[i]->d_name, ".rec"))
			continue;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", ddir, files[i]->d_name) >=
			    sizeof(path) ||
		    stat(path, &st) || !S_ISREG(st.st_mode))
			continue;
		rc = add_job(x, path, K_REC, user, device);
		(*found)++;
	}
	free_list(files, n);
	return rc;
}

/* The Recorder's card for a device of its store, if it has one: the
 * device's own (cards/<user>/<device>/<user>-<device>.json) or the user's
 * (cards/<user>/<user>.json). Imported before the device's history, so the
 * device gets its name. */
static int add_card(struct ctx *x, const char *store, const char *user, const char *device)
{
	char path[PATH_MAX];
	struct stat st;

	if ((size_t)snprintf(path, sizeof(path), "%s/cards/%s/%s/%s-%s.json", store, user, device,
			     user, device) < sizeof(path) &&
	    !stat(path, &st) && S_ISREG(st.st_mode))
		return add_job(x, path, K_CARD, user, device);
	if ((size_t)snprintf(path, sizeof(path), "%s/cards/%s/%s.json", store, user, user) <
		    sizeof(path) &&
	    !stat(path, &st) && S_ISREG(st.st_mode))
		return add_job(x, path, K_CARD, user, device);
	return 0;
}

/* A Recorder store: DIR/rec/<user>/<device>/YYYY-MM.rec, or DIR is "rec"
 * (then DIR/../cards holds the cards). */
static int walk_store(struct ctx *x, const char *dir)
{
	char root[PATH_MAX], udir[PATH_MAX], ddir[PATH_MAX], store[PATH_MAX];
	struct dirent **users;
	size_t found = 0;
	int nu, rc = 0;

	if ((size_t)snprintf(root, sizeof(root), "%s/rec", dir) >= sizeof(root) || !is_dir(root)) {
		snprintf(root, sizeof(root), "%s", dir);
		snprintf(store, sizeof(store), "%s/..", dir);
	} else {
		snprintf(store, sizeof(store), "%s", dir);
	}
	nu = list_dir(root, &users);
	if (nu < 0) {
		error(x, "--rec-dir %s: cannot read the directory: %s", dir, strerror(errno));
		x->failed_input = true;
		return 0;
	}
	for (int i = 0; i < nu && !rc; i++) {
		const char *user = users[i]->d_name;
		struct dirent **devs;
		int nd;

		if (x->o.user && strcmp(user, x->o.user))
			continue;
		if ((size_t)snprintf(udir, sizeof(udir), "%s/%s", root, user) >= sizeof(udir) ||
		    !is_dir(udir))
			continue;
		if (!ot_name_ok(user, strlen(user))) {
			error(x, "%s: '%s' is not usable as a user name: skipped", udir, user);
			x->failed_input = true;
			continue;
		}
		nd = list_dir(udir, &devs);
		if (nd < 0) {
			error(x, "%s: cannot read the directory: %s", udir, strerror(errno));
			x->failed_input = true;
			continue;
		}
		for (int k = 0; k < nd && !rc; k++) {
			const char *device = devs[k]->d_name;

			if (x->o.device && strcmp(device, x->o.device))
				continue;
			if ((size_t)snprintf(ddir, sizeof(ddir), "%s/%s", udir, device) >=
				    sizeof(ddir) ||
			    !is_dir(ddir))
				continue;
			if (!ot_name_ok(device, strlen(device))) {
				error(x, "%s: '%s' is not usable as a device name: skipped", ddir,
				      device);
				x->failed_input = true;
				continue;
			}
			rc = add_card(x, store, user, device);
			if (!rc)
				rc = walk_device(x, ddir, user, device, &found);
		}
		free_list(devs, nd);
	}
	free_list(users, nu);
	if (!rc && !found) {
		error(x, "--rec-dir %s: no Recorder files (rec/<user>/<device>/*.rec)%s", dir,
		      x->o.user || x->o.device ? " for this --user/--device" : "");
		x->failed_input = true;
	}
	return rc;
}

/* User and device from a path .../rec/<user>/<device>/<file>.rec. */
static bool names_from_path(const char *file, char *user, char *device, size_t size)
{
	char real[PATH_MAX], *parts[4] = {0}, *s;
	int n = 0;

	if (!realpath(file, real))
		return false;
	while (n < 4 && (s = strrchr(real, '/'))) {
		parts[n++] = s + 1;
		*s = '\0';
		if (s == real)
			break;
	}
	if (n < 4 || strcmp(parts[3], "rec") || strlen(parts[2]) >= size ||
	    strlen(parts[1]) >= size)
		return false;
	snprintf(user, size, "%s", parts[2]);
	snprintf(device, size, "%s", parts[1]);
	return true;
}

/* A file named on the command line. Returns 0, EXIT_USAGE after saying
 * why, or -1 when out of memory. */
static int add_file(struct ctx *x, const char *path, bool takeout)
{
	char user[OT_NAME_MAX + 1], device[OT_NAME_MAX + 1];
	enum kind kind;

	if (takeout)
		kind = K_TAKEOUT;
	else if (has_suffix(path, ".rec"))
		kind = K_REC;
	else if (has_suffix(path, ".gpx"))
		kind = K_GPX;
	else {
		error(x,
		      "%s: not a .rec or .gpx file (a Takeout Records.json needs --takeout, a "
		      "Recorder store --rec-dir)",
		      path);
		return EXIT_USAGE;
	}
	if (x->o.user && x->o.device)
		return add_job(x, path, kind, x->o.user, x->o.device);
	if (kind == K_REC && !x->o.user && !x->o.device &&
	    names_from_path(path, user, device, sizeof(user))) {
		if (!ot_name_ok(user, strlen(user)) || !ot_name_ok(device, strlen(device))) {
			error(x, "%s: the user or device name in its path is not usable", path);
			return EXIT_USAGE;
		}
		return add_job(x, path, kind, user, device);
	}
	error(x, "%s: give --user and --device%s", path,
	      kind == K_REC ? " (or a path .../rec/<user>/<device>/YYYY-MM.rec)" : "");
	return EXIT_USAGE;
}

/* Read one input through its reader. */
static void read_job(struct ctx *x, size_t i)
{
	const struct job *j = &x->jobs[i];
	struct imp_sink sink = {message_cb, bad_cb, skipped_cb, x};
	struct stat st;
	void *map = NULL;
	long n = 0;
	int fd;

	x->cur = i;
	fd = open(j->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		file_error(x, i, 0, false, "cannot open: %s", strerror(errno));
		x->failed_input = true;
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		file_error(x, i, 0, false, "is a directory (a Recorder store needs --rec-dir)");
		x->failed_input = true;
		goto out;
	}
	if (st.st_size > 0) {
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			map = NULL;
			file_error(x, i, 0, false, "cannot read: %s", strerror(errno));
			x->failed_input = true;
			goto out;
		}
		madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
	}
	if (j->kind == K_CARD) {
		/* one JSON object, the card as the phone sent it */
		size_t len = map ? (size_t)st.st_size : 0;

		while (len && strchr(" \t\r\n", ((const char *)map)[len - 1]))
			len--;
		n = message_cb(x, map ? map : "", len, 1) ? -1 : 0;
	} else if (j->kind == K_REC)
		n = imp_rec_read(map ? map : "", map ? (size_t)st.st_size : 0, &sink);
	else if (j->kind == K_GPX)
		n = imp_gpx_read(map ? map : "", map ? (size_t)st.st_size : 0, j->device, &sink);
	else
		n = imp_takeout_read(map ? map : "", map ? (size_t)st.st_size : 0, j->device,
				     &sink);
	if (n < 0) {
		if (!x->failed_broker) {
			file_error(x, i, 0, false, "not read to its end (see above)");
			x->failed_input = true;
		}
	} else {
		*(j->kind == K_REC ? &x->lines : &x->points) += n;
	}
	if (!x->failed_broker)
		x->files_read++;
	progress(x, true);
out:
	if (map)
		munmap(map, (size_t)st.st_size);
	if (fd >= 0)
		close(fd);
}

/* ---- options ---- */

static void usage(FILE *f)
{
	fputs("Usage: mytracks-import [OPTIONS] [FILE.rec | FILE.gpx ...]\n"
	      "Load old history into mytracks through its broker: the plugin stores it as\n"
	      "history (nothing is published live) and skips what it already has, so an\n"
	      "import can be run again. See docs/control.md.\n"
	      "\n"
	      "Inputs (any mix, read in the order given):\n"
	      "  --rec-dir DIR         an OwnTracks Recorder store: DIR/rec/<user>/<device>/*.rec\n"
	      "                        (DIR may also be the rec directory itself); user and\n"
	      "                        device come from the path; the Recorder's card of\n"
	      "                        each device (DIR/cards/<user>/<user>.json, or\n"
	      "                        .../<device>/<user>-<device>.json) names it. Repeatable.\n"
	      "  FILE.rec              one Recorder file (lines: TIME TAB * TAB JSON): needs\n"
	      "                        --user and --device, unless its path is\n"
	      "                        .../rec/<user>/<device>/YYYY-MM.rec\n"
	      "  FILE.gpx              a GPX 1.1 file: each <trkpt>, <rtept> or <wpt> with a\n"
	      "                        <time> becomes a location (alt from <ele>); points\n"
	      "                        without a time are skipped and counted. Needs --user\n"
	      "                        and --device.\n"
	      "  --takeout FILE        a Google Takeout location history (Records.json, with\n"
	      "                        \"locations\"): needs --user and --device. Repeatable.\n"
	      "  --user U, --device D  whose history the files are; with --rec-dir, import\n"
	      "                        only this user's (and device's) files\n"
	      "\n"
	      "Sending:\n"
	      "  --batch N             messages per request (default 500, at most 1000; a\n"
	      "                        request also stays under 4 MiB)\n"
	      "  --timeout S           seconds to wait for the broker and for each answer\n"
	      "                        (default 30)\n"
	      "  --dry-run             read and count only: no broker, nothing stored\n"
	      "\n"
	      "Broker (the import is sent as the plugin's plugin_opt_trusted_user):\n"
	      "  --host HOST           default 127.0.0.1\n"
	      "  --port N              default 1883\n"
	      "  --username NAME       default mytracks-bridge\n"
	      "  --password-file FILE  its password (the first line of FILE); default\n"
	      "                        <data-dir>/bridge.secret when that exists. There is\n"
	      "                        no option for a password on the command line.\n"
	      "  --data-dir DIR        ./my-tracks-server's data directory (default ./data)\n"
	      "  --cafile FILE         connect with TLS, trusting these CA certificates\n"
	      "  --control-prefix P    plugin_opt_control_prefix (default mytracks-control)\n"
	      "\n"
	      "Output:\n"
	      "  --max-errors N        show at most N bad-line errors (default 100, 0: all)\n"
	      "  --no-progress         no progress line (shown on stderr when it is a terminal)\n"
	      "  -h, --help            this help\n"
	      "\n"
	      "Errors name the file and line (FILE:LINE: reason); the rest is still imported.\n"
	      "A summary goes to stdout. Exit status: 0 when every input was read (even if\n"
	      "some lines were rejected), 1 when an input could not be read or the broker\n"
	      "did not answer, 2 for a usage error.\n",
	      f);
}

enum {
	O_REC_DIR = 256,
	O_TAKEOUT,
	O_USER,
	O_DEVICE,
	O_BATCH,
	O_TIMEOUT,
	O_DRY_RUN,
	O_HOST,
	O_PORT,
	O_USERNAME,
	O_PASSWORD_FILE,
	O_DATA_DIR,
	O_CAFILE,
	O_PREFIX,
	O_MAX_ERRORS,
	O_NO_PROGRESS,
};

struct arglist {
	const char **v;
	size_t n;
};

static int arglist_add(struct arglist *l, const char *s)
{
	const char **nv = realloc(l->v, (l->n + 1) * sizeof(*nv));

	if (!nv)
		return -1;
	nv[l->n++] = s;
	l->v = nv;
	return 0;
}

/* Parse the command line into x->o, the store and Takeout lists. Returns
 * -1 to go on, or an exit status. */
static int parse_args(struct ctx *x, int argc, char **argv, struct arglist *dirs,
		      struct arglist *takeouts)
{
	static const struct option longopts[] = {
		{"rec-dir", required_argument, NULL, O_REC_DIR},
		{"takeout", required_argument, NULL, O_TAKEOUT},
		{"user", required_argument, NULL, O_USER},
		{"device", required_argument, NULL, O_DEVICE},
		{"batch", required_argument, NULL, O_BATCH},
		{"timeout", required_argument, NULL, O_TIMEOUT},
		{"dry-run", no_argument, NULL, O_DRY_RUN},
		{"host", required_argument, NULL, O_HOST},
		{"port", required_argument, NULL, O_PORT},
		{"username", required_argument, NULL, O_USERNAME},
		{"password-file", required_argument, NULL, O_PASSWORD_FILE},
		{"data-dir", required_argument, NULL, O_DATA_DIR},
		{"cafile", required_argument, NULL, O_CAFILE},
		{"control-prefix", required_argument, NULL, O_PREFIX},
		{"max-errors", required_argument, NULL, O_MAX_ERRORS},
		{"no-progress", no_argument, NULL, O_NO_PROGRESS},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct options *o = &x->o;
	uint64_t u;
	int c;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case O_REC_DIR:
			if (arglist_add(dirs, optarg))
				return EXIT_INPUT;
			break;
		case O_TAKEOUT:
			if (arglist_add(takeouts, optarg))
				return EXIT_INPUT;
			break;
		case O_USER:
		case O_DEVICE:
			if (!ot_name_ok(optarg, strlen(optarg))) {
				error(x,
				      "--%s: '%s' is not a usable name (1 to 128 bytes, no '/', "
				      "'+', '#' or control characters)",
				      c == O_USER ? "user" : "device", optarg);
				return EXIT_USAGE;
			}
			*(c == O_USER ? &o->user : &o->device) = optarg;
			break;
		case O_BATCH:
			if (tu_parse_u64(optarg, 1, IMP_MAX_MESSAGES, &u)) {
				error(x, "--batch: a number of messages from 1 to %d",
				      IMP_MAX_MESSAGES);
				return EXIT_USAGE;
			}
			o->batch = (size_t)u;
			break;
		case O_TIMEOUT:
			if (tu_parse_double(optarg, 0.1, 86400, &o->timeout_s)) {
				error(x, "--timeout: seconds, from 0.1 to 86400");
				return EXIT_USAGE;
			}
			break;
		case O_DRY_RUN:
			o->dry_run = true;
			break;
		case O_HOST:
			o->host = optarg;
			break;
		case O_PORT:
			if (tu_parse_u64(optarg, 1, 65535, &u)) {
				error(x, "--port: a TCP port, 1 to 65535");
				return EXIT_USAGE;
			}
			o->port = (int)u;
			break;
		case O_USERNAME:
			o->username = optarg;
			break;
		case O_PASSWORD_FILE:
			o->password_file = optarg;
			break;
		case O_DATA_DIR:
			o->data_dir = optarg;
			break;
		case O_CAFILE:
			o->cafile = optarg;
			break;
		case O_PREFIX:
			if (!ot_prefix_ok(optarg)) {
				error(x, "--control-prefix: '%s' is not a usable topic prefix",
				      optarg);
				return EXIT_USAGE;
			}
			o->prefix = optarg;
			break;
		case O_MAX_ERRORS:
			if (tu_parse_u64(optarg, 0, UINT32_MAX, &o->max_errors)) {
				error(x, "--max-errors: a number (0: all)");
				return EXIT_USAGE;
			}
			break;
		case O_NO_PROGRESS:
			o->progress = false;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fputs("Try 'mytracks-import --help'.\n", stderr);
			return EXIT_USAGE;
		}
	}
	if (!dirs->n && !takeouts->n && optind >= argc) {
		error(x, "nothing to import: give --rec-dir DIR, FILE.rec, FILE.gpx or --takeout "
			 "FILE (--help)");
		return EXIT_USAGE;
	}
	return -1;
}

/* The first line of `path` into buf. 0, or -1 with errno (EINVAL: empty). */
static int read_password(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -1;
	if (!fgets(buf, (int)size, f)) {
		fclose(f);
		errno = EINVAL;
		return -1;
	}
	fclose(f);
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	if (!n) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* Connect as the trusted user. Returns 0 or an exit status. */
static int connect_broker(struct ctx *x)
{
	struct imp_conn_opts co = {x->o.host,	x->o.port,   x->o.username, NULL,
				   x->o.cafile, x->o.prefix, x->o.timeout_s};
	char def[PATH_MAX], password[512], err[512];
	const char *pf = x->o.password_file;
	bool given = pf != NULL;

	if (!pf &&
	    (size_t)snprintf(def, sizeof(def), "%s/bridge.secret", x->o.data_dir) < sizeof(def) &&
	    !access(def, F_OK))
		pf = def;
	if (pf) {
		if (read_password(pf, password, sizeof(password))) {
			error(x, "%s %s: %s", given ? "--password-file" : "the password file", pf,
			      errno == EINVAL ? "empty (the password is its first line)"
					      : strerror(errno));
			return given ? EXIT_USAGE : EXIT_INPUT;
		}
		co.password = password;
	}
	x->conn = imp_conn_open(&co, err, sizeof(err));
	explicit_bzero(password, sizeof(password));
	if (!x->conn) {
		error(x, "%s", err);
		return EXIT_INPUT;
	}
	return 0;
}

static void summary(struct ctx *x)
{
	int64_t rejected = x->local_rejected + x->t.rejected;

	progress_clear(x);
	printf("files read      %zu of %zu\n", x->files_read, x->njobs);
	printf("lines read      %" PRId64 "\n", x->lines);
	printf("points read     %" PRId64 "\n", x->points);
	if (x->skipped)
		printf("skipped         %" PRId64 " (points without a time, the first at %s:%ld)\n",
		       x->skipped, x->jobs[x->first_skipped.file].path, x->first_skipped.line);
	if (x->o.dry_run) {
		printf("messages        %" PRId64 "\n", x->messages);
		printf("locations       %" PRId64 "\n", x->dry_locations);
		printf("events          %" PRId64 "\n", x->dry_events);
		printf("other           %" PRId64 " (waypoints, lwt ...: ignored)\n", x->dry_other);
	} else {
		printf("sent            %" PRId64 "\n", x->t.sent);
		printf("stored          %" PRId64 "\n", x->t.stored);
		printf("duplicates      %" PRId64 "\n", x->t.duplicates);
		printf("events          %" PRId64 "\n", x->t.events);
		printf("ignored         %" PRId64 "\n", x->t.ignored);
	}
	printf("rejected        %" PRId64 "\n", rejected);
	if (x->t.busy_retries)
		printf("busy retries    %" PRId64 "\n", x->t.busy_retries);
	if (x->errors_hidden)
		printf("%" PRIu64 " more errors not shown (--max-errors)\n", x->errors_hidden);
	if (x->failed_broker)
		printf("incomplete: the broker did not answer (see the errors); run the import "
		       "again, what is stored is skipped\n");
	else if (x->failed_input)
		printf("incomplete: some input could not be read (see the errors)\n");
	else if (x->o.dry_run)
		printf("dry run: all input read, nothing sent (stored and duplicates are the "
		       "plugin's to tell)\n");
	else if (rejected)
		printf("done: all input read; %" PRId64 " %s rejected (see the errors)\n", rejected,
		       rejected == 1 ? "message was" : "messages were");
	else if (!x->t.stored && x->t.duplicates)
		printf("done: all input read; nothing new (all already stored)\n");
	else
		printf("done: all input read\n");
}

int main(int argc, char **argv)
{
	struct ctx x = {.o = {.batch = 500,
			      .timeout_s = 30,
			      .host = "127.0.0.1",
			      .port = 1883,
			      .username = "mytracks-bridge",
			      .data_dir = "./data",
			      .prefix = "mytracks-control",
			      .max_errors = 100}};
	struct arglist dirs = {0}, takeouts = {0};
	int rc, status = 0;

	x.o.progress = isatty(STDERR_FILENO);
	rc = parse_args(&x, argc, argv, &dirs, &takeouts);
	if (rc >= 0) {
		status = rc;
		goto out;
	}
	for (size_t i = 0; i < dirs.n && !status; i++)
		if (walk_store(&x, dirs.v[i]))
			status = EXIT_INPUT;
	for (int i = optind; i < argc && !status; i++) {
		rc = add_file(&x, argv[i], false);
		status = rc < 0 ? EXIT_INPUT : rc;
	}
	for (size_t i = 0; i < takeouts.n && !status; i++) {
		rc = add_file(&x, takeouts.v[i], true);
		status = rc < 0 ? EXIT_INPUT : rc;
	}
	if (status)
		goto out;
	imp_batch_init(&x.batch, x.o.batch);
	if (!x.o.dry_run && x.njobs && (status = connect_broker(&x)))
		goto done;
	for (size_t i = 0; i < x.njobs && !x.failed_broker; i++)
		read_job(&x, i);
	if (!x.o.dry_run && !x.failed_broker)
		send_batch(&x);
	summary(&x);
	status = x.failed_broker || x.failed_input ? EXIT_INPUT : 0;
done:
	imp_conn_close(x.conn);
	imp_batch_free(&x.batch);
out:
	for (size_t i = 0; i < x.njobs; i++) {
		free(x.jobs[i].path);
		free(x.jobs[i].user);
		free(x.jobs[i].device);
	}
	free(x.jobs);
	free(dirs.v);
	free(takeouts.v);
	return status;
}

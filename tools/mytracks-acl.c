/* mytracks-acl: write mosquitto's acl_file from the bridge's users file.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * MQTT visibility follows the web's sharing rules (docs/security.md, "MQTT
 * visibility"): every user publishes and reads their own topics, reads the
 * locations, events and cards of every owner whose users-file line has
 * share=<them>, an admin reads everyone's, and the bridge's user writes
 * every user's reports and reads the plugin's output. The users file is
 * split by the bridge's own parser (bridge/parse.c), so both programs
 * accept exactly the same files. The ACL is written to a temporary file
 * beside the target and renamed over it, so a broker reloading on SIGHUP
 * reads either the old file or the new one, never half of one.
 */
#define _GNU_SOURCE /* getline */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jbuf.h"
#include "parse.h"

#define PROG "mytracks-acl"
/* The bridge reads the users file with fgets() into 4096 bytes: a longer
 * line would be split there, so it is refused here. */
#define LINE_MAX_LEN 4094
#define ACL_MAX (64u << 20)

struct acl_user {
	char *name;  /* owned */
	char *share; /* owned comma list, or NULL */
	bool admin;
};

struct acl_opts {
	const char *users_file, *acl_file;
	const char *bridge_user, *in_prefix, *out_prefix, *control_prefix;
};

struct acl_users {
	struct acl_user *v;
	int n;
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: " PROG " [options] USERS_FILE ACL_FILE\n"
		"\n"
		"Writes mosquitto's acl_file (ACL_FILE, '-' for standard output) from\n"
		"mytracks-bridge's users file (lines name:crypt-hash[:admin][:share=u1,u2]),\n"
		"so that MQTT clients see what the web shows:\n"
		"  - every user publishes and reads <input-prefix>/<their name>/#;\n"
		"  - a user reads <input-prefix>/<owner>/+ (locations), .../+/event\n"
		"    and .../+/info (cards) of every owner whose line says share=<user>;\n"
		"  - an admin reads those topics of every user;\n"
		"  - the bridge's user writes <input-prefix>/#, reads <output-prefix>/# and\n"
		"    reads and writes <control-prefix>/#.\n"
		"The file is replaced atomically; then reload the broker (SIGHUP, or\n"
		"'systemctl reload mosquitto'). MQTT user names must be the users-file names.\n"
		"\n"
		"Options:\n"
		"  --bridge-user NAME    MQTT user of mytracks-bridge (default mytracks-bridge)\n"
		"  --input-prefix P      the plugin's input_prefix (default owntracks)\n"
		"  --output-prefix P     the plugin's output_prefix (default mytracks)\n"
		"  --control-prefix P    the plugin's control_prefix (default mytracks-control)\n"
		"  -h, --help            show this text\n");
}

/* True for a name mosquitto's acl_file keeps as it is: a valid user name
 * (bridge/parse.c) that does not start or end with a space, which
 * mosquitto would trim off (turning " alice" into alice). */
static bool acl_name_ok(const char *s)
{
	size_t n = strlen(s);

	return parse_name_ok(s, n) && s[0] != ' ' && s[n - 1] != ' ';
}

/* True for a topic prefix: one or more '/'-separated levels, each a valid
 * name. */
static bool acl_prefix_ok(const char *s)
{
	const char *p = s;

	for (;;) {
		size_t n = strcspn(p, "/");
		char level[256];

		if (!n || n >= sizeof(level))
			return false;
		memcpy(level, p, n);
		level[n] = '\0';
		if (!acl_name_ok(level))
			return false;
		if (!p[n])
			return true;
		p += n + 1;
	}
}

static int find_user(const struct acl_users *u, const char *name)
{
	int i;

	for (i = 0; i < u->n; i++)
		if (!strcmp(u->v[i].name, name))
			return i;
	return -1;
}

static void free_users(struct acl_users *u)
{
	int i;

	for (i = 0; i < u->n; i++) {
		free(u->v[i].name);
		free(u->v[i].share);
	}
	free(u->v);
	u->v = NULL;
	u->n = 0;
}

/* Read every line of the users file with parse_users_line(). Returns 0, or
 * -1 after printing which line is wrong and why. */
static int read_users(const struct acl_opts *o, FILE *f, struct acl_users *u)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0, rc = -1;

	while ((len = getline(&line, &cap, f)) >= 0) {
		struct users_line ul = {0};
		const char *err = NULL;
		struct acl_user *nv;
		int r;

		lineno++;
		if ((size_t)len != strlen(line)) {
			err = "NUL byte in the line";
		} else if (len > LINE_MAX_LEN + 1 ||
			   (len == LINE_MAX_LEN + 1 && line[len - 1] != '\n')) {
			err = "line too long (4094 bytes at most)";
		} else {
			r = parse_users_line(line, &ul, &err);
			if (r == 1)
				continue;
			if (r == 0 && !acl_name_ok(ul.name))
				err = "user name starts or ends with a space";
			else if (r == 0 && find_user(u, ul.name) >= 0)
				err = "user listed twice";
			else if (r == 0 && !strcmp(ul.name, o->bridge_user))
				err = "user has the bridge's MQTT name (--bridge-user)";
		}
		if (err) {
			fprintf(stderr, PROG ": %s line %d: %s\n", o->users_file, lineno, err);
			goto out;
		}
		nv = realloc(u->v, (size_t)(u->n + 1) * sizeof(*nv));
		if (!nv)
			goto nomem;
		u->v = nv;
		memset(&u->v[u->n], 0, sizeof(*nv));
		u->v[u->n].admin = ul.admin;
		u->v[u->n].name = strdup(ul.name);
		u->v[u->n].share = ul.share ? strdup(ul.share) : NULL;
		u->n++;
		if (!u->v[u->n - 1].name || (ul.share && !u->v[u->n - 1].share))
			goto nomem;
	}
	if (ferror(f)) {
		fprintf(stderr, PROG ": cannot read '%s': %s\n", o->users_file, strerror(errno));
		goto out;
	}
	if (!u->n) {
		fprintf(stderr, PROG ": %s: no users\n", o->users_file);
		goto out;
	}
	rc = 0;
	goto out;
nomem:
	fprintf(stderr, PROG ": out of memory\n");
out:
	free(line);
	return rc;
}

/* sees[i * n + j]: user i reads owner j's topics, from the share= lists
 * (which, as for the bridge, must name known users). Returns a calloc'd
 * matrix the caller frees, or NULL after printing why. */
static bool *resolve_shares(const struct acl_opts *o, const struct acl_users *u)
{
	bool *sees = calloc((size_t)u->n * (size_t)u->n, sizeof(*sees));
	int i, j;

	if (!sees) {
		fprintf(stderr, PROG ": out of memory\n");
		return NULL;
	}
	for (j = 0; j < u->n; j++) {
		char *list, *tok, *save = NULL;

		if (!u->v[j].share)
			continue;
		list = strdup(u->v[j].share);
		if (!list) {
			fprintf(stderr, PROG ": out of memory\n");
			goto fail;
		}
		for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			i = find_user(u, tok);
			if (i < 0) {
				/* tok is not a known user: it may hold anything */
				fprintf(stderr,
					PROG ": %s: user '%s' shares with an unknown user\n",
					o->users_file, u->v[j].name);
				free(list);
				goto fail;
			}
			sees[(size_t)i * (size_t)u->n + (size_t)j] = true;
		}
		free(list);
	}
	return sees;
fail:
	free(sees);
	return NULL;
}

/* The read lines for one owner ("+" for everyone): what the web shows of
 * them (locations, transitions, cards), on the topics the apps subscribe. */
static void put_reads(struct jbuf *jb, const char *prefix, const char *owner)
{
	jbuf_printf(jb, "topic read %s/%s/+\n", prefix, owner);
	jbuf_printf(jb, "topic read %s/%s/+/event\n", prefix, owner);
	jbuf_printf(jb, "topic read %s/%s/+/info\n", prefix, owner);
}

/* The whole acl_file into `jb`. Every name in it passed acl_name_ok():
 * no control characters, so none can end a line, and no leading or
 * trailing space for mosquitto to trim. */
static void format_acl(const struct acl_opts *o, const struct acl_users *u, const bool *sees,
		       struct jbuf *jb)
{
	int i, j;

	jbuf_puts(jb, "# mosquitto acl_file for mytracks, written by mytracks-acl from the\n"
		      "# bridge's users file: do not edit, change the users file and run\n"
		      "#   mytracks-acl USERS_FILE ACL_FILE\n"
		      "# then reload mosquitto (SIGHUP). See docs/security.md, MQTT visibility.\n"
		      "\n"
		      "# every user: publish and read their own devices only\n");
	jbuf_printf(jb, "pattern write %s/%%u/#\n", o->in_prefix);
	jbuf_printf(jb, "pattern read %s/%%u/#\n", o->in_prefix);
	for (i = 0; i < u->n; i++) {
		bool any = false;

		if (u->v[i].admin) {
			jbuf_printf(jb, "\n# admin: sees every user\nuser %s\n", u->v[i].name);
			put_reads(jb, o->in_prefix, "+");
			continue;
		}
		for (j = 0; j < u->n; j++) {
			if (j == i || !sees[(size_t)i * (size_t)u->n + (size_t)j])
				continue;
			if (!any)
				jbuf_printf(jb,
					    "\n# shared with this user by their owners\nuser %s\n",
					    u->v[i].name);
			any = true;
			put_reads(jb, o->in_prefix, u->v[j].name);
		}
	}
	jbuf_printf(jb,
		    "\n# the bridge: HTTP-mode reports for every user, the plugin's output\n"
		    "user %s\ntopic write %s/#\ntopic read %s/#\n"
		    "# ...and deletes: requests to the plugin, its answers (docs/control.md)\n"
		    "topic readwrite %s/#\n",
		    o->bridge_user, o->in_prefix, o->out_prefix, o->control_prefix);
}

/* Write `data` to `path` through a temporary file in the same directory
 * and rename(2), so readers see the old or the new file. Returns 0, or -1
 * after printing why (the temporary file is removed). */
static int write_atomic(const char *path, const char *data, size_t len)
{
	char *tmp = NULL, *dcopy = NULL;
	int fd = -1, dfd, rc = -1;
	size_t off = 0;

	if (asprintf(&tmp, "%s.XXXXXX", path) < 0) {
		tmp = NULL;
		fprintf(stderr, PROG ": out of memory\n");
		return -1;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		fprintf(stderr, PROG ": cannot create a file beside '%s': %s\n", path,
			strerror(errno));
		goto out;
	}
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			goto io_fail;
		off += (size_t)w;
	}
	/* the broker, running as its own user, must read it; it holds no secret */
	if (fchmod(fd, 0644) || fsync(fd))
		goto io_fail;
	if (close(fd)) {
		fd = -1;
		goto io_fail;
	}
	fd = -1;
	if (rename(tmp, path))
		goto io_fail;
	/* make the rename itself durable */
	dcopy = strdup(path);
	if (dcopy) {
		dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY);
		if (dfd >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
	}
	rc = 0;
	goto out;
io_fail:
	fprintf(stderr, PROG ": cannot write '%s': %s\n", path, strerror(errno));
	unlink(tmp);
out:
	if (fd >= 0)
		close(fd);
	free(tmp);
	free(dcopy);
	return rc;
}

/* Parse the command line into `o`. Returns 0, 1 after --help, or -1 after
 * printing what is wrong. */
static int parse_args(int argc, char **argv, struct acl_opts *o)
{
	static const struct option longs[] = {
		{"bridge-user", required_argument, NULL, 'b'},
		{"input-prefix", required_argument, NULL, 'i'},
		{"output-prefix", required_argument, NULL, 'o'},
		{"control-prefix", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	o->bridge_user = "mytracks-bridge";
	o->in_prefix = "owntracks";
	o->out_prefix = "mytracks";
	o->control_prefix = "mytracks-control";
	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (c) {
		case 'b':
			o->bridge_user = optarg;
			break;
		case 'i':
			o->in_prefix = optarg;
			break;
		case 'o':
			o->out_prefix = optarg;
			break;
		case 'c':
			o->control_prefix = optarg;
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			fprintf(stderr, PROG ": see --help\n");
			return -1;
		}
	}
	if (argc - optind != 2) {
		fprintf(stderr, PROG ": expected USERS_FILE and ACL_FILE (see --help)\n");
		return -1;
	}
	o->users_file = argv[optind];
	o->acl_file = argv[optind + 1];
	if (!acl_name_ok(o->bridge_user)) {
		fprintf(stderr, PROG ": --bridge-user: not a valid MQTT user name\n");
		return -1;
	}
	if (!acl_prefix_ok(o->in_prefix) || !acl_prefix_ok(o->out_prefix) ||
	    !acl_prefix_ok(o->control_prefix) || !strcmp(o->in_prefix, o->out_prefix) ||
	    !strcmp(o->in_prefix, o->control_prefix) || !strcmp(o->out_prefix, o->control_prefix)) {
		fprintf(stderr, PROG ": --input-prefix/--output-prefix/--control-prefix: expected "
				     "three different topic prefixes without + # or control "
				     "characters\n");
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct acl_opts o;
	struct acl_users u = {0};
	struct jbuf jb;
	bool *sees = NULL;
	FILE *f;
	int rc = 1, r;

	r = parse_args(argc, argv, &o);
	if (r)
		return r > 0 ? 0 : 2;
	jbuf_init(&jb, 0, ACL_MAX);
	f = fopen(o.users_file, "r");
	if (!f) {
		fprintf(stderr, PROG ": cannot read '%s': %s\n", o.users_file, strerror(errno));
		goto out;
	}
	r = read_users(&o, f, &u);
	fclose(f);
	if (r)
		goto out;
	sees = resolve_shares(&o, &u);
	if (!sees)
		goto out;
	format_acl(&o, &u, sees, &jb);
	if (jbuf_failed(&jb)) {
		fprintf(stderr, PROG ": the ACL would exceed %u bytes\n", ACL_MAX);
		goto out;
	}
	if (!strcmp(o.acl_file, "-")) {
		if (fwrite(jbuf_data(&jb), 1, jbuf_len(&jb), stdout) != jbuf_len(&jb) ||
		    fflush(stdout)) {
			fprintf(stderr, PROG ": cannot write to standard output\n");
			goto out;
		}
	} else if (write_atomic(o.acl_file, jbuf_data(&jb), jbuf_len(&jb))) {
		goto out;
	}
	rc = 0;
out:
	free(sees);
	free_users(&u);
	jbuf_free(&jb);
	return rc;
}

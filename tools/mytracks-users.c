/* mytracks-users: add, change and remove the bridge's web users (the --users file).
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * The file is the one mytracks-bridge reads with --users: lines
 * name:crypt-hash[:admin][:share=user1,user2], parsed here with the
 * bridge's own parser (bridge/parse.c), so the tool and the bridge agree on
 * what a valid line is. Passwords are hashed with yescrypt ($y$) and read
 * from the terminal without echo, or from stdin when it is not a terminal;
 * they never appear in argv or in the output.
 *
 * Edits are safe against each other and against a reader: the tool holds an
 * exclusive flock() on FILE.lock while it reads the file, writes the new
 * content to a temporary file in the same directory (same mode and owner),
 * fsyncs it and renames it over the old one. A reader sees the old or the
 * new file, never half of one. Comments, blank lines and lines the parser
 * does not understand are kept as they are.
 */
#define _GNU_SOURCE /* explicit_bzero */
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "parse.h"

#ifndef MYTRACKS_USERS_FILE
#define MYTRACKS_USERS_FILE "/etc/mytracks/users"
#endif
#define PROG "mytracks-users"
#define PASSWORD_MAX 1024
/* the bridge reads the file with a 4096-byte line buffer */
#define LINE_MAX_LEN 4000

static const char usage[] =
	"usage: " PROG " [--file FILE] COMMAND ...\n"
	"Manage the web users of mytracks-bridge (its --users file).\n"
	"\n"
	"commands:\n"
	"  add NAME [--admin]        add a user; asks for the password\n"
	"  passwd NAME               set a new password\n"
	"  del NAME                  remove a user (and from others' share lists)\n"
	"  share OWNER VIEWER[,...]  let VIEWERs see OWNER's devices\n"
	"  unshare OWNER VIEWER[,...] stop sharing OWNER's devices with VIEWERs\n"
	"  list                      users, admin flag and shares (no hashes)\n"
	"\n"
	"options:\n"
	"  --file FILE               the users file (default " MYTRACKS_USERS_FILE ")\n"
	"  --admin                   with add: the user sees every device\n"
	"  -h, --help                this text\n"
	"\n"
	"Passwords are read from the terminal without echo (asked twice), or as\n"
	"the first line of stdin when stdin is not a terminal. The file keeps its\n"
	"mode and owner; a new file is created with mode 0640. A running bridge\n"
	"re-reads the file on SIGHUP (systemctl reload mytracks-bridge): its users\n"
	"keep their sessions, removed users and changed passwords lose theirs.\n";

/* One line of the file: its text as read (no newline), and, when it is a
 * user line, the parsed fields (pointing into `buf`, a private copy). */
struct uline {
	char *text;
	char *buf;
	bool is_user;
	bool changed; /* rebuild from the fields below when writing */
	bool deleted;
	char *name, *hash, *share; /* share: NULL or "a,b" (owned when changed) */
	bool admin;
	bool share_owned, hash_owned;
};

struct ufile {
	const char *path;
	struct uline *lines;
	size_t n;
	bool exists;
	struct stat st;
};

static void ufile_free(struct ufile *f)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		struct uline *l = &f->lines[i];

		if (l->share_owned)
			free(l->share);
		if (l->hash_owned) {
			explicit_bzero(l->hash, strlen(l->hash));
			free(l->hash);
		}
		free(l->text);
		free(l->buf);
	}
	free(f->lines);
	f->lines = NULL;
	f->n = 0;
}

/* Read `f->path` into lines. A missing file is empty (exists = false) when
 * `may_be_missing`. Returns 0, or -1 after saying why on stderr. */
static int ufile_read(struct ufile *f, bool may_be_missing, bool warn)
{
	FILE *in;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int rc = -1;
	size_t lineno = 0;

	in = fopen(f->path, "r");
	if (!in) {
		if (errno == ENOENT && may_be_missing) {
			f->exists = false;
			return 0;
		}
		fprintf(stderr, PROG ": cannot read %s: %s\n", f->path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(in), &f->st)) {
		fprintf(stderr, PROG ": %s: %s\n", f->path, strerror(errno));
		goto out;
	}
	f->exists = true;
	while ((len = getline(&line, &cap, in)) >= 0) {
		struct uline *nl, *l;
		struct users_line ul;
		const char *err = NULL;
		int r;

		lineno++;
		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		nl = realloc(f->lines, (f->n + 1) * sizeof(*nl));
		if (!nl)
			goto nomem;
		f->lines = nl;
		l = &f->lines[f->n];
		memset(l, 0, sizeof(*l));
		f->n++;
		l->text = strdup(line);
		l->buf = strdup(line);
		if (!l->text || !l->buf)
			goto nomem;
		r = parse_users_line(l->buf, &ul, &err);
		if (r == 0) {
			l->is_user = true;
			l->name = ul.name;
			l->hash = ul.hash;
			l->share = ul.share;
			l->admin = ul.admin;
		} else if (r < 0 && warn) {
			fprintf(stderr, PROG ": %s line %zu (kept as it is): %s\n", f->path, lineno,
				err);
		}
	}
	if (ferror(in)) {
		fprintf(stderr, PROG ": reading %s: %s\n", f->path, strerror(errno));
		goto out;
	}
	rc = 0;
	goto out;
nomem:
	fprintf(stderr, PROG ": out of memory\n");
out:
	free(line);
	fclose(in);
	return rc;
}

/* The index of the first live user line named `name`, or -1. */
static long ufile_find(const struct ufile *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (f->lines[i].is_user && !f->lines[i].deleted && !strcmp(f->lines[i].name, name))
			return (long)i;
	return -1;
}

/* Write one line (rebuilt from its fields when changed). Returns 0, or -1. */
static int write_line(FILE *out, const struct uline *l)
{
	if (l->deleted)
		return 0;
	if (!l->changed)
		return fprintf(out, "%s\n", l->text) < 0 ? -1 : 0;
	if (fprintf(out, "%s:%s%s", l->name, l->hash, l->admin ? ":admin" : "") < 0)
		return -1;
	if (l->share && *l->share && fprintf(out, ":share=%s", l->share) < 0)
		return -1;
	return fputc('\n', out) == EOF ? -1 : 0;
}

/* Replace the file by its new content: a temporary file in the same
 * directory with the old mode and owner (0640 for a new file), fsynced,
 * then renamed over the old one and the directory fsynced. Returns 0, or
 * -1 after saying why (the old file is then untouched). */
static int ufile_write(const struct ufile *f)
{
	char *dcopy = strdup(f->path), *tmp = NULL;
	const char *dir;
	FILE *out = NULL;
	int fd = -1, dfd, rc = -1;
	size_t i;

	if (!dcopy || asprintf(&tmp, "%s.tmp.XXXXXX", f->path) < 0) {
		tmp = NULL;
		fprintf(stderr, PROG ": out of memory\n");
		goto out;
	}
	dir = dirname(dcopy);
	fd = mkstemp(tmp);
	if (fd < 0) {
		fprintf(stderr, PROG ": cannot create a file in %s: %s\n", dir, strerror(errno));
		goto out;
	}
	if (fchmod(fd, f->exists ? (f->st.st_mode & 07777) : 0640)) {
		fprintf(stderr, PROG ": chmod %s: %s\n", tmp, strerror(errno));
		goto out;
	}
	if (f->exists) {
		struct stat st;

		if (fstat(fd, &st) || ((st.st_uid != f->st.st_uid || st.st_gid != f->st.st_gid) &&
				       fchown(fd, f->st.st_uid, f->st.st_gid))) {
			fprintf(stderr,
				PROG ": cannot give the new file %s's owner and group: %s\n",
				f->path, strerror(errno));
			goto out;
		}
	}
	out = fdopen(fd, "w");
	if (!out) {
		fprintf(stderr, PROG ": %s: %s\n", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	for (i = 0; i < f->n; i++)
		if (write_line(out, &f->lines[i]))
			break;
	if (i < f->n || fflush(out) || fsync(fileno(out))) {
		fprintf(stderr, PROG ": writing %s: %s\n", tmp, strerror(errno));
		goto out;
	}
	if (fclose(out)) {
		out = NULL;
		fprintf(stderr, PROG ": writing %s: %s\n", tmp, strerror(errno));
		goto out;
	}
	out = NULL;
	if (rename(tmp, f->path)) {
		fprintf(stderr, PROG ": rename %s to %s: %s\n", tmp, f->path, strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	rc = 0;
out:
	if (out)
		fclose(out);
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	free(dcopy);
	return rc;
}

/* Take the edit lock: an exclusive flock() on FILE.lock (created 0600).
 * Returns the descriptor (closing it releases the lock), or -1. */
static int lock_file(const char *path)
{
	char *lpath;
	int fd;

	if (asprintf(&lpath, "%s.lock", path) < 0) {
		fprintf(stderr, PROG ": out of memory\n");
		return -1;
	}
	fd = open(lpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		fprintf(stderr, PROG ": cannot open the lock file %s: %s\n", lpath,
			strerror(errno));
	else if (flock(fd, LOCK_EX)) {
		fprintf(stderr, PROG ": cannot lock %s: %s\n", lpath, strerror(errno));
		close(fd);
		fd = -1;
	}
	free(lpath);
	return fd;
}

/* Read one line into `buf` from `fd`, without the newline. Returns its
 * length, or -1 at end of input or when it does not fit. */
static ssize_t read_line_fd(int fd, char *buf, size_t size)
{
	size_t n = 0;
	char c;
	ssize_t r;

	for (;;) {
		r = read(fd, &c, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return n ? (ssize_t)n : -1;
		if (c == '\n')
			break;
		if (n + 1 >= size)
			return -1;
		buf[n++] = c;
	}
	if (n && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return (ssize_t)n;
}

/* Ask on the terminal with echo off. Returns the length, or -1. */
static ssize_t ask_tty(int fd, const char *prompt, char *buf, size_t size)
{
	struct termios old, quiet;
	ssize_t n;

	if (tcgetattr(fd, &old))
		return -1;
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	quiet.c_lflag |= ECHONL;
	/* echo off before the prompt shows: an answer typed (or pasted) as
	 * soon as it appears must neither echo nor be flushed away */
	if (tcsetattr(fd, TCSAFLUSH, &quiet))
		return -1;
	fputs(prompt, stderr);
	fflush(stderr);
	n = read_line_fd(fd, buf, size);
	tcsetattr(fd, TCSADRAIN, &old);
	return n;
}

/* The new password for `name`: from the terminal (twice, no echo) when
 * stdin is one, else the first line of stdin. Returns 0 with `buf` filled
 * (the caller wipes it), or -1 after saying why. */
static int read_password(const char *name, char *buf, size_t size)
{
	char again[PASSWORD_MAX + 2], prompt[256];
	ssize_t n;
	int rc = -1;

	if (!isatty(STDIN_FILENO)) {
		n = read_line_fd(STDIN_FILENO, buf, size);
		if (n < 0) {
			fprintf(stderr,
				PROG ": no password on stdin (one line, at most %d bytes)\n",
				PASSWORD_MAX);
			return -1;
		}
	} else {
		snprintf(prompt, sizeof(prompt), "New password for %s: ", name);
		n = ask_tty(STDIN_FILENO, prompt, buf, size);
		if (n < 0 || ask_tty(STDIN_FILENO, "Retype it: ", again, sizeof(again)) < 0) {
			fprintf(stderr, PROG ": no password read\n");
			goto out;
		}
		if (strcmp(buf, again)) {
			fprintf(stderr, PROG ": the passwords differ\n");
			goto out;
		}
	}
	if (n == 0) {
		fprintf(stderr, PROG ": empty password refused\n");
		goto out;
	}
	if ((size_t)n > PASSWORD_MAX) {
		fprintf(stderr, PROG ": password longer than %d bytes\n", PASSWORD_MAX);
		goto out;
	}
	rc = 0;
out:
	explicit_bzero(again, sizeof(again));
	return rc;
}

/* Ask for a password and hash it with yescrypt. Returns the hash
 * (malloc'd, the caller frees), or NULL after saying why. */
static char *new_hash(const char *name)
{
	char pw[PASSWORD_MAX + 2], salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = NULL;
	char *h, *out = NULL;

	if (read_password(name, pw, sizeof(pw)))
		goto out;
	cd = calloc(1, sizeof(*cd));
	if (!cd || !crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof(salt))) {
		fprintf(stderr, PROG ": cannot make a salt: %s\n", strerror(errno));
		goto out;
	}
	h = crypt_r(pw, salt, cd);
	if (!h || h[0] != '$') {
		fprintf(stderr, PROG ": crypt failed\n");
		goto out;
	}
	out = strdup(h);
	if (!out)
		fprintf(stderr, PROG ": out of memory\n");
out:
	explicit_bzero(pw, sizeof(pw));
	if (cd) {
		explicit_bzero(cd, sizeof(*cd));
		free(cd);
	}
	return out;
}

/* Is `name` in the comma list `list`? */
static bool list_has(const char *list, const char *name)
{
	size_t n = strlen(name);
	const char *p = list;

	while (p && *p) {
		size_t k = strcspn(p, ",");

		if (k == n && !strncmp(p, name, n))
			return true;
		p += k;
		if (*p)
			p++;
	}
	return false;
}

/* A new comma list: `list` with `name` added (`add`) or removed. Returns it
 * (malloc'd; "" when empty), or NULL when out of memory. */
static char *list_edit(const char *list, const char *name, bool add)
{
	size_t cap = (list ? strlen(list) : 0) + strlen(name) + 2, n = 0;
	char *out = malloc(cap);
	const char *p = list;

	if (!out)
		return NULL;
	out[0] = '\0';
	while (p && *p) {
		size_t k = strcspn(p, ",");

		if (k && !(k == strlen(name) && !strncmp(p, name, k))) {
			n += (size_t)snprintf(out + n, cap - n, "%s%.*s", n ? "," : "", (int)k, p);
		}
		p += k;
		if (*p)
			p++;
	}
	if (add)
		snprintf(out + n, cap - n, "%s%s", n ? "," : "", name);
	return out;
}

/* Set a line's share list to `nl` (taking it). */
static void set_share(struct uline *l, char *nl)
{
	if (l->share_owned)
		free(l->share);
	l->share = nl;
	l->share_owned = true;
	l->changed = true;
}

static bool name_ok(const char *name)
{
	if (!parse_name_ok(name, strlen(name)) || strchr(name, ':') || strchr(name, ',')) {
		fprintf(stderr,
			PROG ": invalid user name '%s' (1-128 bytes, no / + # : , or control "
			     "characters)\n",
			name);
		return false;
	}
	return true;
}

/* The line would be longer than the bridge reads. */
static bool too_long(const struct uline *l)
{
	size_t n = strlen(l->name) + strlen(l->hash) + 7 + (l->share ? strlen(l->share) + 7 : 0);

	if (n > LINE_MAX_LEN) {
		fprintf(stderr, PROG ": %s's line would be longer than %d bytes\n", l->name,
			LINE_MAX_LEN);
		return true;
	}
	return false;
}

static int cmd_add(struct ufile *f, const char *name, bool admin)
{
	struct uline *nl, *l;
	char *hash;

	if (ufile_find(f, name) >= 0) {
		fprintf(stderr, PROG ": user %s already exists (use passwd)\n", name);
		return -1;
	}
	hash = new_hash(name);
	if (!hash)
		return -1;
	nl = realloc(f->lines, (f->n + 1) * sizeof(*nl));
	if (!nl) {
		free(hash);
		fprintf(stderr, PROG ": out of memory\n");
		return -1;
	}
	f->lines = nl;
	l = &f->lines[f->n++];
	memset(l, 0, sizeof(*l));
	l->buf = strdup(name);
	if (!l->buf) {
		free(hash);
		fprintf(stderr, PROG ": out of memory\n");
		return -1;
	}
	l->name = l->buf;
	l->hash = hash;
	l->hash_owned = true;
	l->is_user = true;
	l->changed = true;
	l->admin = admin;
	return too_long(l) ? -1 : 0;
}

static int cmd_passwd(struct ufile *f, const char *name)
{
	long i = ufile_find(f, name);
	struct uline *l;
	char *hash;

	if (i < 0) {
		fprintf(stderr, PROG ": no user %s in %s\n", name, f->path);
		return -1;
	}
	hash = new_hash(name);
	if (!hash)
		return -1;
	l = &f->lines[i];
	if (l->hash_owned)
		free(l->hash);
	l->hash = hash;
	l->hash_owned = true;
	l->changed = true;
	return too_long(l) ? -1 : 0;
}

static int cmd_del(struct ufile *f, const char *name)
{
	long i = ufile_find(f, name);
	size_t k;

	if (i < 0) {
		fprintf(stderr, PROG ": no user %s in %s\n", name, f->path);
		return -1;
	}
	while ((i = ufile_find(f, name)) >= 0)
		f->lines[i].deleted = true;
	/* the bridge refuses a file that shares with an unknown user */
	for (k = 0; k < f->n; k++) {
		struct uline *l = &f->lines[k];
		char *nl;

		if (!l->is_user || l->deleted || !list_has(l->share, name))
			continue;
		nl = list_edit(l->share, name, false);
		if (!nl) {
			fprintf(stderr, PROG ": out of memory\n");
			return -1;
		}
		set_share(l, nl);
	}
	return 0;
}

static int cmd_share(struct ufile *f, const char *owner, const char *viewers, bool add)
{
	long i = ufile_find(f, owner);
	char *copy, *tok, *save = NULL;
	int rc = -1;

	if (i < 0) {
		fprintf(stderr, PROG ": no user %s in %s\n", owner, f->path);
		return -1;
	}
	copy = strdup(viewers);
	if (!copy) {
		fprintf(stderr, PROG ": out of memory\n");
		return -1;
	}
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct uline *l = &f->lines[i];
		char *nl;

		if (!name_ok(tok))
			goto out;
		if (add && ufile_find(f, tok) < 0) {
			fprintf(stderr, PROG ": no user %s in %s (add it first)\n", tok, f->path);
			goto out;
		}
		if (add && !strcmp(tok, owner)) {
			fprintf(stderr, PROG ": %s sees their own devices anyway\n", owner);
			goto out;
		}
		if (add == list_has(l->share, tok))
			continue;
		nl = list_edit(l->share, tok, add);
		if (!nl) {
			fprintf(stderr, PROG ": out of memory\n");
			goto out;
		}
		set_share(l, nl);
	}
	rc = too_long(&f->lines[i]) ? -1 : 0;
out:
	free(copy);
	return rc;
}

static void cmd_list(const struct ufile *f)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		const struct uline *l = &f->lines[i];

		if (!l->is_user)
			continue;
		printf("%s%s", l->name, l->admin ? " admin" : "");
		if (l->share && *l->share)
			printf(" share=%s", l->share);
		putchar('\n');
	}
}

int main(int argc, char **argv)
{
	const char *path = MYTRACKS_USERS_FILE, *args[3] = {NULL, NULL, NULL};
	struct ufile f;
	bool admin = false, edits;
	int i, nargs = 0, lock = -1, rc = 1;
	const char *cmd;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(usage, stdout);
			return 0;
		} else if (!strcmp(argv[i], "--file") && i + 1 < argc) {
			path = argv[++i];
		} else if (!strncmp(argv[i], "--file=", 7)) {
			path = argv[i] + 7;
		} else if (!strcmp(argv[i], "--admin")) {
			admin = true;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, PROG ": unknown option '%s'\n%s", argv[i], usage);
			return 2;
		} else if (nargs < 3) {
			args[nargs++] = argv[i];
		} else {
			fprintf(stderr, PROG ": too many arguments\n%s", usage);
			return 2;
		}
	}
	cmd = args[0];
	if (!cmd) {
		fputs(usage, stderr);
		return 2;
	}
	{
		int want = !strcmp(cmd, "list")				      ? 1
			   : !strcmp(cmd, "share") || !strcmp(cmd, "unshare") ? 3
			   : !strcmp(cmd, "add") || !strcmp(cmd, "passwd") || !strcmp(cmd, "del")
				   ? 2
				   : 0;

		if (!want) {
			fprintf(stderr, PROG ": unknown command '%s'\n%s", cmd, usage);
			return 2;
		}
		if (nargs != want || (admin && strcmp(cmd, "add"))) {
			fprintf(stderr, PROG ": wrong arguments for %s\n%s", cmd, usage);
			return 2;
		}
	}
	if (nargs > 1 && !name_ok(args[1]))
		return 2;
	memset(&f, 0, sizeof(f));
	f.path = path;
	edits = strcmp(cmd, "list") != 0;
	if (edits) {
		lock = lock_file(path);
		if (lock < 0)
			goto out;
	}
	if (ufile_read(&f, !strcmp(cmd, "add"), true))
		goto out;
	if (!strcmp(cmd, "list")) {
		cmd_list(&f);
		rc = 0;
		goto out;
	}
	if (!strcmp(cmd, "add")	     ? cmd_add(&f, args[1], admin)
	    : !strcmp(cmd, "passwd") ? cmd_passwd(&f, args[1])
	    : !strcmp(cmd, "del")    ? cmd_del(&f, args[1])
				     : cmd_share(&f, args[1], args[2], !strcmp(cmd, "share")))
		goto out;
	if (ufile_write(&f))
		goto out;
	printf(PROG ": %s %s: done (%s)\n", cmd, args[1], path);
	/* the bridge reads the file at start and on SIGHUP, never by itself */
	printf(PROG ": to apply it to a running bridge: systemctl reload mytracks-bridge "
		    "(or kill -HUP its PID)\n");
	rc = 0;
out:
	ufile_free(&f);
	if (lock >= 0)
		close(lock);
	return rc;
}

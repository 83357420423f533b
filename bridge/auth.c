/* auth: web users (a crypt(3) users file), who may see whom, sessions.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "auth.h"

#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "jbuf.h"
#include "parse.h"

/* A salted SHA-512 crypt hash of `pw`. Returns 0, or -1. */
static int make_hash(const char *pw, char *out, size_t out_len)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	const char *h = NULL;
	int rc = -1;

	if (!cd)
		return -1;
	if (crypt_gensalt_rn("$6$", 0, NULL, 0, salt, sizeof(salt)))
		h = crypt_r(pw, salt, cd);
	if (h && h[0] == '$' && strlen(h) < out_len) {
		memcpy(out, h, strlen(h) + 1);
		rc = 0;
	}
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return rc;
}

static int find_in(const struct auth_user *v, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(v[i].name, name))
			return i;
	return -1;
}

static int find_user(const struct auth *a, const char *name)
{
	return find_in(a->users, a->n_users, name);
}

static int add_sees(struct auth_user *u, const char *name)
{
	char **n;
	int i;

	for (i = 0; i < u->n_sees; i++)
		if (!strcmp(u->sees[i], name))
			return 0;
	n = realloc(u->sees, (size_t)(u->n_sees + 1) * sizeof(*n));
	if (!n)
		return -1;
	u->sees = n;
	u->sees[u->n_sees] = strdup(name);
	return u->sees[u->n_sees++] ? 0 : -1;
}

static void users_free(struct auth_user *v, int n)
{
	int i, k;

	for (i = 0; i < n; i++) {
		struct auth_user *u = &v[i];

		free(u->name);
		/* the hash is a secret: do not leave it in freed memory */
		if (u->hash)
			explicit_bzero(u->hash, strlen(u->hash));
		free(u->hash);
		for (k = 0; k < u->n_sees; k++)
			free(u->sees[k]);
		free(u->sees);
		free(u->sees_json);
		explicit_bzero(u->verified, sizeof(u->verified));
	}
	free(v);
}

/* Work out who sees whom once every line is read: a line's share= list
 * names the users who also see that line's user's devices. Returns 0, or
 * -1 with the reason in `err` ("" when out of memory). */
static int resolve_shares(struct auth_user *v, int n, char **shares, const char *file, char *err,
			  size_t err_len)
{
	int i, j;

	for (i = 0; i < n; i++)
		if (add_sees(&v[i], v[i].name))
			return -1;
	for (i = 0; i < n; i++) {
		char *list = shares[i], *tok, *save = NULL;

		if (!list)
			continue;
		for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			j = find_in(v, n, tok);
			if (j < 0) {
				snprintf(err, err_len,
					 "%s: user '%s' shares with unknown user '%s'", file,
					 v[i].name, tok);
				return -1;
			}
			if (add_sees(&v[j], v[i].name))
				return -1;
		}
	}
	for (i = 0; i < n; i++) {
		struct auth_user *u = &v[i];
		struct jbuf jb;

		if (u->admin)
			continue;
		jbuf_init(&jb, 0, 1u << 20);
		jbuf_putc(&jb, '[');
		for (int k = 0; k < u->n_sees; k++) {
			if (k)
				jbuf_putc(&jb, ',');
			jbuf_json_cstr(&jb, u->sees[k]);
		}
		jbuf_putc(&jb, ']');
		if (jbuf_failed(&jb)) {
			jbuf_free(&jb);
			return -1;
		}
		u->sees_json = strndup(jbuf_data(&jb), jbuf_len(&jb));
		jbuf_free(&jb);
		if (!u->sees_json)
			return -1;
	}
	return 0;
}

/* Read and check a whole users file. Returns 0 with the users in `*out`
 * (free with users_free()) and their number in `*n_out`, or -1 with
 * nothing allocated and the reason (the file, the line) in `err`. */
static int users_read(const char *file, struct auth_user **out, int *n_out, char *err,
		      size_t err_len)
{
	char line[4096], **shares = NULL;
	struct auth_user *v = NULL;
	FILE *f;
	int lineno = 0, n = 0, rc = -1, i;

	snprintf(err, err_len, "%s: out of memory", file);
	f = fopen(file, "r");
	if (!f) {
		snprintf(err, err_len, "%s: cannot read: %s", file, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		struct users_line ul;
		const char *why = NULL;
		struct auth_user *nu;
		char **ns;
		int r;

		lineno++;
		r = parse_users_line(line, &ul, &why);
		if (r == 1)
			continue;
		if (r < 0 || find_in(v, n, ul.name) >= 0) {
			snprintf(err, err_len, "%s line %d: %s", file, lineno,
				 r < 0 ? why : "user listed twice");
			goto out;
		}
		nu = realloc(v, (size_t)(n + 1) * sizeof(*nu));
		if (!nu)
			goto out;
		v = nu;
		ns = realloc(shares, (size_t)(n + 1) * sizeof(*ns));
		if (!ns)
			goto out;
		shares = ns;
		memset(&v[n], 0, sizeof(*nu));
		shares[n] = ul.share ? strdup(ul.share) : NULL;
		v[n].name = strdup(ul.name);
		v[n].hash = strdup(ul.hash);
		v[n].admin = ul.admin;
		n++;
		if (!v[n - 1].name || !v[n - 1].hash || (ul.share && !shares[n - 1]))
			goto out;
	}
	if (ferror(f)) {
		snprintf(err, err_len, "%s line %d: read error", file, lineno + 1);
		goto out;
	}
	if (!n) {
		snprintf(err, err_len, "%s: no users", file);
		goto out;
	}
	rc = resolve_shares(v, n, shares, file, err, err_len);
out:
	fclose(f);
	explicit_bzero(line, sizeof(line));
	for (i = 0; shares && i < n; i++)
		free(shares[i]);
	free(shares);
	if (rc) {
		users_free(v, n);
		return -1;
	}
	*out = v;
	*n_out = n;
	return 0;
}

static void session_drop(struct auth *a, struct auth_session *s)
{
	explicit_bzero(s->token, sizeof(s->token));
	s->user = -1;
	a->ended = true;
}

int auth_load(struct auth *a, const char *file, int ttl, int max_per_user, int limit)
{
	char err[1024];
	int i;

	memset(a, 0, sizeof(*a));
	a->ttl = ttl;
	a->max_per_user = max_per_user;
	a->limit = limit;
	a->next_serial = 1;
	a->sessions = calloc(AUTH_MAX_SESSIONS, sizeof(*a->sessions));
	a->limits = calloc(AUTH_LIMIT_SLOTS, sizeof(*a->limits));
	if (!a->sessions || !a->limits ||
	    getrandom(a->cache_key, sizeof(a->cache_key), 0) != (ssize_t)sizeof(a->cache_key))
		return -1;
	for (i = 0; i < AUTH_MAX_SESSIONS; i++)
		a->sessions[i].user = -1;
	if (users_read(file, &a->users, &a->n_users, err, sizeof(err))) {
		fprintf(stderr, "mytracks-bridge: --users %s\n", err);
		return -1;
	}
	return make_hash("unknown user", a->dummy, sizeof(a->dummy)) ? -1 : 0;
}

int auth_reload(struct auth *a, const char *file, int *ended, char *err, size_t err_len)
{
	struct auth_user *v;
	int n, i, *map;

	*ended = 0;
	if (users_read(file, &v, &n, err, err_len))
		return -1;
	map = calloc((size_t)(a->n_users ? a->n_users : 1), sizeof(*map));
	if (!map) {
		users_free(v, n);
		snprintf(err, err_len, "%s: out of memory", file);
		return -1;
	}
	/* an old user's place in the new list; -1: gone, or a new password
	 * (often the answer to a stolen one: its sessions must not outlive it) */
	for (i = 0; i < a->n_users; i++) {
		int j = find_in(v, n, a->users[i].name);

		map[i] = j >= 0 && !strcmp(v[j].hash, a->users[i].hash) ? j : -1;
		if (map[i] >= 0) { /* the same password: its HTTP-mode check holds */
			memcpy(v[j].verified, a->users[i].verified, sizeof(v[j].verified));
			v[j].verified_until = a->users[i].verified_until;
		}
	}
	for (i = 0; i < AUTH_MAX_SESSIONS; i++) {
		struct auth_session *s = &a->sessions[i];

		if (s->user < 0)
			continue;
		if (map[s->user] < 0) {
			session_drop(a, s);
			(*ended)++;
		} else {
			s->user = map[s->user];
		}
	}
	free(map);
	users_free(a->users, a->n_users);
	a->users = v;
	a->n_users = n;
	return 0;
}

void auth_free(struct auth *a)
{
	users_free(a->users, a->n_users);
	if (a->sessions)
		explicit_bzero(a->sessions, AUTH_MAX_SESSIONS * sizeof(*a->sessions));
	free(a->sessions);
	free(a->limits);
	explicit_bzero(a, sizeof(*a));
}

/* Compare two strings in time that depends only on their lengths. */
static bool same(const char *x, const char *y)
{
	size_t xl = strlen(x), yl = strlen(y), i;
	unsigned char d = xl != yl;

	for (i = 0; i < xl && i < yl; i++)
		d |= (unsigned char)(x[i] ^ y[i]);
	return !d;
}

const struct auth_user *auth_check_password(const struct auth *a, const char *name,
					    const char *password)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	int i = find_user(a, name);
	const char *hash = i >= 0 ? a->users[i].hash : a->dummy;
	const char *out;
	bool ok;

	if (!cd)
		return NULL;
	out = crypt_r(password, hash, cd);
	ok = out && out[0] == '$' && same(out, hash) && i >= 0;
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ok ? &a->users[i] : NULL;
}

/* HMAC-SHA256 of `password` under the cache key. Returns 0, or -1. */
static int password_mac(const struct auth *a, const char *password, unsigned char out[32])
{
	unsigned int n = 0;

	if (!HMAC(EVP_sha256(), a->cache_key, (int)sizeof(a->cache_key),
		  (const unsigned char *)password, strlen(password), out, &n))
		return -1;
	return n == 32 ? 0 : -1;
}

const struct auth_user *auth_check_basic(struct auth *a, const char *name, const char *password,
					 int64_t now, bool *cached)
{
	int i = find_user(a, name);
	struct auth_user *u = i >= 0 ? &a->users[i] : NULL;
	const struct auth_user *ok;
	unsigned char mac[32], d = 0;
	bool have = !password_mac(a, password, mac);
	size_t k;

	*cached = false;
	if (u && have && u->verified_until > now) {
		for (k = 0; k < sizeof(mac); k++)
			d |= (unsigned char)(mac[k] ^ u->verified[k]);
		if (!d) {
			explicit_bzero(mac, sizeof(mac));
			*cached = true;
			return u;
		}
	}
	ok = auth_check_password(a, name, password);
	if (ok && have) {
		memcpy(u->verified, mac, sizeof(mac));
		u->verified_until = now + AUTH_BASIC_CACHE_TTL;
	}
	explicit_bzero(mac, sizeof(mac));
	return ok;
}

int auth_session_new(struct auth *a, const struct auth_user *u, int64_t now,
		     char token[AUTH_TOKEN_LEN + 1])
{
	unsigned char rnd[AUTH_TOKEN_LEN / 2];
	struct auth_session *slot = NULL, *own_oldest = NULL;
	int i, uid = (int)(u - a->users), own = 0;

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -1;
	for (i = 0; i < AUTH_TOKEN_LEN / 2; i++)
		snprintf(token + 2 * i, 3, "%02x", rnd[i]);
	explicit_bzero(rnd, sizeof(rnd));
	for (i = 0; i < AUTH_MAX_SESSIONS; i++) {
		struct auth_session *s = &a->sessions[i];

		if (s->user >= 0 && s->expires <= now)
			session_drop(a, s);
		if (s->user == uid) {
			own++;
			if (!own_oldest || s->serial < own_oldest->serial)
				own_oldest = s;
		}
		if (slot && slot->user < 0)
			continue; /* have a free slot; still counting this user's */
		if (s->user < 0 || !slot || s->expires < slot->expires)
			slot = s;
	}
	/* one user cannot push everyone else out: they lose their own oldest */
	if (own >= a->max_per_user)
		slot = own_oldest;
	if (slot->user >= 0)
		session_drop(a, slot);
	memcpy(slot->token, token, AUTH_TOKEN_LEN + 1);
	slot->user = uid;
	slot->expires = now + a->ttl;
	slot->serial = a->next_serial++;
	return 0;
}

static struct auth_session *find_session(struct auth *a, const char *token)
{
	int i;

	if (strlen(token) != AUTH_TOKEN_LEN)
		return NULL;
	for (i = 0; i < AUTH_MAX_SESSIONS; i++)
		if (a->sessions[i].user >= 0 && same(a->sessions[i].token, token))
			return &a->sessions[i];
	return NULL;
}

const struct auth_user *auth_session_user(struct auth *a, const char *token, int64_t now,
					  struct auth_ref *ref)
{
	struct auth_session *s = find_session(a, token);

	if (!s)
		return NULL;
	if (s->expires <= now) {
		session_drop(a, s);
		return NULL;
	}
	if (ref) {
		ref->slot = (int)(s - a->sessions);
		ref->serial = s->serial;
	}
	return &a->users[s->user];
}

void auth_session_end(struct auth *a, const char *token)
{
	struct auth_session *s = find_session(a, token);

	if (s)
		session_drop(a, s);
}

bool auth_session_live(const struct auth *a, const struct auth_ref *ref, int64_t now)
{
	const struct auth_session *s;

	if (ref->slot < 0 || ref->slot >= AUTH_MAX_SESSIONS)
		return false;
	s = &a->sessions[ref->slot];
	return s->user >= 0 && s->serial == ref->serial && s->expires > now;
}

const struct auth_user *auth_ref_user(const struct auth *a, const struct auth_ref *ref, int64_t now)
{
	return auth_session_live(a, ref, now) ? &a->users[a->sessions[ref->slot].user] : NULL;
}

bool auth_sessions_ended(struct auth *a, int64_t now)
{
	int i;

	for (i = 0; i < AUTH_MAX_SESSIONS; i++)
		if (a->sessions[i].user >= 0 && a->sessions[i].expires <= now)
			session_drop(a, &a->sessions[i]);
	if (!a->ended)
		return false;
	a->ended = false;
	return true;
}

/* The counter for `key`, or NULL; with `add`, a new one (reusing the
 * stalest slot when all are taken). */
static struct auth_limit *limit_slot(struct auth *a, const char *key, int64_t now, bool add)
{
	struct auth_limit *free_slot = NULL;
	int i;

	for (i = 0; i < AUTH_LIMIT_SLOTS; i++) {
		struct auth_limit *l = &a->limits[i];

		if (l->window && now - l->window >= AUTH_LIMIT_WINDOW)
			l->window = 0; /* an old window: free */
		if (l->window && !strcmp(l->key, key))
			return l;
		if (!free_slot ||
		    (free_slot->window && (!l->window || l->window < free_slot->window)))
			free_slot = l;
	}
	if (!add)
		return NULL;
	memset(free_slot, 0, sizeof(*free_slot));
	snprintf(free_slot->key, sizeof(free_slot->key), "%s", key);
	free_slot->window = now;
	return free_slot;
}

/* The two keys of a login: the address, and the user name (all unknown
 * names share one, so random names cannot buy unlimited crypt calls). */
static void limit_keys(const struct auth *a, const char *addr, const char *name,
		       char ka[AUTH_LIMIT_KEY], char ku[AUTH_LIMIT_KEY])
{
	snprintf(ka, AUTH_LIMIT_KEY, "a:%s", addr);
	snprintf(ku, AUTH_LIMIT_KEY, "u:%s", find_user(a, name) >= 0 ? name : "");
}

bool auth_limit_ok(struct auth *a, const char *addr, const char *name, int64_t now, bool *log)
{
	char ka[AUTH_LIMIT_KEY], ku[AUTH_LIMIT_KEY];
	struct auth_limit *la, *lu;
	bool ok = true;

	*log = false;
	if (a->limit <= 0)
		return true;
	limit_keys(a, addr, name, ka, ku);
	la = limit_slot(a, ka, now, false);
	lu = limit_slot(a, ku, now, false);
	if (la && la->fails >= a->limit) {
		ok = false;
		*log |= !la->told;
		la->told = true;
	}
	if (lu && lu->fails >= a->limit) {
		ok = false;
		*log |= !lu->told;
		lu->told = true;
	}
	return ok;
}

void auth_limit_fail(struct auth *a, const char *addr, const char *name, int64_t now)
{
	char ka[AUTH_LIMIT_KEY], ku[AUTH_LIMIT_KEY];
	struct auth_limit *l;

	if (a->limit <= 0)
		return;
	limit_keys(a, addr, name, ka, ku);
	if ((l = limit_slot(a, ka, now, true)))
		l->fails++;
	if ((l = limit_slot(a, ku, now, true)))
		l->fails++;
}

bool auth_may_see(const struct auth_user *viewer, const char *owner)
{
	int i;

	if (viewer->admin)
		return true;
	for (i = 0; i < viewer->n_sees; i++)
		if (!strcmp(viewer->sees[i], owner))
			return true;
	return false;
}

int auth_hash_password(void)
{
	char pw[1024], hash[CRYPT_OUTPUT_SIZE];
	size_t n;
	int rc = 1;

	if (!fgets(pw, sizeof(pw), stdin)) {
		fprintf(stderr, "mytracks-bridge: --hash-password: no password on stdin\n");
		return 1;
	}
	n = strcspn(pw, "\r\n");
	pw[n] = '\0';
	if (!n) {
		fprintf(stderr, "mytracks-bridge: --hash-password: empty password\n");
		return 1;
	}
	if (!make_hash(pw, hash, sizeof(hash))) {
		printf("%s\n", hash);
		rc = 0;
	} else {
		fprintf(stderr, "mytracks-bridge: --hash-password: crypt failed\n");
	}
	explicit_bzero(pw, sizeof(pw));
	return rc;
}

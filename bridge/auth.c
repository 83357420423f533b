/* auth: web users (a crypt(3) users file), who may see whom, sessions.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "auth.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
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
	s->revoked = false;
	a->ended = true;
}

static int64_t wall_now(void)
{
	return (int64_t)time(NULL);
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
	a->wall = wall_now;
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

/* --- signed tokens (--session-secret-file) ------------------------------ */

int auth_secret_load(struct auth *a, const char *file, char *err, size_t err_len)
{
	unsigned char buf[AUTH_SECRET_MAX + 2];
	struct stat st;
	size_t got = 0;
	ssize_t r;
	int fd, rc = -1;

	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, err_len, "%s: cannot read: %s", file, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		snprintf(err, err_len, "%s is not a regular file", file);
		goto out;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, err_len,
			 "%s has mode %04o: group or others may read or write it; chmod 600 "
			 "it (whoever reads it can log in as anyone)",
			 file, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	while (got < sizeof(buf)) {
		r = read(fd, buf + got, sizeof(buf) - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, err_len, "%s: read error: %s", file, strerror(errno));
			goto out;
		}
		if (!r)
			break;
		got += (size_t)r;
	}
	/* one trailing newline (an editor's, or echo's) is not secret */
	if (got && buf[got - 1] == '\n')
		got--;
	if (got && buf[got - 1] == '\r')
		got--;
	if (got > AUTH_SECRET_MAX) {
		snprintf(err, err_len, "%s is longer than %d bytes", file, AUTH_SECRET_MAX);
		goto out;
	}
	if (got < AUTH_SECRET_MIN) {
		snprintf(err, err_len,
			 "%s holds %zu bytes, at least %d are needed (e.g. `openssl rand -hex "
			 "32 > FILE`)",
			 file, got, AUTH_SECRET_MIN);
		goto out;
	}
	memcpy(a->secret, buf, got);
	a->secret_len = got;
	rc = 0;
out:
	explicit_bzero(buf, sizeof(buf));
	close(fd);
	return rc;
}

static const char hexdig[] = "0123456789abcdef";

static void hex_put(char *out, const unsigned char *in, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = hexdig[in[i] >> 4];
		out[2 * i + 1] = hexdig[in[i] & 15];
	}
}

/* Lower-case hex digit value, or -1. */
static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decode exactly `n` hex characters of `in` (n even) into `out`. */
static int hex_get(unsigned char *out, const char *in, size_t n)
{
	size_t i;

	for (i = 0; i < n; i += 2) {
		int h = hex_val(in[i]), l = hex_val(in[i + 1]);

		if (h < 0 || l < 0)
			return -1;
		out[i / 2] = (unsigned char)(h << 4 | l);
	}
	return 0;
}

/* The token's MAC: HMAC-SHA256(secret, body NUL user_hash). */
static int token_mac(const unsigned char *secret, size_t secret_len, const char *body,
		     size_t body_len, const char *user_hash, unsigned char mac[32])
{
	size_t hl = strlen(user_hash), n = body_len + 1 + hl;
	unsigned char *msg = malloc(n);
	unsigned int got = 0;
	bool ok;

	if (!msg)
		return -1;
	memcpy(msg, body, body_len);
	msg[body_len] = '\0';
	memcpy(msg + body_len + 1, user_hash, hl);
	ok = HMAC(EVP_sha256(), secret, (int)secret_len, msg, n, mac, &got) && got == 32;
	explicit_bzero(msg, n);
	free(msg);
	return ok ? 0 : -1;
}

int auth_token_make(const unsigned char *secret, size_t secret_len, const char *user,
		    const char *user_hash, int64_t issued, int64_t expires,
		    const unsigned char rnd[AUTH_TOKEN_RANDOM], char out[AUTH_SIGNED_MAX + 1])
{
	size_t ul = strlen(user), n;
	unsigned char mac[32];
	int w;

	if (!ul || ul > OT_NAME_MAX || issued < 0 || expires <= issued || !secret_len)
		return -1;
	memcpy(out, "v1.", 3);
	hex_put(out + 3, (const unsigned char *)user, ul);
	n = 3 + 2 * ul;
	w = snprintf(out + n, AUTH_SIGNED_MAX + 1 - n, ".%lld.%lld.", (long long)issued,
		     (long long)expires);
	if (w < 0 || (size_t)w >= AUTH_SIGNED_MAX + 1 - n)
		return -1;
	n += (size_t)w;
	hex_put(out + n, rnd, AUTH_TOKEN_RANDOM);
	n += 2 * AUTH_TOKEN_RANDOM;
	if (token_mac(secret, secret_len, out, n, user_hash, mac))
		return -1;
	out[n++] = '.';
	hex_put(out + n, mac, sizeof(mac));
	n += 2 * sizeof(mac);
	out[n] = '\0';
	explicit_bzero(mac, sizeof(mac));
	return (int)n;
}

/* A decimal field of 1 to 18 digits, no sign, no leading zero. */
static int dec_field(const char *p, size_t n, int64_t *out)
{
	int64_t v = 0;
	size_t i;

	if (!n || n > 18 || (n > 1 && p[0] == '0'))
		return -1;
	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return 0;
}

/* Split a token into its six '.'-separated fields. */
static int token_fields(const char *token, const char *f[6], size_t fl[6])
{
	size_t len = strnlen(token, AUTH_SIGNED_MAX + 1);
	const char *p = token;
	int k;

	if (len > AUTH_SIGNED_MAX)
		return -1;
	for (k = 0; k < 6; k++) {
		const char *dot = memchr(p, '.', (size_t)(token + len - p));

		f[k] = p;
		if (k < 5 && !dot)
			return -1;
		if (k == 5 && dot)
			return -1;
		fl[k] = k < 5 ? (size_t)(dot - p) : (size_t)(token + len - p);
		p += fl[k] + 1;
	}
	return 0;
}

int auth_token_parse(const char *token, struct auth_token *t)
{
	unsigned char skip[64];
	const char *f[6];
	size_t fl[6];

	if (token_fields(token, f, fl) || fl[0] != 2 || memcmp(f[0], "v1", 2))
		return -1;
	if (!fl[1] || fl[1] % 2 || fl[1] > 2 * OT_NAME_MAX ||
	    hex_get((unsigned char *)t->user, f[1], fl[1]))
		return -1;
	t->user[fl[1] / 2] = '\0';
	if (strlen(t->user) != fl[1] / 2) /* a NUL inside */
		return -1;
	if (dec_field(f[2], fl[2], &t->issued) || dec_field(f[3], fl[3], &t->expires))
		return -1;
	if (fl[4] != 2 * AUTH_TOKEN_RANDOM || hex_get(skip, f[4], fl[4]))
		return -1;
	if (fl[5] != 64 || hex_get(skip, f[5], fl[5]))
		return -1;
	return 0;
}

enum auth_token_result auth_token_check(const unsigned char *secret, size_t secret_len,
					const char *token, const char *user_hash, int64_t now,
					int max_ttl)
{
	unsigned char mac[32], got[32];
	struct auth_token t;
	size_t body;
	int ok;

	if (!secret_len || !user_hash || auth_token_parse(token, &t))
		return AUTH_TOKEN_BAD;
	body = strlen(token) - 65; /* the MAC and its '.' */
	if (token_mac(secret, secret_len, token, body, user_hash, mac) ||
	    hex_get(got, token + body + 1, 64))
		return AUTH_TOKEN_BAD;
	ok = !CRYPTO_memcmp(mac, got, sizeof(mac));
	explicit_bzero(mac, sizeof(mac));
	if (!ok || t.expires <= t.issued)
		return AUTH_TOKEN_BAD;
	if (now >= t.expires || (max_ttl > 0 && now >= t.issued + max_ttl))
		return AUTH_TOKEN_EXPIRED;
	return AUTH_TOKEN_OK;
}

/* The key a signed token is cached under: a hex HMAC of it under the
 * per-process key (the slot then holds no usable token). */
static int token_key(const struct auth *a, const char *token, char key[AUTH_TOKEN_LEN + 1])
{
	unsigned char mac[32];

	if (password_mac(a, token, mac))
		return -1;
	hex_put(key, mac, sizeof(mac));
	key[AUTH_TOKEN_LEN] = '\0';
	explicit_bzero(mac, sizeof(mac));
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

/* A slot for a newly seen signed token: a free one, else the live one
 * closest to expiry (it is verified again when next shown, though its
 * sockets close), else the revoked one closest to expiry. */
static struct auth_session *cache_slot(struct auth *a, int64_t now)
{
	struct auth_session *live = NULL, *revoked = NULL;
	int i;

	for (i = 0; i < AUTH_MAX_SESSIONS; i++) {
		struct auth_session *s = &a->sessions[i];

		if (s->user >= 0 && s->expires <= now)
			session_drop(a, s);
		if (s->user < 0)
			return s;
		if (!s->revoked && (!live || s->expires < live->expires))
			live = s;
		if (s->revoked && (!revoked || s->expires < revoked->expires))
			revoked = s;
	}
	live = live ? live : revoked;
	session_drop(a, live);
	return live;
}

/* The slot of the signed `token`: the cached one, or a new one when the
 * token verifies now (for its user's present hash). NULL: not genuine,
 * expired, or unknown user. */
static struct auth_session *signed_slot(struct auth *a, const char *token, int64_t now)
{
	char key[AUTH_TOKEN_LEN + 1];
	struct auth_session *s;
	struct auth_token t;
	int64_t wall, until;
	int i;

	if (token_key(a, token, key))
		return NULL;
	s = find_session(a, key);
	explicit_bzero(key, sizeof(key));
	if (s && s->expires <= now) {
		session_drop(a, s);
		return NULL;
	}
	if (s)
		return s;
	if (auth_token_parse(token, &t) || (i = find_user(a, t.user)) < 0)
		return NULL;
	wall = a->wall();
	if (auth_token_check(a->secret, a->secret_len, token, a->users[i].hash, wall, a->ttl) !=
	    AUTH_TOKEN_OK)
		return NULL;
	until = t.expires < t.issued + a->ttl ? t.expires : t.issued + a->ttl;
	s = cache_slot(a, now);
	if (token_key(a, token, s->token))
		return NULL;
	s->user = i;
	s->expires = now + (until - wall); /* in the caller's (monotonic) clock */
	s->serial = a->next_serial++;
	s->revoked = false;
	return s;
}

int auth_session_start(struct auth *a, const struct auth_user *u, int64_t now, char *out,
		       size_t out_len)
{
	unsigned char rnd[AUTH_TOKEN_RANDOM];
	char tok[AUTH_SIGNED_MAX + 1];
	int64_t wall;
	int n;

	if (!a->secret_len) {
		if (out_len < AUTH_TOKEN_LEN + 1)
			return -1;
		return auth_session_new(a, u, now, out);
	}
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		return -1;
	wall = a->wall();
	n = auth_token_make(a->secret, a->secret_len, u->name, u->hash, wall, wall + a->ttl, rnd,
			    tok);
	explicit_bzero(rnd, sizeof(rnd));
	if (n < 0 || (size_t)n >= out_len)
		return -1;
	memcpy(out, tok, (size_t)n + 1);
	explicit_bzero(tok, sizeof(tok));
	return 0;
}

const struct auth_user *auth_session_user(struct auth *a, const char *token, int64_t now,
					  struct auth_ref *ref)
{
	struct auth_session *s;

	if (a->secret_len) {
		s = signed_slot(a, token, now);
		if (!s || s->revoked)
			return NULL;
	} else {
		s = find_session(a, token);
		if (!s)
			return NULL;
		if (s->expires <= now) {
			session_drop(a, s);
			return NULL;
		}
	}
	if (ref) {
		ref->slot = (int)(s - a->sessions);
		ref->serial = s->serial;
	}
	return &a->users[s->user];
}

void auth_session_end(struct auth *a, const char *token, int64_t now)
{
	struct auth_session *s;

	if (!a->secret_len) {
		if ((s = find_session(a, token)))
			session_drop(a, s);
		return;
	}
	/* kept, revoked, until it expires: shown again here, it is refused */
	s = signed_slot(a, token, now);
	if (s && !s->revoked) {
		s->revoked = true;
		a->ended = true;
	}
}

bool auth_session_live(const struct auth *a, const struct auth_ref *ref, int64_t now)
{
	const struct auth_session *s;

	if (ref->slot < 0 || ref->slot >= AUTH_MAX_SESSIONS)
		return false;
	s = &a->sessions[ref->slot];
	return s->user >= 0 && !s->revoked && s->serial == ref->serial && s->expires > now;
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

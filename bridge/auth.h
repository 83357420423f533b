/* auth: web users (a crypt(3) users file), who may see whom, sessions.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * Loaded at start from --users and again on SIGHUP (auth_reload()). A
 * user sees their own devices, the
 * devices of users whose line shares with them (share=...), or, as an
 * admin, everything. Sessions are random 256-bit tokens held in memory
 * (lost on restart) with an expiry; lws thread only, no locking.
 *
 * With a session secret (--session-secret-file, auth_secret_load()) the
 * cookie is instead a signed token any bridge with the same secret
 * accepts (several bridges behind nginx):
 *   v1.<user, hex>.<issued>.<expires>.<16 random bytes, hex>.<mac, hex>
 * times in Unix seconds, mac = HMAC-SHA256(secret, everything before the
 * last '.', a NUL, the user's crypt hash). The hash is in the MAC but not
 * in the token: a new password or a removed user ends the user's sessions
 * on every bridge once each has re-read the users file. The session slots
 * then cache the tokens seen (by a keyed hash of the token), so WebSockets
 * still name their session with an auth_ref, and keep the tokens logged
 * out here (revoked, until they expire); other bridges accept a logged-out
 * token until it expires (docs/security.md).
 */
#ifndef MYTRACKS_BRIDGE_AUTH_H
#define MYTRACKS_BRIDGE_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ot.h"

#define AUTH_TOKEN_LEN 64 /* hex characters */
#define AUTH_MAX_SESSIONS 4096
#define AUTH_COOKIE "mytracks_session"
/* Longest password checked; a longer one is refused before crypt(3). */
#define AUTH_PASSWORD_MAX 256
/* Failed-login counters kept (client addresses and user names). */
#define AUTH_LIMIT_SLOTS 1024
/* The failed-login window, seconds. */
#define AUTH_LIMIT_WINDOW 60
/* Seconds a verified HTTP-mode password is taken without crypt(3). */
#define AUTH_BASIC_CACHE_TTL 300
#define AUTH_LIMIT_KEY (2 + 128 + 1) /* "u:" + a user name + NUL */
/* A session secret: at least this many bytes, at most AUTH_SECRET_MAX. */
#define AUTH_SECRET_MIN 32
#define AUTH_SECRET_MAX 1024
/* Random bytes in a signed token. */
#define AUTH_TOKEN_RANDOM 16
/* The longest signed token: "v1." user(hex) "." 19 digits "." 19 digits
 * "." random(hex) "." mac(hex). */
#define AUTH_SIGNED_MAX (3 + 2 * OT_NAME_MAX + 1 + 19 + 1 + 19 + 1 + 2 * AUTH_TOKEN_RANDOM + 1 + 64)
/* The longest session cookie value of either kind. */
#define AUTH_COOKIE_VALUE_MAX AUTH_SIGNED_MAX
/* A whole Set-Cookie value: the cookie and its attributes. */
#define AUTH_SETCOOKIE_MAX (AUTH_COOKIE_VALUE_MAX + 128)

struct auth_user {
	char *name, *hash;
	bool admin;
	char **sees; /* user names whose devices this one sees, self first */
	int n_sees;
	char *sees_json; /* the same as a JSON array, for SQL; NULL for an admin */
	/* HTTP mode: a keyed hash of the password last verified, until when */
	unsigned char verified[32];
	int64_t verified_until;
};

struct auth_session {
	char token[AUTH_TOKEN_LEN + 1];
	int user; /* index in auth.users; -1: free slot */
	int64_t expires;
	uint64_t serial; /* tells this session from a later one in the slot */
	bool revoked;	 /* signed: logged out here; kept until it expires */
};

/* Names one session without its token (a WebSocket keeps one to be
 * closed when the session ends). */
struct auth_ref {
	int slot;
	uint64_t serial;
};

/* Failed logins of one client address ("a:...") or user name ("u:...";
 * all unknown names share "u:"), in a window of AUTH_LIMIT_WINDOW s. */
struct auth_limit {
	char key[AUTH_LIMIT_KEY];
	int64_t window; /* start; 0: free slot */
	int fails;
	bool told; /* the refusal was logged in this window */
};

struct auth {
	struct auth_user *users;
	int n_users;
	struct auth_session *sessions; /* AUTH_MAX_SESSIONS slots */
	int ttl;
	int max_per_user;	     /* sessions one user may hold */
	int limit;		     /* failed logins per window and key */
	uint64_t next_serial;	     /* of the next session */
	bool ended;		     /* a session ended since auth_sessions_ended() */
	struct auth_limit *limits;   /* AUTH_LIMIT_SLOTS */
	unsigned char cache_key[32]; /* random: keys the verified-password hashes */
	char dummy[128];	     /* a hash checked for unknown users */
	/* signed sessions: the secret (secret_len 0: in-memory sessions) */
	unsigned char secret[AUTH_SECRET_MAX];
	size_t secret_len;
	int64_t (*wall)(void); /* Unix seconds (time()); a test may replace it */
};

/* A signed token's fields (auth_token_parse()). */
struct auth_token {
	char user[OT_NAME_MAX + 1];
	int64_t issued, expires;
};

enum auth_token_result {
	AUTH_TOKEN_OK = 0,
	AUTH_TOKEN_BAD,	    /* malformed, tampered, wrong secret or user hash */
	AUTH_TOKEN_EXPIRED, /* genuine, but past its expiry or `max_ttl` */
};

/* Read the users file. `ttl` is the session lifetime (s), `max_per_user`
 * the sessions one user may hold, `limit` the failed logins allowed per
 * client address and per user name in AUTH_LIMIT_WINDOW. Returns 0, or -1
 * after printing to stderr which line is wrong. Free with auth_free()
 * either way. */
int auth_load(struct auth *a, const char *file, int ttl, int max_per_user, int limit);
/* Free the users and the sessions (wiped); `a` is zeroed and may be
 * loaded again. Cannot fail. */
void auth_free(struct auth *a);

/* Read the users file again (SIGHUP). A file that cannot be read or does
 * not parse changes nothing: returns -1 with the reason (the file and the
 * line, from the file's own text: escape it for a log) in `err`. Else the
 * new users replace the old and it returns 0: sessions of users still
 * there with the same password hash stay (with the new admin flag and
 * shares), those of users gone or with a new hash end (`*ended` of them;
 * auth_sessions_ended() then tells ws.c to close their sockets). Every
 * `struct auth_user` pointer taken before is invalid afterwards: keep an
 * auth_ref and ask auth_ref_user(). */
int auth_reload(struct auth *a, const char *file, int *ended, char *err, size_t err_len);

/* The user whose password this is, or NULL. Always runs crypt(3) once, so
 * unknown users take as long as wrong passwords. */
const struct auth_user *auth_check_password(const struct auth *a, const char *name,
					    const char *password);

/* auth_check_password() for HTTP-mode Basic credentials, which phones send
 * with every report: a password verified for that user in the last
 * AUTH_BASIC_CACHE_TTL seconds is taken without crypt(3) (compared as an
 * HMAC-SHA256 under a per-process random key, never stored in clear).
 * `*cached` says whether crypt(3) was spared. */
const struct auth_user *auth_check_basic(struct auth *a, const char *name, const char *password,
					 int64_t now, bool *cached);

/* Read the session secret (--session-secret-file): a regular file that
 * group and others cannot read or write, of AUTH_SECRET_MIN to
 * AUTH_SECRET_MAX bytes (a trailing newline is not part of it). From then
 * on sessions are signed tokens. Returns 0, or -1 with the reason in
 * `err`. Call after auth_load(). */
int auth_secret_load(struct auth *a, const char *file, char *err, size_t err_len);

/* Signed tokens, pure functions (no state, no clock, no randomness).
 * auth_token_make() writes the token of `user` (whose crypt hash is
 * `user_hash`) into `out` and returns its length, or -1 (a name that
 * cannot be one, a time out of range). */
int auth_token_make(const unsigned char *secret, size_t secret_len, const char *user,
		    const char *user_hash, int64_t issued, int64_t expires,
		    const unsigned char rnd[AUTH_TOKEN_RANDOM], char out[AUTH_SIGNED_MAX + 1]);
/* The fields of `token` if it is well-formed (not yet verified: check it
 * with auth_token_check()); 0, or -1. */
int auth_token_parse(const char *token, struct auth_token *t);
/* Is `token` genuine (signed with `secret` for the user whose crypt hash
 * is now `user_hash`) and live at `now` (Unix seconds): before its expiry
 * and, when `max_ttl` > 0, within `max_ttl` seconds of its issue? The MAC
 * is compared in constant time before anything else is believed. */
enum auth_token_result auth_token_check(const unsigned char *secret, size_t secret_len,
					const char *token, const char *user_hash, int64_t now,
					int max_ttl);

/* Start a session for `u` in either mode and write the cookie value (NUL-
 * terminated) into `out` (at least AUTH_COOKIE_VALUE_MAX + 1 bytes for a
 * signed one). Returns 0, or -1 (no random bytes, `out` too short). */
int auth_session_start(struct auth *a, const struct auth_user *u, int64_t now, char *out,
		       size_t out_len);

/* The in-memory kind of auth_session_start(): writes its token (NUL-terminated) and returns
 * 0, or -1 when no random bytes could be had. When `u` already holds
 * max_per_user sessions, their oldest ends; else, when all slots are
 * taken, the session closest to expiry ends. */
int auth_session_new(struct auth *a, const struct auth_user *u, int64_t now,
		     char token[AUTH_TOKEN_LEN + 1]);
/* The session's user, or NULL (unknown or expired token; signed: also
 * forged, logged out here, or of a user whose hash changed); the pointer
 * is valid until the next auth_reload(). Fills `ref` (may be NULL) with
 * the session's reference. `now` is lws_now_secs() time, as everywhere
 * here; signed tokens are checked against a->wall(). */
const struct auth_user *auth_session_user(struct auth *a, const char *token, int64_t now,
					  struct auth_ref *ref);
/* Log out: the session of `token` ends (nothing happens for an unknown
 * or malformed token). Its WebSockets are closed by the caller
 * (ws_close_ended_sessions). A signed token is kept as revoked until it
 * expires; only this bridge knows. Cannot fail. */
void auth_session_end(struct auth *a, const char *token, int64_t now);
/* Is the session `ref` names still live? False once it was ended,
 * evicted, or expired by `now`. */
bool auth_session_live(const struct auth *a, const struct auth_ref *ref, int64_t now);
/* The user of the session `ref` names, or NULL when it is no longer live.
 * Valid until the next auth_reload(). */
const struct auth_user *auth_ref_user(const struct auth *a, const struct auth_ref *ref,
				      int64_t now);
/* True, once, when a session ended (logout, eviction) since the last
 * call, or when one has expired by `now`: time to close its sockets. */
bool auth_sessions_ended(struct auth *a, int64_t now);

/* Failed-login rate limit, before crypt(3): may a login (or HTTP-mode
 * Basic check) from `addr` for `name` be tried at `now`? False when either
 * had `limit` failures in the current window; `*log` is then true for the
 * first refusal of the window (log it; the rest are only counted). */
bool auth_limit_ok(struct auth *a, const char *addr, const char *name, int64_t now, bool *log);
/* Count a failed login from `addr` for `name`. */
void auth_limit_fail(struct auth *a, const char *addr, const char *name, int64_t now);

/* May `viewer` see the devices of the user named `owner`? */
bool auth_may_see(const struct auth_user *viewer, const char *owner);

/* --hash-password: read a password from stdin, print a SHA-512 crypt hash.
 * Returns the process exit status. */
int auth_hash_password(void);

#endif

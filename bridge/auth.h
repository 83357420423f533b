/* auth: web users (a crypt(3) users file), who may see whom, sessions.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * Loaded once at start from --users. A user sees their own devices, the
 * devices of users whose line shares with them (share=...), or, as an
 * admin, everything. Sessions are random 256-bit tokens held in memory
 * (lost on restart) with an expiry; lws thread only, no locking.
 */
#ifndef MYTRACKS_BRIDGE_AUTH_H
#define MYTRACKS_BRIDGE_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_TOKEN_LEN 64 /* hex characters */
#define AUTH_MAX_SESSIONS 4096
#define AUTH_COOKIE "mytracks_session"

struct auth_user {
	char *name, *hash;
	bool admin;
	char **sees; /* user names whose devices this one sees, self first */
	int n_sees;
	char *sees_json; /* the same as a JSON array, for SQL; NULL for an admin */
};

struct auth_session {
	char token[AUTH_TOKEN_LEN + 1];
	int user; /* index in auth.users; -1: free slot */
	int64_t expires;
};

struct auth {
	struct auth_user *users;
	int n_users;
	struct auth_session *sessions; /* AUTH_MAX_SESSIONS slots */
	int ttl;
	char dummy[128]; /* a hash checked for unknown users */
};

/* Read the users file. Returns 0, or -1 after printing to stderr which
 * line is wrong. Free with auth_free() either way. */
int auth_load(struct auth *a, const char *file, int ttl);
void auth_free(struct auth *a);

/* The user whose password this is, or NULL. Always runs crypt(3) once, so
 * unknown users take as long as wrong passwords. */
const struct auth_user *auth_check_password(const struct auth *a, const char *name,
					    const char *password);

/* Start a session for `u`: writes its token (NUL-terminated) and returns
 * 0, or -1 when no random bytes could be had. Evicts the session closest
 * to expiry when all slots are taken. */
int auth_session_new(struct auth *a, const struct auth_user *u, int64_t now,
		     char token[AUTH_TOKEN_LEN + 1]);
/* The session's user, or NULL (unknown or expired token). */
const struct auth_user *auth_session_user(struct auth *a, const char *token, int64_t now);
void auth_session_end(struct auth *a, const char *token);

/* May `viewer` see the devices of the user named `owner`? */
bool auth_may_see(const struct auth_user *viewer, const char *owner);

/* --hash-password: read a password from stdin, print a SHA-512 crypt hash.
 * Returns the process exit status. */
int auth_hash_password(void);

#endif

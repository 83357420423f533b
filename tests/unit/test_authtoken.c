/* test_authtoken: signed session tokens (--session-secret-file), the pure
 * format and verification functions, and two bridges sharing a secret.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "tests.h"

#include <crypt.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"

#define T0 1764750000 /* issue time, Unix seconds */
#define TTL 3600
#define HASH "$6$salt$abcdefghijklmnop"

static const unsigned char secret[] = "0123456789abcdef0123456789abcdef-test";
static const unsigned char other[] = "0123456789abcdef0123456789abcdef-TEST";
static const unsigned char rnd[AUTH_TOKEN_RANDOM] = {1, 2,  3,	4,  5,	6,  7,	8,
						     9, 10, 11, 12, 13, 14, 15, 16};

static enum auth_token_result check(const char *tok, const char *hash, int64_t now)
{
	return auth_token_check(secret, sizeof(secret) - 1, tok, hash, now, 0);
}

static void make(const char *user, char tok[AUTH_SIGNED_MAX + 1])
{
	CU_ASSERT_FATAL(auth_token_make(secret, sizeof(secret) - 1, user, HASH, T0, T0 + TTL, rnd,
					tok) > 0);
}

static void test_roundtrip(void)
{
	static const char *const users[] = {"alice", "a.b.c", "jörg", "x"};
	char tok[AUTH_SIGNED_MAX + 1];
	struct auth_token t;
	size_t i;

	for (i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		make(users[i], tok);
		CU_ASSERT_EQUAL(strncmp(tok, "v1.", 3), 0);
		CU_ASSERT_EQUAL(auth_token_parse(tok, &t), 0);
		CU_ASSERT_STRING_EQUAL(t.user, users[i]);
		CU_ASSERT_EQUAL(t.issued, T0);
		CU_ASSERT_EQUAL(t.expires, T0 + TTL);
		CU_ASSERT_EQUAL(check(tok, HASH, T0), AUTH_TOKEN_OK);
		CU_ASSERT_EQUAL(check(tok, HASH, T0 + TTL - 1), AUTH_TOKEN_OK);
		/* only cookie-safe characters */
		CU_ASSERT_EQUAL(strspn(tok, "v0123456789abcdef."), strlen(tok));
	}
	/* the exact layout, for docs/security.md */
	make("alice", tok);
	{
		static const char want[] = "v1.616c696365.1764750000.1764753600."
					   "0102030405060708090a0b0c0d0e0f10.";

		CU_ASSERT_EQUAL(strncmp(tok, want, strlen(want)), 0);
		CU_ASSERT_EQUAL(strlen(tok), strlen(want) + 64);
	}
}

static void test_make_refuses(void)
{
	char tok[AUTH_SIGNED_MAX + 1], longname[OT_NAME_MAX + 2];

	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CU_ASSERT_EQUAL(auth_token_make(secret, sizeof(secret) - 1, "", HASH, T0, T0 + 1, rnd, tok),
			-1);
	CU_ASSERT_EQUAL(
		auth_token_make(secret, sizeof(secret) - 1, longname, HASH, T0, T0 + 1, rnd, tok),
		-1);
	CU_ASSERT_EQUAL(auth_token_make(secret, sizeof(secret) - 1, "a", HASH, T0, T0, rnd, tok),
			-1);
	CU_ASSERT_EQUAL(auth_token_make(secret, 0, "a", HASH, T0, T0 + 1, rnd, tok), -1);
	/* the longest name fits */
	longname[OT_NAME_MAX] = '\0';
	CU_ASSERT(auth_token_make(secret, sizeof(secret) - 1, longname, HASH, T0, T0 + 1, rnd,
				  tok) > 0);
	CU_ASSERT(strlen(tok) <= AUTH_SIGNED_MAX);
	CU_ASSERT_EQUAL(check(tok, HASH, T0), AUTH_TOKEN_OK);
}

/* Every single-character change is refused, whatever it touches. */
static void test_tampered(void)
{
	static const char subst[] = "0af.v9\x01 ";
	char tok[AUTH_SIGNED_MAX + 1], bad[AUTH_SIGNED_MAX + 1];
	size_t i, k, n;

	make("alice", tok);
	n = strlen(tok);
	for (i = 0; i < n; i++) {
		for (k = 0; k < sizeof(subst) - 1; k++) {
			if (tok[i] == subst[k])
				continue;
			memcpy(bad, tok, n + 1);
			bad[i] = subst[k];
			CU_ASSERT_EQUAL(check(bad, HASH, T0), AUTH_TOKEN_BAD);
		}
	}
	/* a later expiry, re-signed with another secret */
	CU_ASSERT(auth_token_make(other, sizeof(other) - 1, "alice", HASH, T0, T0 + 10 * TTL, rnd,
				  bad) > 0);
	CU_ASSERT_EQUAL(check(bad, HASH, T0 + 2 * TTL), AUTH_TOKEN_BAD);
	/* upper-case hex is not the canonical form */
	memcpy(bad, tok, n + 1);
	bad[n - 1] = bad[n - 1] >= 'a' ? (char)(bad[n - 1] - 32) : bad[n - 1];
	if (strcmp(bad, tok))
		CU_ASSERT_EQUAL(check(bad, HASH, T0), AUTH_TOKEN_BAD);
}

static void test_expired(void)
{
	char tok[AUTH_SIGNED_MAX + 1];

	make("alice", tok);
	CU_ASSERT_EQUAL(check(tok, HASH, T0 + TTL), AUTH_TOKEN_EXPIRED);
	CU_ASSERT_EQUAL(check(tok, HASH, T0 + 100 * TTL), AUTH_TOKEN_EXPIRED);
	/* a bridge with a shorter --session-ttl ends it sooner */
	CU_ASSERT_EQUAL(auth_token_check(secret, sizeof(secret) - 1, tok, HASH, T0 + 59, 60),
			AUTH_TOKEN_OK);
	CU_ASSERT_EQUAL(auth_token_check(secret, sizeof(secret) - 1, tok, HASH, T0 + 60, 60),
			AUTH_TOKEN_EXPIRED);
	/* an expired forgery is still a forgery */
	tok[strlen(tok) - 1] ^= 1;
	CU_ASSERT_EQUAL(check(tok, HASH, T0 + TTL), AUTH_TOKEN_BAD);
}

static void test_wrong_secret_or_hash(void)
{
	char tok[AUTH_SIGNED_MAX + 1];

	make("alice", tok);
	CU_ASSERT_EQUAL(auth_token_check(other, sizeof(other) - 1, tok, HASH, T0, 0),
			AUTH_TOKEN_BAD);
	CU_ASSERT_EQUAL(auth_token_check(secret, sizeof(secret) - 2, tok, HASH, T0, 0),
			AUTH_TOKEN_BAD);
	CU_ASSERT_EQUAL(auth_token_check(secret, 0, tok, HASH, T0, 0), AUTH_TOKEN_BAD);
	/* a new password (another crypt hash): refused */
	CU_ASSERT_EQUAL(check(tok, "$6$salt$abcdefghijklmnoq", T0), AUTH_TOKEN_BAD);
	CU_ASSERT_EQUAL(check(tok, HASH "x", T0), AUTH_TOKEN_BAD);
	CU_ASSERT_EQUAL(check(tok, "", T0), AUTH_TOKEN_BAD);
	CU_ASSERT_EQUAL(check(tok, NULL, T0), AUTH_TOKEN_BAD);
}

static void test_truncated_overlong(void)
{
	char tok[AUTH_SIGNED_MAX + 1], bad[2 * AUTH_SIGNED_MAX + 8];
	struct auth_token t;
	size_t i, n;

	make("alice", tok);
	n = strlen(tok);
	for (i = 0; i < n; i++) {
		memcpy(bad, tok, i);
		bad[i] = '\0';
		CU_ASSERT_EQUAL(check(bad, HASH, T0), AUTH_TOKEN_BAD);
	}
	snprintf(bad, sizeof(bad), "%s0", tok);
	CU_ASSERT_EQUAL(check(bad, HASH, T0), AUTH_TOKEN_BAD);
	snprintf(bad, sizeof(bad), "%s.", tok);
	CU_ASSERT_EQUAL(check(bad, HASH, T0), AUTH_TOKEN_BAD);
	snprintf(bad, sizeof(bad), "%s.00", tok);
	CU_ASSERT_EQUAL(check(bad, HASH, T0), AUTH_TOKEN_BAD);
	/* far longer than any token */
	memset(bad, 'a', sizeof(bad) - 1);
	bad[sizeof(bad) - 1] = '\0';
	CU_ASSERT_EQUAL(auth_token_parse(bad, &t), -1);
	CU_ASSERT_EQUAL(check(bad, HASH, T0), AUTH_TOKEN_BAD);
	/* a user name longer than OT_NAME_MAX, hex-encoded */
	memcpy(bad, "v1.", 3);
	memset(bad + 3, '6', 2 * OT_NAME_MAX + 2);
	snprintf(bad + 3 + 2 * OT_NAME_MAX + 2, sizeof(bad) - 3 - 2 * OT_NAME_MAX - 2, "%s",
		 tok + 3 + 10);
	CU_ASSERT_EQUAL(auth_token_parse(bad, &t), -1);
	CU_ASSERT_EQUAL(check("", HASH, T0), AUTH_TOKEN_BAD);
	CU_ASSERT_EQUAL(check("v1.....", HASH, T0), AUTH_TOKEN_BAD);
}

static void test_malformed_fields(void)
{
	/* the parts of a good token, recombined wrongly */
	static const char *const bad[] = {
		/* version */
		"v2.61.1.2.0102030405060708090a0b0c0d0e0f10.%s",
		/* user: empty, odd, a NUL, upper case, not hex */
		"v1..1.2.0102030405060708090a0b0c0d0e0f10.%s",
		"v1.616.1.2.0102030405060708090a0b0c0d0e0f10.%s",
		"v1.6100.1.2.0102030405060708090a0b0c0d0e0f10.%s",
		"v1.6A.1.2.0102030405060708090a0b0c0d0e0f10.%s",
		"v1.6g.1.2.0102030405060708090a0b0c0d0e0f10.%s",
		/* times: empty, signed, leading zero, too many digits */
		"v1.61..2.0102030405060708090a0b0c0d0e0f10.%s",
		"v1.61.-1.2.0102030405060708090a0b0c0d0e0f10.%s",
		"v1.61.+1.2.0102030405060708090a0b0c0d0e0f10.%s",
		"v1.61.01.2.0102030405060708090a0b0c0d0e0f10.%s",
		"v1.61.1.9999999999999999999.0102030405060708090a0b0c0d0e0f10.%s",
		/* random: short, long */
		"v1.61.1.2.0102030405060708090a0b0c0d0e0f.%s",
		"v1.61.1.2.0102030405060708090a0b0c0d0e0f1011.%s",
	};
	char mac[65], tok[AUTH_SIGNED_MAX * 2];
	struct auth_token t;
	size_t i;

	memset(mac, 'a', 64);
	mac[64] = '\0';
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(tok, sizeof(tok), bad[i], mac);
		CU_ASSERT_EQUAL(auth_token_parse(tok, &t), -1);
		CU_ASSERT_EQUAL(check(tok, HASH, 1), AUTH_TOKEN_BAD);
	}
	/* well-formed (so parsed) but not signed */
	snprintf(tok, sizeof(tok), "v1.61.1.2.0102030405060708090a0b0c0d0e0f10.%s", mac);
	CU_ASSERT_EQUAL(auth_token_parse(tok, &t), 0);
	CU_ASSERT_EQUAL(check(tok, HASH, 1), AUTH_TOKEN_BAD);
}

static void test_non_ascii(void)
{
	char tok[AUTH_SIGNED_MAX + 1], bad[AUTH_SIGNED_MAX + 8];
	size_t n;

	make("alice", tok);
	n = strlen(tok);
	/* a UTF-8 'é' in place of two characters, in each field */
	for (size_t at = 1; at + 2 < n; at += 7) {
		memcpy(bad, tok, n + 1);
		bad[at] = (char)0xc3;
		bad[at + 1] = (char)0xa9;
		CU_ASSERT_EQUAL(check(bad, HASH, T0), AUTH_TOKEN_BAD);
	}
	snprintf(bad, sizeof(bad), "%s\xff", tok);
	CU_ASSERT_EQUAL(check(bad, HASH, T0), AUTH_TOKEN_BAD);
}

/* --- two bridges with one secret ---------------------------------------- */

static int64_t fake_wall;

static int64_t fake_wall_fn(void)
{
	return fake_wall;
}

static const char *crypt_of(const char *pw, char *out, size_t len)
{
	struct crypt_data cd;
	const char *h;

	memset(&cd, 0, sizeof(cd));
	h = crypt_r(pw, "$6$tokensalt$", &cd);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	snprintf(out, len, "%s", h);
	return out;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	CU_ASSERT_EQUAL(chmod(path, mode), 0);
}

static void write_users(const char *path, const char *alice_pw)
{
	char ha[128], hb[128], text[512];

	snprintf(text, sizeof(text), "alice:%s\nbob:%s\n", crypt_of(alice_pw, ha, sizeof(ha)),
		 crypt_of("b", hb, sizeof(hb)));
	write_file(path, text, 0600);
}

static void test_secret_file(void)
{
	char path[64], err[512];
	struct auth a;

	snprintf(path, sizeof(path), "/tmp/mytracks-test-secret-%d", (int)getpid());
	memset(&a, 0, sizeof(a));
	write_file(path, "0123456789abcdef0123456789abcdef\n", 0644);
	CU_ASSERT_EQUAL(auth_secret_load(&a, path, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "mode 0644"));
	write_file(path, "0123456789abcdef0123456789abcdef\n", 0640);
	CU_ASSERT_EQUAL(auth_secret_load(&a, path, err, sizeof(err)), -1);
	write_file(path, "0123456789abcdef0123456789abcde\n", 0600); /* 31 bytes */
	CU_ASSERT_EQUAL(auth_secret_load(&a, path, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "at least 32"));
	CU_ASSERT_EQUAL(a.secret_len, 0);
	write_file(path, "0123456789abcdef0123456789abcdef\n", 0600);
	CU_ASSERT_EQUAL(auth_secret_load(&a, path, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(a.secret_len, 32);
	CU_ASSERT_EQUAL(memcmp(a.secret, "0123456789abcdef0123456789abcdef", 32), 0);
	unlink(path);
	CU_ASSERT_EQUAL(auth_secret_load(&a, path, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot read"));
}

static void load_bridge(struct auth *a, const char *users, const char *secret_path)
{
	char err[512];

	CU_ASSERT_EQUAL_FATAL(auth_load(a, users, TTL, 16, 10), 0);
	CU_ASSERT_EQUAL_FATAL(auth_secret_load(a, secret_path, err, sizeof(err)), 0);
	a->wall = fake_wall_fn;
}

/* A login on one bridge works on the other; a logout is local; a new
 * password ends it on both; expiry follows the token. `now` (the
 * monotonic clock of each process) differs from the wall clock. */
static void test_two_bridges(void)
{
	char users[64], sec[64], tok[AUTH_COOKIE_VALUE_MAX + 1], tok2[AUTH_COOKIE_VALUE_MAX + 1];
	char err[512];
	const struct auth_user *u;
	struct auth a, b;
	struct auth_ref ra, rb;
	int ended;

	snprintf(users, sizeof(users), "/tmp/mytracks-test-tusers-%d", (int)getpid());
	snprintf(sec, sizeof(sec), "/tmp/mytracks-test-tsecret-%d", (int)getpid());
	write_users(users, "a");
	write_file(sec, "this is a shared secret of 36 bytes.", 0600);
	fake_wall = T0;
	load_bridge(&a, users, sec);
	load_bridge(&b, users, sec);

	CU_ASSERT_EQUAL_FATAL(auth_session_start(&a, &a.users[0], 100, tok, sizeof(tok)), 0);
	CU_ASSERT_EQUAL(auth_session_start(&a, &a.users[0], 100, tok2, 10), -1); /* too short */
	u = auth_session_user(&b, tok, 5000, &rb);
	CU_ASSERT_PTR_NOT_NULL_FATAL(u);
	CU_ASSERT_STRING_EQUAL(u->name, "alice");
	CU_ASSERT_TRUE(auth_session_live(&b, &rb, 5000));
	CU_ASSERT_PTR_NOT_NULL(auth_session_user(&a, tok, 100, &ra));
	/* a forgery on either */
	snprintf(tok2, sizeof(tok2), "%s", tok);
	tok2[3] = '7'; /* "alice" -> "qlice"... not a user, nor signed */
	CU_ASSERT_PTR_NULL(auth_session_user(&b, tok2, 5000, NULL));

	/* logout on a: refused there (and its socket ends), b still takes it */
	(void)auth_sessions_ended(&a, 100);
	auth_session_end(&a, tok, 101);
	CU_ASSERT_TRUE(auth_sessions_ended(&a, 101));
	CU_ASSERT_FALSE(auth_session_live(&a, &ra, 101));
	CU_ASSERT_PTR_NULL(auth_session_user(&a, tok, 102, NULL));
	CU_ASSERT_PTR_NOT_NULL(auth_session_user(&b, tok, 5002, NULL));

	/* a fresh login; then alice's password changes: both refuse, b's
	 * socket ends at its reload, bob's session stays */
	CU_ASSERT_EQUAL_FATAL(auth_session_start(&b, &b.users[0], 5003, tok, sizeof(tok)), 0);
	CU_ASSERT_EQUAL_FATAL(auth_session_start(&b, &b.users[1], 5003, tok2, sizeof(tok2)), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(auth_session_user(&b, tok, 5003, &rb));
	write_users(users, "a2");
	CU_ASSERT_EQUAL(auth_reload(&b, users, &ended, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(ended, 2); /* both of alice's it had seen */
	CU_ASSERT_FALSE(auth_session_live(&b, &rb, 5004));
	CU_ASSERT_PTR_NULL(auth_session_user(&b, tok, 5004, NULL));
	CU_ASSERT_PTR_NOT_NULL(auth_session_user(&b, tok2, 5004, NULL));
	CU_ASSERT_EQUAL(auth_reload(&a, users, &ended, err, sizeof(err)), 0);
	CU_ASSERT_PTR_NULL(auth_session_user(&a, tok, 104, NULL)); /* never seen by a */
	CU_ASSERT_PTR_NOT_NULL(auth_session_user(&a, tok2, 104, NULL));

	/* expiry: by the token's wall-clock time, on a bridge that cached it
	 * and on one that did not */
	fake_wall = T0 + TTL - 1;
	CU_ASSERT_PTR_NOT_NULL(auth_session_user(&b, tok2, 5004, &rb));
	fake_wall = T0 + TTL;
	CU_ASSERT_FALSE(auth_session_live(&b, &rb, 5004 + TTL)); /* cached: its own clock */
	CU_ASSERT_PTR_NULL(auth_session_user(&b, tok2, 5004 + TTL, NULL));
	auth_free(&b);
	load_bridge(&b, users, sec);
	fake_wall = T0 + TTL;
	CU_ASSERT_PTR_NULL(auth_session_user(&b, tok2, 1, NULL));

	/* a bridge with another secret knows none of them */
	fake_wall = T0;
	CU_ASSERT_EQUAL_FATAL(auth_session_start(&a, &a.users[1], 200, tok, sizeof(tok)), 0);
	auth_free(&b);
	write_file(sec, "another secret, also more than 32 bytes", 0600);
	load_bridge(&b, users, sec);
	CU_ASSERT_PTR_NULL(auth_session_user(&b, tok, 1, NULL));
	CU_ASSERT_PTR_NOT_NULL(auth_session_user(&a, tok, 200, NULL));
	auth_free(&a);
	auth_free(&b);
	unlink(users);
	unlink(sec);
}

int init_authtoken_tests(void)
{
	static const struct test_case cases[] = {
		{"a token made is parsed and verifies", test_roundtrip},
		{"no token for an empty or long name or an empty span", test_make_refuses},
		{"any changed character is refused", test_tampered},
		{"expired tokens, and a shorter local ttl", test_expired},
		{"a wrong secret or user hash is refused", test_wrong_secret_or_hash},
		{"truncated and overlong tokens are refused", test_truncated_overlong},
		{"malformed fields are refused", test_malformed_fields},
		{"non-ASCII bytes are refused", test_non_ascii},
		{"the secret file: mode, length", test_secret_file},
		{"two bridges with one secret: login, logout, new password, expiry",
		 test_two_bridges},
		{NULL, NULL},
	};
	return add_suite("authtoken", cases);
}

/* test_auth: the users file re-read (auth_reload): who keeps a session.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "tests.h"

#include <crypt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"

#define NOW 1000000

/* A $6$ hash of `pw` with a fixed salt (the tests need no randomness). */
static const char *hash_of(const char *pw, char *out, size_t len)
{
	struct crypt_data cd;
	const char *h;

	memset(&cd, 0, sizeof(cd));
	h = crypt_r(pw, "$6$testsalt$", &cd);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	snprintf(out, len, "%s", h);
	return out;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	fputs(text, f);
	fclose(f);
}

static void users_path(char *path, size_t len)
{
	snprintf(path, len, "/tmp/mytracks-test-users-%d", (int)getpid());
}

/* alice, bob (shares with alice), carol, with passwords "a", "b", "c". */
static void write_abc(const char *path)
{
	char ha[128], hb[128], hc[128], text[1024];

	snprintf(text, sizeof(text), "alice:%s\nbob:%s:share=alice\ncarol:%s\n",
		 hash_of("a", ha, sizeof(ha)), hash_of("b", hb, sizeof(hb)),
		 hash_of("c", hc, sizeof(hc)));
	write_file(path, text);
}

static void test_reload_keeps_and_ends(void)
{
	char path[64], ha[128], hc[128], hd[128], text[1024], err[512];
	char ta[AUTH_TOKEN_LEN + 1], tb[AUTH_TOKEN_LEN + 1], tc[AUTH_TOKEN_LEN + 1];
	const struct auth_user *u;
	struct auth_ref ra;
	struct auth a;
	int ended = -1;

	users_path(path, sizeof(path));
	write_abc(path);
	CU_ASSERT_EQUAL_FATAL(auth_load(&a, path, 3600, 16, 10), 0);
	CU_ASSERT_EQUAL(a.n_users, 3);
	CU_ASSERT_EQUAL_FATAL(auth_session_new(&a, &a.users[0], NOW, ta), 0);
	CU_ASSERT_EQUAL_FATAL(auth_session_new(&a, &a.users[1], NOW, tb), 0);
	CU_ASSERT_EQUAL_FATAL(auth_session_new(&a, &a.users[2], NOW, tc), 0);
	u = auth_session_user(&a, ta, NOW, &ra);
	CU_ASSERT_PTR_NOT_NULL_FATAL(u);
	CU_ASSERT_TRUE(auth_may_see(u, "bob"));
	CU_ASSERT_FALSE(u->admin);
	(void)auth_sessions_ended(&a, NOW);

	/* bob gone, carol a new password, alice an admin now, dave new; alice
	 * moves to another line */
	snprintf(text, sizeof(text), "dave:%s\ncarol:%s\nalice:%s:admin\n",
		 hash_of("d", hd, sizeof(hd)), hash_of("c2", hc, sizeof(hc)),
		 hash_of("a", ha, sizeof(ha)));
	write_file(path, text);
	CU_ASSERT_EQUAL(auth_reload(&a, path, &ended, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(ended, 2);
	CU_ASSERT_EQUAL(a.n_users, 3);
	CU_ASSERT_TRUE(auth_sessions_ended(&a, NOW)); /* ws.c closes their sockets */
	u = auth_session_user(&a, ta, NOW, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(u);
	CU_ASSERT_STRING_EQUAL(u->name, "alice");
	CU_ASSERT_TRUE(u->admin);
	CU_ASSERT_TRUE(auth_may_see(u, "dave"));
	CU_ASSERT_PTR_EQUAL(auth_ref_user(&a, &ra, NOW), u); /* the socket's lookup */
	CU_ASSERT_PTR_NULL(auth_session_user(&a, tb, NOW, NULL));
	CU_ASSERT_PTR_NULL(auth_session_user(&a, tc, NOW, NULL));
	CU_ASSERT_PTR_NULL(auth_check_password(&a, "bob", "b"));
	CU_ASSERT_PTR_NULL(auth_check_password(&a, "carol", "c"));
	CU_ASSERT_PTR_NOT_NULL(auth_check_password(&a, "carol", "c2"));
	CU_ASSERT_PTR_NOT_NULL(auth_check_password(&a, "dave", "d"));
	auth_free(&a);
	unlink(path);
}

static void test_bad_file_keeps_old(void)
{
	static const char *const bad[] = {
		"alice:$6$abcdefgh\nal#ice:$6$abcdefgh\n", /* line 2: bad name */
		"alice:$6$abcdefgh\nalice:$6$abcdefgh\n",  /* line 2: twice */
		"alice:$6$abcdefgh:share=nobody\n",	   /* unknown user */
		"# nobody\n",				   /* no users */
	};
	static const char *const why[] = {"line 2: invalid user name", "line 2: user listed twice",
					  "shares with unknown user 'nobody'", ": no users"};
	char path[64], err[512], tok[AUTH_TOKEN_LEN + 1];
	struct auth a;
	size_t i;
	int ended;

	users_path(path, sizeof(path));
	write_abc(path);
	CU_ASSERT_EQUAL_FATAL(auth_load(&a, path, 3600, 16, 10), 0);
	CU_ASSERT_EQUAL_FATAL(auth_session_new(&a, &a.users[0], NOW, tok), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(path, bad[i]);
		err[0] = '\0';
		CU_ASSERT_EQUAL(auth_reload(&a, path, &ended, err, sizeof(err)), -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, why[i]));
		CU_ASSERT_EQUAL(a.n_users, 3);
		CU_ASSERT_PTR_NOT_NULL(auth_session_user(&a, tok, NOW, NULL));
		CU_ASSERT_PTR_NOT_NULL(auth_check_password(&a, "bob", "b"));
	}
	unlink(path);
	CU_ASSERT_EQUAL(auth_reload(&a, path, &ended, err, sizeof(err)), -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot read"));
	CU_ASSERT_PTR_NOT_NULL(auth_session_user(&a, tok, NOW, NULL));
	auth_free(&a);
}

/* HTTP mode's verified-password cache survives a reload only for an
 * unchanged hash. */
static void test_basic_cache(void)
{
	char path[64], err[512], hb[128], hc[128], text[512];
	struct auth a;
	bool cached = true;
	int ended;

	users_path(path, sizeof(path));
	write_abc(path);
	CU_ASSERT_EQUAL_FATAL(auth_load(&a, path, 3600, 16, 10), 0);
	CU_ASSERT_PTR_NOT_NULL(auth_check_basic(&a, "bob", "b", NOW, &cached));
	CU_ASSERT_FALSE(cached);
	CU_ASSERT_PTR_NOT_NULL(auth_check_basic(&a, "carol", "c", NOW, &cached));
	snprintf(text, sizeof(text), "bob:%s\ncarol:%s\n", hash_of("b", hb, sizeof(hb)),
		 hash_of("c2", hc, sizeof(hc)));
	write_file(path, text);
	CU_ASSERT_EQUAL_FATAL(auth_reload(&a, path, &ended, err, sizeof(err)), 0);
	CU_ASSERT_PTR_NOT_NULL(auth_check_basic(&a, "bob", "b", NOW + 1, &cached));
	CU_ASSERT_TRUE(cached);
	CU_ASSERT_PTR_NULL(auth_check_basic(&a, "carol", "c", NOW + 1, &cached));
	CU_ASSERT_FALSE(cached);
	auth_free(&a);
	unlink(path);
}

int init_auth_tests(void)
{
	static const struct test_case cases[] = {
		{"a reload keeps unchanged users' sessions, ends the others",
		 test_reload_keeps_and_ends},
		{"a bad or missing file keeps the old users", test_bad_file_keeps_old},
		{"the HTTP-mode cache holds only for an unchanged hash", test_basic_cache},
		{NULL, NULL},
	};
	return add_suite("auth", cases);
}

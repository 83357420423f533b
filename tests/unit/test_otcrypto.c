/* test_otcrypto: OwnTracks payload encryption and keys files.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "otcrypto.h"
#include "tests.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

static const char KEYS[] = "# comment\n"
			   "alice:s3cret\n"
			   "\n"
			   "alice/tablet:tablet-key\r\n"
			   "bob/phone:bob's secret with spaces and a : colon\n"
			   "carol:abcde";

static struct otkeys *keys_from(const char *text)
{
	struct otkeys *k = otkeys_new();
	char err[128];
	int line;

	CU_ASSERT_PTR_NOT_NULL_FATAL(k);
	CU_ASSERT_EQUAL(otkeys_parse(k, text, strlen(text), &line, err, sizeof(err)), 0);
	return k;
}

/* A payload encrypted with libsodium directly: secret padded by hand. */
static void seal(const char *secret, const char *plain, char *out, size_t out_len)
{
	unsigned char key[32] = {0}, box[24 + 16 + 512];
	size_t n = strlen(plain), sl = strlen(secret);
	char b64[1024];

	memcpy(key, secret, sl > 32 ? 32 : sl);
	CU_ASSERT_FATAL(n <= 512);
	randombytes_buf(box, 24);
	CU_ASSERT_EQUAL_FATAL(
		crypto_secretbox_easy(box + 24, (const unsigned char *)plain, n, box, key), 0);
	sodium_bin2base64(b64, sizeof(b64), box, 24 + 16 + n, sodium_base64_VARIANT_ORIGINAL);
	snprintf(out, out_len, "{\"_type\":\"encrypted\",\"data\":\"%s\"}", b64);
}

static enum otcrypto_result open_msg(const struct otkeys *k, const char *user, const char *dev,
				     const char *payload, char *out, size_t out_len)
{
	size_t n = 99;
	char reason[128];
	enum otcrypto_result r = otcrypto_decrypt(k, user, dev, payload, strlen(payload), out,
						  out_len, &n, reason, sizeof(reason));

	if (r == OTCRYPTO_DECRYPTED) {
		CU_ASSERT_EQUAL(n, strlen(out));
		CU_ASSERT_STRING_EQUAL(reason, "");
	} else {
		CU_ASSERT_EQUAL(n, 0);
		CU_ASSERT_STRING_EQUAL(out, "");
	}
	if (otcrypto_failed(r))
		CU_ASSERT_NOT_EQUAL(reason[0], '\0');
	return r;
}

static const char LOC[] = "{\"_type\":\"location\",\"lat\":52.5,\"lon\":13.4,\"tst\":1700000000}";

static void test_round_trip(void)
{
	struct otkeys *k = keys_from(KEYS);
	struct jbuf enc;
	char out[512];

	jbuf_init(&enc, 0, 4096);
	CU_ASSERT_EQUAL(otcrypto_encrypt(k, "alice", "phone", LOC, strlen(LOC), &enc), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(jbuf_data(&enc), "{\"_type\":\"encrypted\",\"data\":\""));
	CU_ASSERT_EQUAL(open_msg(k, "alice", "phone", jbuf_data(&enc), out, sizeof(out)),
			OTCRYPTO_DECRYPTED);
	CU_ASSERT_STRING_EQUAL(out, LOC);
	/* an empty reply array, as HTTP mode sends it */
	jbuf_reset(&enc);
	CU_ASSERT_EQUAL(otcrypto_encrypt(k, "bob", "phone", "[]", 2, &enc), 0);
	CU_ASSERT_EQUAL(open_msg(k, "bob", "phone", jbuf_data(&enc), out, sizeof(out)),
			OTCRYPTO_DECRYPTED);
	CU_ASSERT_STRING_EQUAL(out, "[]");
	/* two encryptions differ (fresh nonce) */
	{
		struct jbuf a, b;

		jbuf_init(&a, 0, 4096);
		jbuf_init(&b, 0, 4096);
		otcrypto_encrypt(k, "alice", "phone", LOC, strlen(LOC), &a);
		otcrypto_encrypt(k, "alice", "phone", LOC, strlen(LOC), &b);
		CU_ASSERT_STRING_NOT_EQUAL(jbuf_data(&a), jbuf_data(&b));
		jbuf_free(&a);
		jbuf_free(&b);
	}
	/* no key: nothing appended */
	jbuf_reset(&enc);
	CU_ASSERT_EQUAL(otcrypto_encrypt(k, "dave", "phone", LOC, strlen(LOC), &enc),
			OTCRYPTO_NO_KEY);
	CU_ASSERT_EQUAL(jbuf_len(&enc), 0);
	jbuf_free(&enc);
	otkeys_free(k);
}

static void test_plain_passes(void)
{
	struct otkeys *k = keys_from(KEYS);
	char out[512];

	CU_ASSERT_EQUAL(open_msg(k, "alice", "phone", LOC, out, sizeof(out)), OTCRYPTO_PLAIN);
	CU_ASSERT_EQUAL(open_msg(k, "alice", "phone", "not json, encrypted", out, sizeof(out)),
			OTCRYPTO_PLAIN);
	CU_ASSERT_EQUAL(open_msg(k, "alice", "phone",
				 "{\"_type\":\"location\",\"tag\":\"encrypted\"}", out,
				 sizeof(out)),
			OTCRYPTO_PLAIN);
	CU_ASSERT_EQUAL(open_msg(k, "alice", "phone", "[\"encrypted\"]", out, sizeof(out)),
			OTCRYPTO_PLAIN);
	CU_ASSERT_EQUAL(open_msg(k, "alice", "phone", "", out, sizeof(out)), OTCRYPTO_PLAIN);
	otkeys_free(k);
}

static void test_failures(void)
{
	struct otkeys *k = keys_from(KEYS);
	char msg[1200], out[512], *p;

	/* wrong key: encrypted with another secret */
	seal("not-the-key", LOC, msg, sizeof(msg));
	CU_ASSERT_EQUAL(open_msg(k, "alice", "phone", msg, out, sizeof(out)), OTCRYPTO_AUTH_FAILED);
	/* no key at all for this user, and no keys */
	CU_ASSERT_EQUAL(open_msg(k, "dave", "phone", msg, out, sizeof(out)), OTCRYPTO_NO_KEY);
	CU_ASSERT_EQUAL(open_msg(NULL, "alice", "phone", msg, out, sizeof(out)), OTCRYPTO_NO_KEY);
	/* corrupt: one base64 character of the ciphertext changed */
	seal("s3cret", LOC, msg, sizeof(msg));
	CU_ASSERT_EQUAL(open_msg(k, "alice", "phone", msg, out, sizeof(out)), OTCRYPTO_DECRYPTED);
	p = strstr(msg, "\"data\":\"") + 8 + 60;
	*p = *p == 'A' ? 'B' : 'A';
	CU_ASSERT_EQUAL(open_msg(k, "alice", "phone", msg, out, sizeof(out)), OTCRYPTO_AUTH_FAILED);
	/* truncated: a whole message cut short still decodes as base64 */
	seal("s3cret", LOC, msg, sizeof(msg));
	p = strstr(msg, "\"data\":\"") + 8 + 80;
	strcpy(p, "\"}");
	CU_ASSERT_EQUAL(open_msg(k, "alice", "phone", msg, out, sizeof(out)), OTCRYPTO_AUTH_FAILED);
	/* shorter than nonce + MAC (39 bytes = 52 base64 characters) */
	CU_ASSERT_EQUAL(open_msg(k, "alice", "phone",
				 "{\"_type\":\"encrypted\",\"data\":"
				 "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"}",
				 out, sizeof(out)),
			OTCRYPTO_TOO_SHORT);
	CU_ASSERT_EQUAL(open_msg(k, "alice", "phone", "{\"_type\":\"encrypted\",\"data\":\"\"}",
				 out, sizeof(out)),
			OTCRYPTO_TOO_SHORT);
	/* bad base64: other alphabet, whitespace, bad padding, stray bytes */
	CU_ASSERT_EQUAL(open_msg(k, "alice", "phone",
				 "{\"_type\":\"encrypted\",\"data\":\"ab-_cd\"}", out, sizeof(out)),
			OTCRYPTO_BAD_BASE64);
	CU_ASSERT_EQUAL(open_msg(k, "alice", "phone",
				 "{\"_type\":\"encrypted\",\"data\":\"YWJj\\nZGVm\"}", out,
				 sizeof(out)),
			OTCRYPTO_BAD_BASE64);
	CU_ASSERT_EQUAL(open_msg(k, "alice", "phone", "{\"_type\":\"encrypted\",\"data\":\"YQ=\"}",
				 out, sizeof(out)),
			OTCRYPTO_BAD_BASE64);
	CU_ASSERT_EQUAL(open_msg(k, "alice", "phone",
				 "{\"_type\":\"encrypted\",\"data\":\"YWJj!\"}", out, sizeof(out)),
			OTCRYPTO_BAD_BASE64);
	/* no data string */
	CU_ASSERT_EQUAL(
		open_msg(k, "alice", "phone", "{\"_type\":\"encrypted\"}", out, sizeof(out)),
		OTCRYPTO_MALFORMED);
	CU_ASSERT_EQUAL(open_msg(k, "alice", "phone", "{\"_type\":\"encrypted\",\"data\":5}", out,
				 sizeof(out)),
			OTCRYPTO_MALFORMED);
	/* an output buffer too small is refused, not overrun */
	seal("s3cret", LOC, msg, sizeof(msg));
	CU_ASSERT_EQUAL(open_msg(k, "alice", "phone", msg, out, strlen(LOC)), OTCRYPTO_NO_ROOM);
	CU_ASSERT_EQUAL(open_msg(k, "alice", "phone", msg, out, strlen(LOC) + 1),
			OTCRYPTO_DECRYPTED);
	CU_ASSERT_STRING_EQUAL(otcrypto_result_name(OTCRYPTO_AUTH_FAILED), "auth_failed");
	otkeys_free(k);
}

static void test_unpadded_base64(void)
{
	struct otkeys *k = keys_from(KEYS);
	char msg[1200], out[512], *eq;

	/* 7 + 40 bytes is not a multiple of 3, so the base64 is padded */
	seal("s3cret", "{\"a\":1}", msg, sizeof(msg));
	eq = strchr(msg, '=');
	CU_ASSERT_PTR_NOT_NULL_FATAL(eq);
	memmove(eq, eq + strspn(eq, "="), strlen(eq + strspn(eq, "=")) + 1);
	CU_ASSERT_EQUAL(open_msg(k, "alice", "phone", msg, out, sizeof(out)), OTCRYPTO_DECRYPTED);
	CU_ASSERT_STRING_EQUAL(out, "{\"a\":1}");
	otkeys_free(k);
}

static void test_key_padding(void)
{
	struct otkeys *k = keys_from(KEYS);
	char msg[1200], out[512];

	/* carol's 5-byte secret "abcde" is the key "abcde" + 27 NUL bytes */
	seal("abcde", LOC, msg, sizeof(msg));
	CU_ASSERT_EQUAL(open_msg(k, "carol", "x", msg, out, sizeof(out)), OTCRYPTO_DECRYPTED);
	CU_ASSERT_STRING_EQUAL(out, LOC);
	otkeys_free(k);
	/* a secret over 32 bytes counts with its first 32, as Android does */
	k = keys_from("erin:0123456789abcdef0123456789abcdefXYZ\n");
	seal("0123456789abcdef0123456789abcdef", LOC, msg, sizeof(msg));
	CU_ASSERT_EQUAL(open_msg(k, "erin", "x", msg, out, sizeof(out)), OTCRYPTO_DECRYPTED);
	otkeys_free(k);
	/* the secret is every byte after the first colon, spaces included */
	k = keys_from(KEYS);
	seal("bob's secret with spaces and a : colon", LOC, msg, sizeof(msg));
	CU_ASSERT_EQUAL(open_msg(k, "bob", "phone", msg, out, sizeof(out)), OTCRYPTO_DECRYPTED);
	otkeys_free(k);
}

static void test_precedence(void)
{
	struct otkeys *k = keys_from(KEYS);
	char msg[1200], out[512];

	CU_ASSERT_EQUAL(otkeys_count(k), 4);
	CU_ASSERT_TRUE(otkeys_has(k, "alice", "phone"));
	CU_ASSERT_TRUE(otkeys_has(k, "bob", "phone"));
	CU_ASSERT_FALSE(otkeys_has(k, "bob", "tablet"));  /* bob has only a device key */
	CU_ASSERT_FALSE(otkeys_has(k, "Alice", "phone")); /* names compare exactly */
	/* alice/tablet has its own key: the user key does not open it */
	seal("tablet-key", LOC, msg, sizeof(msg));
	CU_ASSERT_EQUAL(open_msg(k, "alice", "tablet", msg, out, sizeof(out)), OTCRYPTO_DECRYPTED);
	CU_ASSERT_EQUAL(open_msg(k, "alice", "phone", msg, out, sizeof(out)), OTCRYPTO_AUTH_FAILED);
	seal("s3cret", LOC, msg, sizeof(msg));
	CU_ASSERT_EQUAL(open_msg(k, "alice", "tablet", msg, out, sizeof(out)),
			OTCRYPTO_AUTH_FAILED);
	CU_ASSERT_EQUAL(open_msg(k, "alice", "watch", msg, out, sizeof(out)), OTCRYPTO_DECRYPTED);
	CU_ASSERT_EQUAL(open_msg(k, "bob", "tablet", msg, out, sizeof(out)), OTCRYPTO_NO_KEY);
	otkeys_free(k);
	/* the order of the lines does not matter */
	k = keys_from("alice/tablet:tablet-key\nalice:s3cret\n");
	seal("tablet-key", LOC, msg, sizeof(msg));
	CU_ASSERT_EQUAL(open_msg(k, "alice", "tablet", msg, out, sizeof(out)), OTCRYPTO_DECRYPTED);
	otkeys_free(k);
}

static void bad_keys(const char *text, int want_line, const char *want)
{
	struct otkeys *k = otkeys_new();
	char err[128];
	int line = -1;

	CU_ASSERT_EQUAL(otkeys_parse(k, text, strlen(text), &line, err, sizeof(err)), -1);
	CU_ASSERT_EQUAL(line, want_line);
	if (!strstr(err, want))
		fprintf(stderr, "\n  got '%s', want '%s'\n", err, want);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, want));
	/* never the secret in the message */
	CU_ASSERT_PTR_NULL(strstr(err, "TOPSECRET"));
	otkeys_free(k);
}

static void test_parse_errors(void)
{
	bad_keys("alice:TOPSECRET\nno colon here\n", 2, "line 2: expected user:secret");
	bad_keys("# c\n\nalice:\n", 3, "line 3: empty secret");
	bad_keys(":TOPSECRET\n", 1, "line 1: invalid user name");
	bad_keys("a+b:TOPSECRET\n", 1, "line 1: invalid user name");
	bad_keys("alice/:TOPSECRET\n", 1, "line 1: invalid device name");
	bad_keys("alice/a/b:TOPSECRET\n", 1, "line 1: invalid device name");
	bad_keys("alice/ph\tone:TOPSECRET\n", 1, "invalid device name");
	bad_keys("alice:TOPSECRET\nbob:x\nalice:TOPSECRET2\n", 3,
		 "line 3: a second key for this user");
	bad_keys("alice/p:TOPSECRET\r\nalice/p:y\r\n", 2, "a second key for this user/device");
	bad_keys("alice:x\n\xff\xfe:TOPSECRET\n", 2, "invalid user name");
}

static void test_parse_ok(void)
{
	struct otkeys *k;

	k = keys_from("");
	CU_ASSERT_EQUAL(otkeys_count(k), 0);
	otkeys_free(k);
	k = keys_from("# only a comment\n\n\n");
	CU_ASSERT_EQUAL(otkeys_count(k), 0);
	otkeys_free(k);
	/* many keys (the array grows) */
	{
		char text[4096] = "";
		int i;

		for (i = 0; i < 50; i++)
			snprintf(text + strlen(text), sizeof(text) - strlen(text), "u%d/d:k%d\n", i,
				 i);
		k = keys_from(text);
		CU_ASSERT_EQUAL(otkeys_count(k), 50);
		CU_ASSERT_TRUE(otkeys_has(k, "u49", "d"));
		CU_ASSERT_FALSE(otkeys_has(k, "u50", "d"));
		otkeys_free(k);
	}
	otkeys_free(NULL);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_EQUAL(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	CU_ASSERT_EQUAL(chmod(path, mode), 0);
}

static void test_load(void)
{
	char dir[] = "/tmp/otcrypto-test-XXXXXX", path[128], err[512];
	struct otkeys *k;

	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/keys", dir);

	write_file(path, KEYS, 0600);
	k = otkeys_load(path, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL(k);
	CU_ASSERT_EQUAL(otkeys_count(k), 4);
	otkeys_free(k);

	write_file(path, KEYS, 0400);
	k = otkeys_load(path, err, sizeof(err));
	CU_ASSERT_PTR_NOT_NULL(k);
	otkeys_free(k);

	/* readable by group or others: refused, saying what to do */
	write_file(path, KEYS, 0644);
	CU_ASSERT_PTR_NULL(otkeys_load(path, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "mode 0644"));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "chmod 600"));
	write_file(path, KEYS, 0640);
	CU_ASSERT_PTR_NULL(otkeys_load(path, err, sizeof(err)));
	write_file(path, KEYS, 0602);
	CU_ASSERT_PTR_NULL(otkeys_load(path, err, sizeof(err)));
	CU_ASSERT_TRUE(otkeys_mode_ok(S_IFREG | 0600));
	CU_ASSERT_FALSE(otkeys_mode_ok(S_IFREG | 0604));
	CU_ASSERT_FALSE(otkeys_mode_ok(S_IFDIR | 0700));

	/* a bad line: the file and the line named, the secret not */
	write_file(path, "alice:TOPSECRET\nbroken\n", 0600);
	CU_ASSERT_PTR_NULL(otkeys_load(path, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, path));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "line 2"));
	CU_ASSERT_PTR_NULL(strstr(err, "TOPSECRET"));

	/* missing file, a directory */
	unlink(path);
	CU_ASSERT_PTR_NULL(otkeys_load(path, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "No such file"));
	CU_ASSERT_PTR_NULL(otkeys_load(dir, err, sizeof(err)));
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a regular file"));
	rmdir(dir);
}

int init_otcrypto_tests(void)
{
	static const struct test_case cases[] = {
		{"encrypt/decrypt round trip", test_round_trip},
		{"plain messages pass through", test_plain_passes},
		{"wrong key, truncated, corrupt, bad base64", test_failures},
		{"unpadded base64", test_unpadded_base64},
		{"secret padding and truncation", test_key_padding},
		{"device key over user key", test_precedence},
		{"keys file: errors with line numbers", test_parse_errors},
		{"keys file: valid files", test_parse_ok},
		{"keys file: loading and mode check", test_load},
		{NULL, NULL},
	};
	return add_suite("otcrypto", cases);
}

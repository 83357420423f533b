/* otcrypto: OwnTracks payload encryption (libsodium secretbox) and keys files.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#define _GNU_SOURCE /* memmem */
#include "otcrypto.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "ot.h"
#include "utf8.h"

_Static_assert(OTCRYPTO_KEY_BYTES == crypto_secretbox_KEYBYTES, "key size");
_Static_assert(OTCRYPTO_NONCE_BYTES == crypto_secretbox_NONCEBYTES, "nonce size");
_Static_assert(OTCRYPTO_MAC_BYTES == crypto_secretbox_MACBYTES, "MAC size");

struct otkey {
	char user[OT_NAME_MAX + 1];
	char device[OT_NAME_MAX + 1]; /* "" for a user's key */
	unsigned char key[OTCRYPTO_KEY_BYTES];
};

struct otkeys {
	struct otkey *v;
	size_t n, alloc;
};

struct otkeys *otkeys_new(void)
{
	if (sodium_init() < 0)
		return NULL;
	return calloc(1, sizeof(struct otkeys));
}

void otkeys_free(struct otkeys *k)
{
	if (!k)
		return;
	if (k->v)
		sodium_memzero(k->v, k->alloc * sizeof(*k->v));
	free(k->v);
	free(k);
}

size_t otkeys_count(const struct otkeys *k)
{
	return k ? k->n : 0;
}

/* The key of user/device: the device's own, else the user's, else NULL. */
static const struct otkey *key_find(const struct otkeys *k, const char *user, const char *device)
{
	const struct otkey *user_key = NULL;
	size_t i;

	if (!k || !user)
		return NULL;
	for (i = 0; i < k->n; i++) {
		const struct otkey *e = &k->v[i];

		if (strcmp(e->user, user))
			continue;
		if (!e->device[0])
			user_key = e;
		else if (device && !strcmp(e->device, device))
			return e;
	}
	return user_key;
}

bool otkeys_has(const struct otkeys *k, const char *user, const char *device)
{
	return key_find(k, user, device) != NULL;
}

/* One non-comment line (without its newline). Returns NULL or the reason. */
static const char *parse_line(struct otkeys *k, const char *line, size_t n)
{
	const char *colon = memchr(line, ':', n), *slash, *secret;
	size_t name_len, user_len, dev_len, secret_len, i;
	struct otkey *e;

	if (!colon)
		return "expected user:secret or user/device:secret";
	name_len = (size_t)(colon - line);
	slash = memchr(line, '/', name_len);
	user_len = slash ? (size_t)(slash - line) : name_len;
	dev_len = slash ? name_len - user_len - 1 : 0;
	if (!ot_name_ok(line, user_len))
		return "invalid user name";
	if (slash && !ot_name_ok(slash + 1, dev_len))
		return "invalid device name";
	secret = colon + 1;
	secret_len = n - name_len - 1;
	if (!secret_len)
		return "empty secret";
	for (i = 0; i < k->n; i++)
		if (strlen(k->v[i].user) == user_len && !memcmp(k->v[i].user, line, user_len) &&
		    strlen(k->v[i].device) == dev_len &&
		    (!dev_len || !memcmp(k->v[i].device, slash + 1, dev_len)))
			return slash ? "a second key for this user/device"
				     : "a second key for this user";
	if (k->n == k->alloc) {
		size_t na = k->alloc ? 2 * k->alloc : 8;
		struct otkey *nv = calloc(na, sizeof(*nv));

		if (!nv)
			return "out of memory";
		if (k->v) {
			memcpy(nv, k->v, k->n * sizeof(*nv));
			sodium_memzero(k->v, k->alloc * sizeof(*k->v));
			free(k->v);
		}
		k->v = nv;
		k->alloc = na;
	}
	e = &k->v[k->n++];
	memset(e, 0, sizeof(*e));
	memcpy(e->user, line, user_len);
	if (slash)
		memcpy(e->device, slash + 1, dev_len);
	/* the apps' key: the secret's bytes, cut to 32, padded with NULs */
	memcpy(e->key, secret, secret_len < sizeof(e->key) ? secret_len : sizeof(e->key));
	return NULL;
}

int otkeys_parse(struct otkeys *k, const char *text, size_t len, int *err_line, char *err,
		 size_t err_len)
{
	const char *p = text, *end = text + len;
	int line = 0;

	*err_line = 0;
	if (err_len)
		err[0] = '\0';
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *why;

		line++;
		if (n && p[n - 1] == '\r')
			n--;
		if (n && p[0] != '#') {
			why = parse_line(k, p, n);
			if (why) {
				*err_line = line;
				snprintf(err, err_len, "line %d: %s", line, why);
				return -1;
			}
		}
		p = nl ? nl + 1 : end;
	}
	return 0;
}

bool otkeys_mode_ok(mode_t mode)
{
	return S_ISREG(mode) && !(mode & (S_IRWXG | S_IRWXO));
}

struct otkeys *otkeys_load(const char *path, char *err, size_t err_len)
{
	struct otkeys *k = NULL;
	struct stat st;
	char *buf = NULL, why[160];
	size_t got = 0, size = 0;
	ssize_t r;
	int fd, line;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, err_len, "keys file %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st)) {
		snprintf(err, err_len, "keys file %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, err_len, "keys file %s is not a regular file", path);
		goto out;
	}
	if (!otkeys_mode_ok(st.st_mode)) {
		snprintf(err, err_len,
			 "keys file %s has mode %04o: group or others may read or write it; "
			 "chmod 600 it (it holds the phones' secrets)",
			 path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if ((unsigned long long)st.st_size > OTKEYS_FILE_MAX) {
		snprintf(err, err_len, "keys file %s is larger than %u bytes", path,
			 OTKEYS_FILE_MAX);
		goto out;
	}
	size = (size_t)st.st_size;
	buf = malloc(size + 1);
	k = otkeys_new();
	if (!buf || !k) {
		snprintf(err, err_len, "keys file %s: out of memory", path);
		goto fail;
	}
	while (got < size) {
		r = read(fd, buf + got, size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, err_len, "keys file %s: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break; /* shrank meanwhile: parse what is there */
		got += (size_t)r;
	}
	if (otkeys_parse(k, buf, got, &line, why, sizeof(why))) {
		snprintf(err, err_len, "keys file %s, %s", path, why);
		goto fail;
	}
	goto out;
fail:
	otkeys_free(k);
	k = NULL;
out:
	if (buf) {
		sodium_memzero(buf, size + 1);
		free(buf);
	}
	close(fd);
	return k;
}

const char *otcrypto_result_name(enum otcrypto_result r)
{
	switch (r) {
	case OTCRYPTO_PLAIN:
		return "plain";
	case OTCRYPTO_DECRYPTED:
		return "decrypted";
	case OTCRYPTO_NO_KEY:
		return "no_key";
	case OTCRYPTO_MALFORMED:
		return "malformed";
	case OTCRYPTO_BAD_BASE64:
		return "bad_base64";
	case OTCRYPTO_TOO_SHORT:
		return "too_short";
	case OTCRYPTO_AUTH_FAILED:
		return "auth_failed";
	case OTCRYPTO_NO_ROOM:
		return "no_room";
	}
	return "unknown";
}

static enum otcrypto_result fail(enum otcrypto_result r, char *reason, size_t reason_len,
				 const char *why)
{
	if (reason && reason_len)
		snprintf(reason, reason_len, "%s", why);
	return r;
}

/* Strict standard base64 into `bin` (room for `bin_max`): padded, or
 * without padding; no whitespace, no other alphabet. 0 or -1. */
static int b64_decode(const char *s, size_t n, unsigned char *bin, size_t bin_max, size_t *bin_len)
{
	int variant = n && s[n - 1] == '=' ? sodium_base64_VARIANT_ORIGINAL
					   : sodium_base64_VARIANT_ORIGINAL_NO_PADDING;
	const char *end = NULL;

	if (sodium_base642bin(bin, bin_max, s, n, NULL, bin_len, &end, variant) || end != s + n)
		return -1;
	return 0;
}

enum otcrypto_result otcrypto_decrypt(const struct otkeys *k, const char *user, const char *device,
				      const char *payload, size_t len, char *out, size_t out_len,
				      size_t *plain_len, char *reason, size_t reason_len)
{
	const struct otkey *key;
	enum otcrypto_result r = OTCRYPTO_PLAIN;
	cJSON *doc = NULL, *type, *data;
	unsigned char *box = NULL;
	size_t n, box_len = 0;

	*plain_len = 0;
	if (out_len)
		out[0] = '\0';
	if (reason && reason_len)
		reason[0] = '\0';
	/* the hot path: most messages are not encrypted, so parse only
	 * those that could be */
	if (!payload || !len || !memmem(payload, len, "encrypted", 9))
		return OTCRYPTO_PLAIN;
	doc = cJSON_ParseWithLength(payload, len);
	type = cJSON_GetObjectItemCaseSensitive(doc, "_type");
	if (!cJSON_IsObject(doc) || !cJSON_IsString(type) || strcmp(type->valuestring, "encrypted"))
		goto out;
	data = cJSON_GetObjectItemCaseSensitive(doc, "data");
	if (!cJSON_IsString(data)) {
		r = fail(OTCRYPTO_MALFORMED, reason, reason_len,
			 "encrypted message without a \"data\" string");
		goto out;
	}
	n = strlen(data->valuestring);
	box = malloc(n / 4 * 3 + 3);
	if (!box || b64_decode(data->valuestring, n, box, n / 4 * 3 + 3, &box_len)) {
		r = fail(OTCRYPTO_BAD_BASE64, reason, reason_len,
			 "\"data\" is not standard base64");
		goto out;
	}
	if (box_len < OTCRYPTO_NONCE_BYTES + OTCRYPTO_MAC_BYTES) {
		r = fail(OTCRYPTO_TOO_SHORT, reason, reason_len,
			 "encrypted data shorter than a nonce and a MAC (40 bytes)");
		goto out;
	}
	key = key_find(k, user, device);
	if (!key) {
		r = fail(OTCRYPTO_NO_KEY, reason, reason_len, "no key for this user or device");
		goto out;
	}
	n = box_len - OTCRYPTO_NONCE_BYTES - OTCRYPTO_MAC_BYTES;
	if (out_len <= n) {
		r = fail(OTCRYPTO_NO_ROOM, reason, reason_len, "plaintext larger than its buffer");
		goto out;
	}
	if (crypto_secretbox_open_easy((unsigned char *)out, box + OTCRYPTO_NONCE_BYTES,
				       box_len - OTCRYPTO_NONCE_BYTES, box, key->key)) {
		sodium_memzero(out, out_len);
		out[0] = '\0';
		r = fail(OTCRYPTO_AUTH_FAILED, reason, reason_len,
			 "authentication failed: wrong key, or the data was altered");
		goto out;
	}
	out[n] = '\0';
	*plain_len = n;
	r = OTCRYPTO_DECRYPTED;
out:
	free(box);
	cJSON_Delete(doc);
	return r;
}

int otcrypto_encrypt(const struct otkeys *k, const char *user, const char *device,
		     const char *plain, size_t len, struct jbuf *out)
{
	const struct otkey *key = key_find(k, user, device);
	size_t box_len = OTCRYPTO_NONCE_BYTES + OTCRYPTO_MAC_BYTES + len, b64_len;
	unsigned char *box = NULL;
	char *b64 = NULL;
	int rc = OTCRYPTO_NO_ROOM;

	if (!key)
		return OTCRYPTO_NO_KEY;
	b64_len = sodium_base64_ENCODED_LEN(box_len, sodium_base64_VARIANT_ORIGINAL);
	box = malloc(box_len);
	b64 = malloc(b64_len);
	if (!box || !b64)
		goto out;
	randombytes_buf(box, OTCRYPTO_NONCE_BYTES);
	if (crypto_secretbox_easy(box + OTCRYPTO_NONCE_BYTES, (const unsigned char *)plain, len,
				  box, key->key))
		goto out;
	sodium_bin2base64(b64, b64_len, box, box_len, sodium_base64_VARIANT_ORIGINAL);
	jbuf_puts(out, "{\"_type\":\"encrypted\",\"data\":\"");
	jbuf_puts(out, b64);
	jbuf_puts(out, "\"}");
	if (!jbuf_failed(out))
		rc = 0;
out:
	free(box);
	free(b64);
	return rc;
}

/* otcrypto: OwnTracks payload encryption (libsodium secretbox) and keys files.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * The apps' format: {"_type":"encrypted","data":"<base64>"}, where the
 * base64 (standard alphabet, as the apps send it padded; unpadded is
 * accepted too, nothing else: no whitespace, no URL-safe alphabet) holds a
 * 24-byte nonce followed by a crypto_secretbox_easy() box (16-byte MAC +
 * ciphertext, XSalsa20-Poly1305). The key is the shared secret's bytes,
 * right-padded with NUL bytes to 32 (crypto_secretbox_KEYBYTES); no key
 * derivation. A secret longer than 32 bytes is cut to 32, as the Android
 * app does.
 *
 * Keys come from a keys file, one key a line:
 *   user:secret          the key of every device of `user`
 *   user/device:secret   the key of one device (wins over the user's key)
 * `#` starts a comment line; blank lines are skipped. The secret is every
 * byte after the first ':' up to the end of the line (a trailing CR is
 * dropped), spaces included. Names compare exactly (case matters, as in
 * MQTT topics). Secrets are never put in an error message and are zeroed
 * (sodium_memzero) when the keys are freed.
 *
 * No I/O except otkeys_load(); no logging: functions return codes and a
 * reason the caller may log (reasons never hold secrets, names or payload
 * bytes). Thread-safety: a loaded struct otkeys is read-only, so several
 * threads may decrypt with it at once.
 */
#ifndef MYTRACKS_OTCRYPTO_H
#define MYTRACKS_OTCRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "jbuf.h"

#define OTCRYPTO_KEY_BYTES 32	/* crypto_secretbox_KEYBYTES */
#define OTCRYPTO_NONCE_BYTES 24 /* crypto_secretbox_NONCEBYTES */
#define OTCRYPTO_MAC_BYTES 16	/* crypto_secretbox_MACBYTES */
/* The largest keys file otkeys_load() reads. */
#define OTKEYS_FILE_MAX (1u << 20)

struct otkeys;

/* An empty key set (no keys: every encrypted message gives
 * OTCRYPTO_NO_KEY). Also initialises libsodium. Returns NULL when out of
 * memory or libsodium cannot start. Free with otkeys_free(). */
struct otkeys *otkeys_new(void);

/* Zero every secret and free. NULL is a no-op. */
void otkeys_free(struct otkeys *k);

/* Parse the text of a keys file (`len` bytes, need not be NUL-terminated)
 * into `k`, adding to what it holds. Returns 0, or -1 with `*err_line`
 * (1-based) and the reason in `err` ("line 3: ..."; always
 * NUL-terminated). On -1, `k` may hold the lines before the bad one:
 * discard it. Refused: a line without ':', an empty or invalid name (empty,
 * control characters, '+', '#', more than one '/', longer than 128 bytes),
 * an empty secret, and a user or user/device given twice. */
int otkeys_parse(struct otkeys *k, const char *text, size_t len, int *err_line, char *err,
		 size_t err_len);

/* True when a file of this st_mode may hold keys: a regular file that
 * group and others can neither read nor write (0600, 0400). */
bool otkeys_mode_ok(mode_t mode);

/* Read and parse the keys file at `path`. Refuses a file that is not
 * regular, whose mode lets group or others read or write it (the message
 * says which mode it has and to chmod 600 it), larger than
 * OTKEYS_FILE_MAX, or with a bad line (the message names the line).
 * Returns a new key set (free with otkeys_free()), or NULL with the reason
 * in `err`. The file's bytes are zeroed after parsing. */
struct otkeys *otkeys_load(const char *path, char *err, size_t err_len);

/* How many keys `k` holds (0 for NULL). */
size_t otkeys_count(const struct otkeys *k);

/* True when there is a key for this device: its own or its user's. */
bool otkeys_has(const struct otkeys *k, const char *user, const char *device);

enum otcrypto_result {
	OTCRYPTO_PLAIN = 0,   /* not an encrypted message: use the payload as it is */
	OTCRYPTO_DECRYPTED,   /* `out` holds the plaintext */
	OTCRYPTO_NO_KEY,      /* encrypted, but no key for this user/device */
	OTCRYPTO_MALFORMED,   /* _type "encrypted" without a string "data" */
	OTCRYPTO_BAD_BASE64,  /* "data" is not strict standard base64 */
	OTCRYPTO_TOO_SHORT,   /* fewer bytes than a nonce and a MAC */
	OTCRYPTO_AUTH_FAILED, /* wrong key, or the ciphertext was altered */
	OTCRYPTO_NO_ROOM,     /* `out` too small (never with out_len > len) */
};

/* A short name for counters and logs: "plain", "decrypted", "no_key",
 * "malformed", "bad_base64", "too_short", "auth_failed", "no_room". */
const char *otcrypto_result_name(enum otcrypto_result r);

/* True when the result means "an encrypted message we could not open". */
static inline bool otcrypto_failed(enum otcrypto_result r)
{
	return r != OTCRYPTO_PLAIN && r != OTCRYPTO_DECRYPTED;
}

/* Decrypt `payload` (`len` bytes, the message as received) if it is an
 * encrypted message, with the key of user/device (device key first, then
 * the user's; `k` may be NULL: no keys). On OTCRYPTO_DECRYPTED, `out`
 * holds the plaintext, NUL-terminated, `*plain_len` bytes (not counting the
 * NUL; it is not checked to be UTF-8 or JSON: parse it as any message). The
 * plaintext is always shorter than the payload, so an `out` of `len + 1`
 * bytes always fits. On any other result `out` is "" and `*plain_len` 0.
 * A payload that is not JSON, not an object or of another _type is
 * OTCRYPTO_PLAIN (cheap: it is parsed only when it holds "encrypted").
 * `reason` (may be NULL) gets a sentence for failures, "" otherwise. */
enum otcrypto_result otcrypto_decrypt(const struct otkeys *k, const char *user, const char *device,
				      const char *payload, size_t len, char *out, size_t out_len,
				      size_t *plain_len, char *reason, size_t reason_len);

/* Encrypt `len` bytes of `plain` with the key of user/device (as in
 * otcrypto_decrypt()) under a fresh random nonce, and append
 * {"_type":"encrypted","data":"<base64>"} to `out`. Returns 0 on
 * success, OTCRYPTO_NO_KEY (nothing appended) when there is no key, or
 * OTCRYPTO_NO_ROOM when `out` failed (full or out of memory). For an
 * HTTP-mode reply, encrypt the whole array: the apps (and the Recorder)
 * answer an encrypting phone with one such object holding "[...]". */
int otcrypto_encrypt(const struct otkeys *k, const char *user, const char *device,
		     const char *plain, size_t len, struct jbuf *out);

#endif

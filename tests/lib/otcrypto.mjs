// OwnTracks payload encryption done by an independent implementation
// (libsodium-wrappers: libsodium compiled to JavaScript, from npm), for
// tests that play an encrypting phone.
//
// Part of mytracks. SPDX-License-Identifier: MIT
import sodium from 'libsodium-wrappers';

/** Resolves once libsodium-wrappers can be used. */
export const sodiumReady = sodium.ready;

/** The apps' key: the secret's bytes cut to 32, padded with NUL bytes. */
export function appKey(secret) {
  const key = new Uint8Array(sodium.crypto_secretbox_KEYBYTES);
  key.set(Buffer.from(secret, 'utf8').subarray(0, key.length));
  return key;
}

/** {"_type":"encrypted","data":...} of `plain` under `secret`, as a phone sends it. */
export function seal(secret, plain, nonce = sodium.randombytes_buf(sodium.crypto_secretbox_NONCEBYTES)) {
  const box = sodium.crypto_secretbox_easy(Buffer.from(plain, 'utf8'), nonce, appKey(secret));
  const data = Buffer.concat([Buffer.from(nonce), Buffer.from(box)]).toString('base64');
  return JSON.stringify({ _type: 'encrypted', data });
}

/** The plaintext of an encrypted message (a JSON string), or null when it does not open. */
export function open(secret, message) {
  const raw = Buffer.from(JSON.parse(message).data, 'base64');
  const n = sodium.crypto_secretbox_NONCEBYTES;
  try {
    return Buffer.from(sodium.crypto_secretbox_open_easy(raw.subarray(n), raw.subarray(0, n),
      appKey(secret))).toString('utf8');
  } catch {
    return null;
  }
}

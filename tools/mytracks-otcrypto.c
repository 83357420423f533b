/* mytracks-otcrypto: decrypt or encrypt OwnTracks payloads with a keys file.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * The core's otcrypto module on the command line: to recover reports that
 * were stored encrypted before their key was known (the raw column holds
 * the ciphertext as received), to check a keys file, and for the tests'
 * cross-check against an independent libsodium implementation.
 */
#define _GNU_SOURCE /* getline */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otcrypto.h"

#define PROG "mytracks-otcrypto"
#define INPUT_MAX (16u << 20)

enum { EXIT_USAGE = 2, EXIT_NOT_ENCRYPTED = 3 };

static void usage(FILE *f)
{
	fprintf(f, "Usage: " PROG " decrypt --keys FILE [--lines] USER DEVICE\n"
		   "       " PROG " encrypt --keys FILE USER DEVICE\n"
		   "       " PROG " check --keys FILE\n"
		   "\n"
		   "decrypt: reads one OwnTracks message from standard input and writes the\n"
		   "  plaintext of {\"_type\":\"encrypted\",\"data\":...} with the key of "
		   "USER/DEVICE\n"
		   "  (the device's key, else the user's). A message that is not encrypted is\n"
		   "  written unchanged (exit status 3). With --lines, every input line is one\n"
		   "  message and every output line one result (a line that cannot be\n"
		   "  decrypted is written unchanged; the exit status is then 1).\n"
		   "encrypt: encrypts standard input (e.g. a reply array) into one\n"
		   "  {\"_type\":\"encrypted\",\"data\":...} object.\n"
		   "check: loads the keys file and says how many keys it holds.\n"
		   "\n"
		   "The keys file has lines user:secret or user/device:secret and '#'\n"
		   "comments, and must not be readable by group or others (chmod 600).\n"
		   "Exit status: 0 done, 1 not decrypted (the reason on standard error),\n"
		   "2 usage or keys file error, 3 not an encrypted message.\n");
}

static char *read_all(FILE *in, size_t *len)
{
	size_t n = 0, alloc = 4096;
	char *buf = malloc(alloc), *nb;

	while (buf) {
		size_t r = fread(buf + n, 1, alloc - n - 1, in);

		n += r;
		if (r == 0)
			break;
		if (n + 1 == alloc) {
			if (alloc >= INPUT_MAX) {
				free(buf);
				return NULL;
			}
			nb = realloc(buf, alloc * 2);
			if (!nb)
				free(buf);
			buf = nb;
			alloc *= 2;
		}
	}
	if (buf)
		buf[n] = '\0';
	*len = n;
	return buf;
}

/* One message: writes the result; returns the exit status. */
static int decrypt_one(const struct otkeys *k, const char *user, const char *device,
		       const char *msg, size_t len, bool newline)
{
	char *out = malloc(len + 1), reason[128];
	size_t n = 0;
	enum otcrypto_result r;
	int rc;

	if (!out) {
		fprintf(stderr, PROG ": out of memory\n");
		return 1;
	}
	r = otcrypto_decrypt(k, user, device, msg, len, out, len + 1, &n, reason, sizeof(reason));
	if (r == OTCRYPTO_DECRYPTED) {
		fwrite(out, 1, n, stdout);
		rc = 0;
	} else {
		fwrite(msg, 1, len, stdout);
		if (r == OTCRYPTO_PLAIN) {
			rc = EXIT_NOT_ENCRYPTED;
		} else {
			fprintf(stderr, PROG ": not decrypted (%s): %s\n", otcrypto_result_name(r),
				reason);
			rc = 1;
		}
	}
	if (newline)
		putchar('\n');
	free(out);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"keys", required_argument, NULL, 'k'},
		{"lines", no_argument, NULL, 'l'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *keys_file = NULL, *cmd;
	struct otkeys *k = NULL;
	bool lines = false;
	char err[512], *in = NULL;
	size_t len = 0;
	int c, rc = EXIT_USAGE;

	while ((c = getopt_long(argc, argv, "k:lh", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			keys_file = optarg;
			break;
		case 'l':
			lines = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc || !keys_file) {
		usage(stderr);
		return EXIT_USAGE;
	}
	cmd = argv[optind++];
	if (strcmp(cmd, "check") ? argc - optind != 2 : argc != optind) {
		usage(stderr);
		return EXIT_USAGE;
	}
	k = otkeys_load(keys_file, err, sizeof(err));
	if (!k) {
		fprintf(stderr, PROG ": %s\n", err);
		return EXIT_USAGE;
	}
	if (!strcmp(cmd, "check")) {
		printf("%zu keys\n", otkeys_count(k));
		rc = 0;
	} else if (!strcmp(cmd, "decrypt") && lines) {
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;

		rc = 0;
		while ((n = getline(&line, &cap, stdin)) > 0) {
			if (line[n - 1] == '\n')
				line[--n] = '\0';
			if (decrypt_one(k, argv[optind], argv[optind + 1], line, (size_t)n, true) ==
			    1)
				rc = 1;
		}
		free(line);
	} else if (!strcmp(cmd, "decrypt") || !strcmp(cmd, "encrypt")) {
		in = read_all(stdin, &len);
		if (!in) {
			fprintf(stderr, PROG ": cannot read standard input (at most %u bytes)\n",
				INPUT_MAX);
			rc = 1;
		} else if (cmd[0] == 'd') {
			rc = decrypt_one(k, argv[optind], argv[optind + 1], in, len, false);
		} else {
			struct jbuf out;

			jbuf_init(&out, 0, 2 * INPUT_MAX);
			rc = otcrypto_encrypt(k, argv[optind], argv[optind + 1], in, len, &out);
			if (rc == OTCRYPTO_NO_KEY)
				fprintf(stderr, PROG ": no key for this user or device\n");
			else if (rc)
				fprintf(stderr, PROG ": out of memory\n");
			else
				fwrite(jbuf_data(&out), 1, jbuf_len(&out), stdout);
			rc = rc ? 1 : 0;
			jbuf_free(&out);
		}
	} else {
		usage(stderr);
	}
	free(in);
	otkeys_free(k);
	if (fflush(stdout))
		rc = 1;
	return rc;
}

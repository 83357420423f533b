/* config: the plugin's plugin_opt_* options, parsed and checked once at start.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "config.h"
#include "num.h"
#include "ot.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Mosquitto keeps trailing whitespace in option values. */
static char *trimmed_dup(const char *s)
{
	size_t n;
	char *d;

	while (*s && isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	d = malloc(n + 1);
	if (d) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

static int parse_int(const char *v, long long min, long long max, long long *out)
{
	int64_t x;

	if (num_parse(v, min, max, &x))
		return -1;
	*out = x;
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "true") || !strcmp(v, "on") || !strcmp(v, "yes") || !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "false") || !strcmp(v, "off") || !strcmp(v, "no") || !strcmp(v, "0"))
		*out = false;
	else
		return -1;
	return 0;
}

static int replace(char **slot, const char *v)
{
	char *d = trimmed_dup(v);

	if (!d)
		return -1;
	free(*slot);
	*slot = d;
	return 0;
}

int config_parse(struct mt_config *cfg, const struct mt_option *opts, int n, char *err,
		 size_t errlen)
{
	long long x = 0; /* parse_int()'s value; a bad one fails the whole parse */
	int i;

	memset(cfg, 0, sizeof(*cfg));
	cfg->max_payload = 262144;
	cfg->commit_window_ms = 100;
	cfg->topic_user_check = true;
	cfg->buffer_max = 100000;
	cfg->max_devices = 10000;
	cfg->max_devices_per_user = 100;
	cfg->max_future = 86400;
	cfg->stats_interval = 10;
	cfg->retention_batch = 1000;
	cfg->retention_interval = 60;
	cfg->http_online_window = 600;
	if (replace(&cfg->input_prefix, "owntracks") || replace(&cfg->output_prefix, "mytracks") ||
	    replace(&cfg->control_prefix, "mytracks-control"))
		goto nomem;

	for (i = 0; i < n; i++) {
		const char *k = opts[i].key;
		char *v = trimmed_dup(opts[i].value ? opts[i].value : "");
		int bad = 0;

		if (!v)
			goto nomem;
		if (!strcmp(k, "database")) {
			bad = !*v;
			if (!bad && replace(&cfg->database, v))
				bad = -1;
		} else if (!strcmp(k, "input_prefix") || !strcmp(k, "output_prefix") ||
			   !strcmp(k, "control_prefix")) {
			bad = !ot_prefix_ok(v);
			if (!bad)
				bad = replace(k[0] == 'i'   ? &cfg->input_prefix
					      : k[0] == 'o' ? &cfg->output_prefix
							    : &cfg->control_prefix,
					      v);
		} else if (!strcmp(k, "trusted_user")) {
			bad = !*v || replace(&cfg->trusted_user, v);
		} else if (!strcmp(k, "keys")) {
			bad = !*v || replace(&cfg->keys_file, v);
		} else if (!strcmp(k, "max_payload")) {
			bad = parse_int(v, 64, 16 * 1024 * 1024, &x);
			cfg->max_payload = (size_t)x;
		} else if (!strcmp(k, "commit_window")) {
			bad = parse_int(v, 0, 10000, &x);
			cfg->commit_window_ms = (int)x;
		} else if (!strcmp(k, "topic_user_check")) {
			bad = parse_bool(v, &cfg->topic_user_check);
		} else if (!strcmp(k, "wills")) {
			bad = parse_bool(v, &cfg->wills);
		} else if (!strcmp(k, "shared_writers")) {
			bad = parse_bool(v, &cfg->shared_writers);
		} else if (!strcmp(k, "buffer_max")) {
			bad = parse_int(v, 1, 10000000, &x);
			cfg->buffer_max = (size_t)x;
		} else if (!strcmp(k, "buffer_per_user")) {
			bad = parse_int(v, 1, 10000000, &x);
			cfg->buffer_per_user = (size_t)x;
		} else if (!strcmp(k, "max_devices")) {
			bad = parse_int(v, 1, 10000000, &x);
			cfg->max_devices = (size_t)x;
		} else if (!strcmp(k, "max_devices_per_user")) {
			bad = parse_int(v, 1, 10000000, &x);
			cfg->max_devices_per_user = (size_t)x;
		} else if (!strcmp(k, "max_future")) {
			bad = parse_int(v, 0, 10LL * 365 * 86400, &x);
			cfg->max_future = x;
		} else if (!strcmp(k, "retention_days")) {
			bad = parse_int(v, 0, 100 * 366, &x);
			cfg->retention_days = (int)x;
		} else if (!strcmp(k, "retention_batch")) {
			bad = parse_int(v, 1, 100000, &x);
			cfg->retention_batch = (int)x;
		} else if (!strcmp(k, "retention_interval")) {
			bad = parse_int(v, 1, 86400, &x);
			cfg->retention_interval = (int)x;
		} else if (!strcmp(k, "http_online_window")) {
			bad = parse_int(v, 1, 7 * 86400, &x);
			cfg->http_online_window = (int)x;
		} else if (!strcmp(k, "stats_interval")) {
			bad = parse_int(v, 0, 86400, &x);
			cfg->stats_interval = (int)x;
		} else {
			snprintf(err, errlen, "unknown option plugin_opt_%s", k);
			free(v);
			return -1;
		}
		if (bad) {
			snprintf(err, errlen, "invalid value '%.64s' for plugin_opt_%s", v, k);
			free(v);
			return -1;
		}
		free(v);
	}
	if (!cfg->database) {
		snprintf(err, errlen,
			 "plugin_opt_database is required (a SQLite file, or a PostgreSQL "
			 "connection string)");
		return -1;
	}
	if (!cfg->buffer_per_user)
		cfg->buffer_per_user = cfg->buffer_max >= 10 ? cfg->buffer_max / 10 : 1;
	if (cfg->buffer_per_user > cfg->buffer_max) {
		snprintf(err, errlen,
			 "plugin_opt_buffer_per_user (%zu) must not exceed plugin_opt_buffer_max "
			 "(%zu)",
			 cfg->buffer_per_user, cfg->buffer_max);
		return -1;
	}
	if (cfg->max_devices_per_user > cfg->max_devices) {
		snprintf(err, errlen,
			 "plugin_opt_max_devices_per_user (%zu) must not exceed "
			 "plugin_opt_max_devices (%zu)",
			 cfg->max_devices_per_user, cfg->max_devices);
		return -1;
	}
	if (!strcmp(cfg->input_prefix, cfg->output_prefix) ||
	    !strcmp(cfg->input_prefix, cfg->control_prefix) ||
	    !strcmp(cfg->output_prefix, cfg->control_prefix)) {
		snprintf(err, errlen,
			 "plugin_opt_input_prefix, plugin_opt_output_prefix and "
			 "plugin_opt_control_prefix must differ");
		return -1;
	}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

void config_free(struct mt_config *cfg)
{
	free(cfg->database);
	free(cfg->input_prefix);
	free(cfg->output_prefix);
	free(cfg->control_prefix);
	free(cfg->trusted_user);
	free(cfg->keys_file);
	memset(cfg, 0, sizeof(*cfg));
}

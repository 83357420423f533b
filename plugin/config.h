/* config: the plugin's plugin_opt_* options, parsed and checked once at start.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#ifndef MYTRACKS_CONFIG_H
#define MYTRACKS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mt_config {
	char *database;		/* plugin_opt_database (required) */
	char *input_prefix;	/* plugin_opt_input_prefix, default "owntracks" */
	char *output_prefix;	/* plugin_opt_output_prefix, default "mytracks" */
	char *control_prefix;	/* plugin_opt_control_prefix, default "mytracks-control" */
	char *trusted_user;	/* plugin_opt_trusted_user, default none; the only
				   client whose control requests are served */
	char *keys_file;	/* plugin_opt_keys: OwnTracks payload keys, default none */
	size_t max_payload;	/* plugin_opt_max_payload, bytes, default 262144 */
	int commit_window_ms;	/* plugin_opt_commit_window, ms, default 100, 0 = every message */
	bool topic_user_check;	/* plugin_opt_topic_user_check, default true */
	size_t buffer_max;	/* plugin_opt_buffer_max, rows, default 100000 */
	size_t buffer_per_user; /* plugin_opt_buffer_per_user, rows, default buffer_max / 10 */
	size_t max_devices;	/* plugin_opt_max_devices, default 10000 */
	size_t max_devices_per_user; /* plugin_opt_max_devices_per_user, default 100 */
	int64_t max_future;	     /* plugin_opt_max_future, seconds, default 86400 */
	int stats_interval;	     /* plugin_opt_stats_interval, seconds, default 10, 0 = off */
	int retention_days;	     /* plugin_opt_retention_days, default 0 = keep all */
	int retention_batch;	     /* plugin_opt_retention_batch, rows, default 1000 */
	int retention_interval;	     /* plugin_opt_retention_interval, seconds, default 60 */
	int http_online_window;	     /* plugin_opt_http_online_window, seconds, default 600 */
	bool shared_writers;	     /* plugin_opt_shared_writers: several brokers' plugins write to
					one PostgreSQL database, default false (docs/scale-out.md) */
	bool wills; /* plugin_opt_wills: store the Last Wills the broker publishes, default
		       false (needs an acl_file: will.h) */
};

struct mt_option {
	const char *key; /* without the plugin_opt_ prefix */
	const char *value;
};

/* Fill `cfg` from `n` options. Unknown keys and bad values fail: returns 0,
 * or -1 with `err` naming the option. The strings in cfg are allocated;
 * release them with config_free() (also after a failure). */
int config_parse(struct mt_config *cfg, const struct mt_option *opts, int n, char *err,
		 size_t errlen);
/* Free the strings and zero `cfg`; safe on a zeroed or failed config. */
void config_free(struct mt_config *cfg);

#endif

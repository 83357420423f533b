/* config: the bridge's command-line options, parsed and checked once.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#ifndef MYTRACKS_BRIDGE_CONFIG_H
#define MYTRACKS_BRIDGE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "tiles.h"

#define CONFIG_MAX_PROXIES 16
#define CONFIG_MAX_ORIGINS 16
#define CONFIG_MAX_NAMES 16

struct bridge_config {
	const char *http_host;	    /* listen address, default 127.0.0.1 */
	int http_port;		    /* default 8080 */
	const char *mqtt_host;	    /* default 127.0.0.1 */
	int mqtt_port;		    /* default 1883 */
	const char *mqtt_username;  /* default mytracks-bridge; "" for none */
	char *mqtt_password;	    /* read from --mqtt-password-file, owned */
	const char *mqtt_cafile;    /* enables TLS to the broker */
	const char *mqtt_client_id; /* NULL: libmosquitto picks one */
	const char *out_prefix;	    /* the plugin's output prefix, default mytracks */
	const char *control_prefix; /* the plugin's control prefix, default mytracks-control */
	const char *in_prefix;	    /* OwnTracks input prefix, default owntracks */
	const char *database;	    /* SQLite file, opened read-only */
	const char *web_root;	    /* static files */
	const char *trusted_proxies[CONFIG_MAX_PROXIES];
	int n_trusted_proxies;
	size_t ws_backlog;	 /* messages a WebSocket client may lag behind */
	size_t ws_backlog_bytes; /* bytes the relay ring may hold */
	int ws_ping;		 /* seconds idle before a ping; hangup after 2x */
	size_t max_body;	 /* largest HTTP-mode POST body */
	size_t max_message;	 /* largest MQTT payload relayed */
	int pub_timeout;	 /* seconds to wait for a PUBACK */
	int request_timeout;	 /* seconds for a request's headers, and again for its body */
	size_t body_memory;	 /* bytes all unfinished request bodies may hold together */
	int max_connections;	 /* simultaneous HTTP/WebSocket connections */
	int log_level;		 /* lws log bitmask */
	bool console;		 /* log to stderr instead of syslog */
	/* access control (see docs/security.md) */
	const char *users_file; /* NULL: no login (local single-user mode) */
	bool insecure_no_auth;	/* allow a non-loopback --http-host without login */
	const char *allowed_origins[CONFIG_MAX_ORIGINS]; /* besides the Host's own */
	int n_allowed_origins;
	const char *tls_cert, *tls_key;	 /* serve HTTPS/WSS */
	int session_ttl;		 /* seconds a login lasts */
	const char *session_secret_file; /* signed sessions for several bridges; NULL: in memory */
	/* request checks, sessions and logins (issue 9, docs/security.md) */
	const char *server_names[CONFIG_MAX_NAMES]; /* Host names besides loopback */
	int n_server_names;
	int max_user_sessions; /* sessions one user may hold, default 16 */
	int login_limit;       /* failed logins per minute per address/user; 0: off */
	const char *keys_file; /* --keys: payload encryption keys; NULL: none */
	/* history (issue 13): the page's default bad-fix filter; 0: off */
	int hide_accuracy_over; /* metres */
	int hide_speed_over;	/* km/h */
	/* the map's tiles (issue 16): a Leaflet URL template and its credit */
	const char *tile_url;			/* default TILES_DEFAULT_URL */
	const char *tile_attribution;		/* default TILES_DEFAULT_ATTRIBUTION */
	char tile_csp_source[TILES_ORIGIN_MAX]; /* tile_url's origin, for img-src */
};

/* True when `addr` (a numeric IP address) is a loopback address. */
bool config_is_loopback(const char *addr);

enum config_result {
	CONFIG_OK = 0,
	CONFIG_EXIT_OK,	      /* --help or --version was printed */
	CONFIG_ERROR,	      /* a message naming the option was printed */
	CONFIG_HASH_PASSWORD, /* --hash-password: print a hash and exit */
};

/* Parse argv into `cfg` (defaults first). Prints errors and --help text to
 * stderr/stdout itself. Free with config_free(). */
enum config_result config_parse(struct bridge_config *cfg, int argc, char **argv);
/* Free what config_parse() allocated (the MQTT password read from its
 * file); safe after a failed parse. */
void config_free(struct bridge_config *cfg);

#endif

/* config: the bridge's command-line options, parsed and checked once.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "config.h"
#include "num.h"
#include "ot.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <arpa/inet.h>

#include <libwebsockets.h>

#ifndef MYTRACKS_VERSION
#define MYTRACKS_VERSION "0"
#endif
#ifndef MYTRACKS_DEFAULT_WEB_ROOT
#define MYTRACKS_DEFAULT_WEB_ROOT "web"
#endif

#define PROG "mytracks-bridge"

static const char usage_text[] =
	"Usage: " PROG " [options]\n"
	"\n"
	"Relays the mytracks plugin's messages from the MQTT broker to WebSocket\n"
	"clients on /ws/locations/, serves the history API and the web page, and\n"
	"accepts OwnTracks HTTP-mode reports.\n"
	"\n"
	"HTTP:\n"
	"  --http-host ADDR          listen address (default 127.0.0.1)\n"
	"  --http-port N             listen port (default 8080)\n"
	"  --web-root DIR            static files (default " MYTRACKS_DEFAULT_WEB_ROOT ")\n"
	"  --trusted-proxy ADDR      believe X-Forwarded-For from this peer address\n"
	"                            (repeatable, up to 16)\n"
	"  --max-body BYTES          largest HTTP-mode report body (default 65536)\n"
	"  --pub-timeout SECONDS     wait this long for the broker's PUBACK before\n"
	"                            answering 503 (default 10)\n"
	"  --request-timeout SECONDS a request's headers must arrive within this\n"
	"                            long, and its body within as long again, or\n"
	"                            the connection is closed (default 10)\n"
	"  --max-body-memory BYTES   bytes all unfinished request bodies may hold\n"
	"                            together; beyond it 503 (default 4194304)\n"
	"  --max-connections N       simultaneous connections; more wait in the\n"
	"                            kernel's backlog (default 1000, lowered to\n"
	"                            fit the open-files limit)\n"
	"MQTT:\n"
	"  --mqtt-host HOST          broker host (default 127.0.0.1)\n"
	"  --mqtt-port N             broker port (default 1883)\n"
	"  --mqtt-username NAME      MQTT username (default mytracks-bridge; the\n"
	"                            plugin's plugin_opt_trusted_user)\n"
	"  --mqtt-password-file FILE first line is the MQTT password\n"
	"  --mqtt-cafile FILE        connect with TLS, trusting this CA\n"
	"  --mqtt-client-id ID       MQTT client id (default: generated)\n"
	"  --topic-prefix P          the plugin's output prefix (default mytracks)\n"
	"  --input-prefix P          OwnTracks topic prefix for HTTP-mode reports\n"
	"                            (default owntracks)\n"
	"  --control-prefix P        the plugin's plugin_opt_control_prefix, for\n"
	"                            deletes (default mytracks-control)\n"
	"  --max-message BYTES       largest MQTT payload relayed (default 262144)\n"
	"Storage:\n"
	"  --database FILE|URL       SQLite file or PostgreSQL connection string, read-only\n"
	"                            (default data/mytracks.db)\n"
	"WebSocket:\n"
	"  --ws-backlog N            messages a client may lag behind before it is\n"
	"                            cut off (default 1024)\n"
	"  --ws-backlog-bytes BYTES  bytes the relay ring may hold (default 8388608)\n"
	"  --ws-ping SECONDS         ping idle clients after this long, drop them\n"
	"                            after twice as long (default 30)\n"
	"Access control (see docs/security.md):\n"
	"  --users FILE              require a login: lines name:crypt-hash[:admin]\n"
	"                            [:share=user,...]; hash with `openssl passwd -6`\n"
	"                            or `" PROG " --hash-password`; re-read on\n"
	"                            SIGHUP (systemctl reload)\n"
	"  --session-ttl SECONDS     how long a login lasts (default 604800)\n"
	"  --session-secret-file FILE\n"
	"                            sign session cookies with this secret (32 bytes\n"
	"                            or more, mode 0600): every bridge given the same\n"
	"                            file accepts them (several bridges behind a\n"
	"                            proxy); default: sessions kept in this process\n"
	"  --allowed-origin ORIGIN   also accept WebSocket upgrades from this Origin\n"
	"                            (e.g. https://map.example.org; repeatable)\n"
	"  --insecure-no-auth        allow a non-loopback --http-host without --users\n"
	"  --tls-cert FILE           serve HTTPS/WSS with this certificate (PEM)...\n"
	"  --tls-key FILE            ...and this private key (PEM)\n"
	"  --server-name NAME        also serve requests whose Host is NAME (besides\n"
	"                            localhost, IP addresses and --allowed-origin\n"
	"                            hosts; repeatable, up to 16)\n"
	"  --max-user-sessions N     logins one user may hold at once; a new one\n"
	"                            ends their oldest (default 16)\n"
	"  --login-limit N           failed logins per minute per client address and\n"
	"                            per user name before 429 (default 10; 0: off)\n"
	"  --hash-password           read a password on stdin, print its crypt(3)\n"
	"                            hash for the users file, and exit\n"
	"Payload encryption (see docs/security.md):\n"
	"  --keys FILE               OwnTracks encryption keys: lines user:secret or\n"
	"                            user/device:secret, mode 0600, read at start and\n"
	"                            on SIGHUP;\n"
	"                            encrypted HTTP-mode reports are checked in\n"
	"                            plaintext, published as sent, answered encrypted\n"
	"History (the page's \"hide bad fixes\" default; 0: off):\n"
	"  --hide-accuracy-over M    hide fixes less accurate than M metres (default 0)\n"
	"  --hide-speed-over K       hide jumps faster than K km/h (default 0)\n"
	"Map tiles (the Content-Security-Policy allows the URL's origin):\n"
	"  --tile-url URL            Leaflet tile URL template with {z} {x} {y}\n"
	"                            (optional {s} {r} {-y}; default\n"
	"                            " TILES_DEFAULT_URL ")\n"
	"  --tile-attribution TEXT   the map's credit line: text, with links as\n"
	"                            <a href=\"https://...\">name</a> (default the\n"
	"                            OpenStreetMap credit)\n"
	"Logging:\n"
	"  --log-level LEVEL         debug, info, warning or error (default info)\n"
	"  --console                 log to stderr instead of syslog\n"
	"  --help                    show this text\n"
	"  --version                 show the version\n";

enum {
	OPT_HTTP_HOST = 256,
	OPT_HTTP_PORT,
	OPT_WEB_ROOT,
	OPT_TRUSTED_PROXY,
	OPT_MAX_BODY,
	OPT_PUB_TIMEOUT,
	OPT_REQUEST_TIMEOUT,
	OPT_MAX_BODY_MEMORY,
	OPT_MAX_CONNECTIONS,
	OPT_MQTT_HOST,
	OPT_MQTT_PORT,
	OPT_MQTT_USERNAME,
	OPT_MQTT_PASSWORD_FILE,
	OPT_MQTT_CAFILE,
	OPT_MQTT_CLIENT_ID,
	OPT_TOPIC_PREFIX,
	OPT_INPUT_PREFIX,
	OPT_CONTROL_PREFIX,
	OPT_MAX_MESSAGE,
	OPT_DATABASE,
	OPT_WS_BACKLOG,
	OPT_WS_BACKLOG_BYTES,
	OPT_WS_PING,
	OPT_LOG_LEVEL,
	OPT_CONSOLE,
	OPT_HELP,
	OPT_VERSION,
	OPT_USERS,
	OPT_SESSION_TTL,
	OPT_ALLOWED_ORIGIN,
	OPT_INSECURE_NO_AUTH,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_HASH_PASSWORD,
	OPT_SERVER_NAME,
	OPT_MAX_USER_SESSIONS,
	OPT_LOGIN_LIMIT,
	OPT_KEYS,
	OPT_HIDE_ACCURACY_OVER,
	OPT_HIDE_SPEED_OVER,
	OPT_TILE_URL,
	OPT_TILE_ATTRIBUTION,
	OPT_SESSION_SECRET_FILE,
};

static const struct option long_options[] = {
	{"http-host", required_argument, NULL, OPT_HTTP_HOST},
	{"http-port", required_argument, NULL, OPT_HTTP_PORT},
	{"web-root", required_argument, NULL, OPT_WEB_ROOT},
	{"trusted-proxy", required_argument, NULL, OPT_TRUSTED_PROXY},
	{"max-body", required_argument, NULL, OPT_MAX_BODY},
	{"pub-timeout", required_argument, NULL, OPT_PUB_TIMEOUT},
	{"request-timeout", required_argument, NULL, OPT_REQUEST_TIMEOUT},
	{"max-body-memory", required_argument, NULL, OPT_MAX_BODY_MEMORY},
	{"max-connections", required_argument, NULL, OPT_MAX_CONNECTIONS},
	{"mqtt-host", required_argument, NULL, OPT_MQTT_HOST},
	{"mqtt-port", required_argument, NULL, OPT_MQTT_PORT},
	{"mqtt-username", required_argument, NULL, OPT_MQTT_USERNAME},
	{"mqtt-password-file", required_argument, NULL, OPT_MQTT_PASSWORD_FILE},
	{"mqtt-cafile", required_argument, NULL, OPT_MQTT_CAFILE},
	{"mqtt-client-id", required_argument, NULL, OPT_MQTT_CLIENT_ID},
	{"topic-prefix", required_argument, NULL, OPT_TOPIC_PREFIX},
	{"input-prefix", required_argument, NULL, OPT_INPUT_PREFIX},
	{"control-prefix", required_argument, NULL, OPT_CONTROL_PREFIX},
	{"max-message", required_argument, NULL, OPT_MAX_MESSAGE},
	{"database", required_argument, NULL, OPT_DATABASE},
	{"ws-backlog", required_argument, NULL, OPT_WS_BACKLOG},
	{"ws-backlog-bytes", required_argument, NULL, OPT_WS_BACKLOG_BYTES},
	{"ws-ping", required_argument, NULL, OPT_WS_PING},
	{"log-level", required_argument, NULL, OPT_LOG_LEVEL},
	{"console", no_argument, NULL, OPT_CONSOLE},
	{"help", no_argument, NULL, OPT_HELP},
	{"version", no_argument, NULL, OPT_VERSION},
	{"users", required_argument, NULL, OPT_USERS},
	{"session-ttl", required_argument, NULL, OPT_SESSION_TTL},
	{"allowed-origin", required_argument, NULL, OPT_ALLOWED_ORIGIN},
	{"insecure-no-auth", no_argument, NULL, OPT_INSECURE_NO_AUTH},
	{"tls-cert", required_argument, NULL, OPT_TLS_CERT},
	{"tls-key", required_argument, NULL, OPT_TLS_KEY},
	{"hash-password", no_argument, NULL, OPT_HASH_PASSWORD},
	{"server-name", required_argument, NULL, OPT_SERVER_NAME},
	{"max-user-sessions", required_argument, NULL, OPT_MAX_USER_SESSIONS},
	{"login-limit", required_argument, NULL, OPT_LOGIN_LIMIT},
	{"keys", required_argument, NULL, OPT_KEYS},
	{"hide-accuracy-over", required_argument, NULL, OPT_HIDE_ACCURACY_OVER},
	{"hide-speed-over", required_argument, NULL, OPT_HIDE_SPEED_OVER},
	{"tile-url", required_argument, NULL, OPT_TILE_URL},
	{"tile-attribution", required_argument, NULL, OPT_TILE_ATTRIBUTION},
	{"session-secret-file", required_argument, NULL, OPT_SESSION_SECRET_FILE},
	{NULL, 0, NULL, 0},
};

static void defaults(struct bridge_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->http_host = "127.0.0.1";
	cfg->http_port = 8080;
	cfg->mqtt_host = "127.0.0.1";
	cfg->mqtt_port = 1883;
	cfg->mqtt_username = "mytracks-bridge";
	cfg->out_prefix = "mytracks";
	cfg->in_prefix = "owntracks";
	cfg->control_prefix = "mytracks-control";
	cfg->database = "data/mytracks.db";
	cfg->web_root = MYTRACKS_DEFAULT_WEB_ROOT;
	cfg->ws_backlog = 1024;
	cfg->ws_backlog_bytes = 8u << 20;
	cfg->ws_ping = 30;
	cfg->max_body = 64u << 10;
	cfg->max_message = 256u << 10;
	cfg->pub_timeout = 10;
	cfg->request_timeout = 10;
	cfg->body_memory = 4u << 20;
	cfg->max_connections = 1000;
	cfg->log_level = LLL_ERR | LLL_WARN | LLL_USER;
	cfg->session_ttl = 7 * 24 * 3600;
	cfg->max_user_sessions = 16;
	cfg->login_limit = 10;
	cfg->tile_url = TILES_DEFAULT_URL;
	cfg->tile_attribution = TILES_DEFAULT_ATTRIBUTION;
}

bool config_is_loopback(const char *addr)
{
	unsigned char a[16];

	if (inet_pton(AF_INET, addr, a) == 1)
		return a[0] == 127;
	if (inet_pton(AF_INET6, addr, a) == 1) {
		static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0,    0,
							   0, 0, 0, 0, 0xff, 0xff};
		static const unsigned char one[16] = {[15] = 1};

		return !memcmp(a, one, 16) || (!memcmp(a, v4mapped, 12) && a[12] == 127);
	}
	return false;
}

static int bad(const char *opt, const char *fmt, const char *value)
{
	fprintf(stderr, PROG ": --%s: ", opt);
	fprintf(stderr, fmt, value);
	fprintf(stderr, "\n");
	return -1;
}

/* A decimal integer in [min, max], nothing else. */
static int parse_num(const char *opt, const char *s, long long min, long long max, long long *out)
{
	int64_t v;

	if (num_parse(s, min, max, &v))
		goto fail;
	*out = v;
	return 0;
fail:
	fprintf(stderr, PROG ": --%s: expected an integer from %lld to %lld, got '%s'\n", opt, min,
		max, s);
	return -1;
}

/* An MQTT topic prefix, by the plugin's rule (ot_prefix_ok). */
static int parse_prefix(const char *opt, const char *s)
{
	if (!ot_prefix_ok(s))
		return bad(opt,
			   "expected a topic prefix of up to 64 bytes without wildcards, "
			   "control characters or empty levels ('/' at either end, '//'), "
			   "got '%s'",
			   s);
	return 0;
}

static int parse_log_level(const char *s, int *out)
{
	if (!strcmp(s, "error"))
		*out = LLL_ERR;
	else if (!strcmp(s, "warning") || !strcmp(s, "warn"))
		*out = LLL_ERR | LLL_WARN;
	else if (!strcmp(s, "info"))
		*out = LLL_ERR | LLL_WARN | LLL_USER;
	else if (!strcmp(s, "debug"))
		*out = LLL_ERR | LLL_WARN | LLL_NOTICE | LLL_USER | LLL_INFO;
	else
		return bad("log-level", "expected debug, info, warning or error, got '%s'", s);
	return 0;
}

static int read_password(struct bridge_config *cfg, const char *file)
{
	char line[1024];
	FILE *f = fopen(file, "r");
	size_t n;

	if (!f) {
		fprintf(stderr, PROG ": --mqtt-password-file: cannot read '%s': %s%s\n", file,
			strerror(errno),
			errno == ENOENT ? " (the broker's side writes it: start the broker first, "
					  "e.g. mytracks-mosquitto.service or ./my-tracks-server)"
					: "");
		return -1;
	}
	if (!fgets(line, sizeof(line), f))
		line[0] = '\0';
	fclose(f);
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	free(cfg->mqtt_password);
	cfg->mqtt_password = strdup(line);
	return cfg->mqtt_password ? 0 : -1;
}

static int check_readable_file(const char *opt, const char *file)
{
	struct stat st;

	if (stat(file, &st) || !S_ISREG(st.st_mode))
		return bad(opt, "'%s' is not a readable file", file);
	return 0;
}

/* A Host name for --server-name: letters, digits, '-', '.', no port. */
static bool server_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 253 || s[0] == '.' || s[0] == '-')
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.") == n;
}

/* The request-check, session and login options. */
static int apply_websec(struct bridge_config *cfg, int opt, const char *arg)
{
	long long v;

	switch (opt) {
	case OPT_SERVER_NAME:
		if (cfg->n_server_names == CONFIG_MAX_NAMES)
			return bad("server-name", "at most 16 names, '%s' is one too many", arg);
		if (!server_name_ok(arg))
			return bad("server-name", "expected a host name without a port, got '%s'",
				   arg);
		cfg->server_names[cfg->n_server_names++] = arg;
		return 0;
	case OPT_MAX_USER_SESSIONS:
		if (parse_num("max-user-sessions", arg, 1, 4096, &v))
			return -1;
		cfg->max_user_sessions = (int)v;
		return 0;
	case OPT_LOGIN_LIMIT:
		if (parse_num("login-limit", arg, 0, 1000000, &v))
			return -1;
		cfg->login_limit = (int)v;
		return 0;
	case OPT_SESSION_SECRET_FILE: /* its mode and length are checked as it loads */
		if (check_readable_file("session-secret-file", arg))
			return -1;
		cfg->session_secret_file = arg;
		return 0;
	case OPT_KEYS: /* payload encryption; its mode is checked as it loads */
		if (check_readable_file("keys", arg))
			return -1;
		cfg->keys_file = arg;
		return 0;
	}
	return -1;
}

/* Map tile options (issue 16); others go on to apply_websec(). */
static int apply_tiles(struct bridge_config *cfg, int opt, const char *arg)
{
	char err[160];

	switch (opt) {
	case OPT_TILE_URL:
		if (tiles_url_check(arg, err, sizeof(err)))
			return bad("tile-url", "%s (e.g. " TILES_DEFAULT_URL ")", err);
		cfg->tile_url = arg;
		return 0;
	case OPT_TILE_ATTRIBUTION:
		if (tiles_attribution_check(arg, err, sizeof(err)))
			return bad("tile-attribution", "%s", err);
		cfg->tile_attribution = arg;
		return 0;
	}
	return apply_websec(cfg, opt, arg);
}

/* History options (issue 13); others go on to apply_tiles(). */
static int apply_history(struct bridge_config *cfg, int opt, const char *arg)
{
	long long v;

	switch (opt) {
	case OPT_HIDE_ACCURACY_OVER:
		if (parse_num("hide-accuracy-over", arg, 0, 1000000, &v))
			return -1;
		cfg->hide_accuracy_over = (int)v;
		return 0;
	case OPT_HIDE_SPEED_OVER:
		if (parse_num("hide-speed-over", arg, 0, 100000, &v))
			return -1;
		cfg->hide_speed_over = (int)v;
		return 0;
	}
	return apply_tiles(cfg, opt, arg);
}

static int apply(struct bridge_config *cfg, int opt, const char *arg)
{
	long long v;

	switch (opt) {
	case OPT_HTTP_HOST:
		if (!*arg)
			return bad("http-host", "expected an address, got '%s'", arg);
		cfg->http_host = arg;
		return 0;
	case OPT_HTTP_PORT:
		if (parse_num("http-port", arg, 1, 65535, &v))
			return -1;
		cfg->http_port = (int)v;
		return 0;
	case OPT_WEB_ROOT:
		cfg->web_root = arg;
		return 0;
	case OPT_TRUSTED_PROXY:
		if (cfg->n_trusted_proxies == CONFIG_MAX_PROXIES)
			return bad("trusted-proxy", "at most 16 proxies, '%s' is one too many",
				   arg);
		if (!*arg || strlen(arg) > 63)
			return bad("trusted-proxy", "expected an IP address, got '%s'", arg);
		cfg->trusted_proxies[cfg->n_trusted_proxies++] = arg;
		return 0;
	case OPT_MAX_BODY:
		if (parse_num("max-body", arg, 256, 16 << 20, &v))
			return -1;
		cfg->max_body = (size_t)v;
		return 0;
	case OPT_PUB_TIMEOUT:
		if (parse_num("pub-timeout", arg, 1, 3600, &v))
			return -1;
		cfg->pub_timeout = (int)v;
		return 0;
	case OPT_REQUEST_TIMEOUT:
		if (parse_num("request-timeout", arg, 1, 3600, &v))
			return -1;
		cfg->request_timeout = (int)v;
		return 0;
	case OPT_MAX_BODY_MEMORY:
		if (parse_num("max-body-memory", arg, 256, 1LL << 32, &v))
			return -1;
		cfg->body_memory = (size_t)v;
		return 0;
	case OPT_MAX_CONNECTIONS:
		if (parse_num("max-connections", arg, 8, 1 << 20, &v))
			return -1;
		cfg->max_connections = (int)v;
		return 0;
	case OPT_MQTT_HOST:
		if (!*arg)
			return bad("mqtt-host", "expected a host name or address, got '%s'", arg);
		cfg->mqtt_host = arg;
		return 0;
	case OPT_MQTT_PORT:
		if (parse_num("mqtt-port", arg, 1, 65535, &v))
			return -1;
		cfg->mqtt_port = (int)v;
		return 0;
	case OPT_MQTT_USERNAME:
		cfg->mqtt_username = arg;
		return 0;
	case OPT_MQTT_PASSWORD_FILE:
		return read_password(cfg, arg);
	case OPT_MQTT_CAFILE:
		if (check_readable_file("mqtt-cafile", arg))
			return -1;
		cfg->mqtt_cafile = arg;
		return 0;
	case OPT_MQTT_CLIENT_ID:
		if (!*arg || strlen(arg) > 64)
			return bad("mqtt-client-id", "expected 1 to 64 characters, got '%s'", arg);
		cfg->mqtt_client_id = arg;
		return 0;
	case OPT_TOPIC_PREFIX:
		if (parse_prefix("topic-prefix", arg))
			return -1;
		cfg->out_prefix = arg;
		return 0;
	case OPT_INPUT_PREFIX:
		if (parse_prefix("input-prefix", arg))
			return -1;
		cfg->in_prefix = arg;
		return 0;
	case OPT_CONTROL_PREFIX:
		if (parse_prefix("control-prefix", arg))
			return -1;
		cfg->control_prefix = arg;
		return 0;
	case OPT_MAX_MESSAGE:
		if (parse_num("max-message", arg, 1024, 64 << 20, &v))
			return -1;
		cfg->max_message = (size_t)v;
		return 0;
	case OPT_DATABASE:
		if (!*arg)
			return bad("database",
				   "expected a file name or a connection string, got '%s'", arg);
		cfg->database = arg;
		return 0;
	case OPT_WS_BACKLOG:
		if (parse_num("ws-backlog", arg, 2, 1 << 20, &v))
			return -1;
		cfg->ws_backlog = (size_t)v;
		return 0;
	case OPT_WS_BACKLOG_BYTES:
		if (parse_num("ws-backlog-bytes", arg, 4096, 1LL << 32, &v))
			return -1;
		cfg->ws_backlog_bytes = (size_t)v;
		return 0;
	case OPT_WS_PING:
		if (parse_num("ws-ping", arg, 1, 3600, &v))
			return -1;
		cfg->ws_ping = (int)v;
		return 0;
	case OPT_LOG_LEVEL:
		return parse_log_level(arg, &cfg->log_level);
	case OPT_CONSOLE:
		cfg->console = true;
		return 0;
	case OPT_USERS:
		if (check_readable_file("users", arg))
			return -1;
		cfg->users_file = arg;
		return 0;
	case OPT_SESSION_TTL:
		if (parse_num("session-ttl", arg, 10, 366LL * 24 * 3600, &v))
			return -1;
		cfg->session_ttl = (int)v;
		return 0;
	case OPT_ALLOWED_ORIGIN:
		if (cfg->n_allowed_origins == CONFIG_MAX_ORIGINS)
			return bad("allowed-origin", "at most 16 origins, '%s' is one too many",
				   arg);
		if ((strncmp(arg, "http://", 7) && strncmp(arg, "https://", 8)) ||
		    strlen(arg) > 200 || arg[strlen(arg) - 1] == '/')
			return bad("allowed-origin",
				   "expected scheme://host[:port] without a path, got '%s'", arg);
		cfg->allowed_origins[cfg->n_allowed_origins++] = arg;
		return 0;
	case OPT_INSECURE_NO_AUTH:
		cfg->insecure_no_auth = true;
		return 0;
	case OPT_TLS_CERT:
		if (check_readable_file("tls-cert", arg))
			return -1;
		cfg->tls_cert = arg;
		return 0;
	case OPT_TLS_KEY:
		if (check_readable_file("tls-key", arg))
			return -1;
		cfg->tls_key = arg;
		return 0;
	default:
		return apply_history(cfg, opt, arg);
	}
	return -1;
}

enum config_result config_parse(struct bridge_config *cfg, int argc, char **argv)
{
	struct stat st;
	int opt;

	defaults(cfg);
	opterr = 0;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":", long_options, NULL)) != -1) {
		switch (opt) {
		case OPT_HELP:
			fputs(usage_text, stdout);
			return CONFIG_EXIT_OK;
		case OPT_VERSION:
			printf(PROG " %s (libwebsockets %s)\n", MYTRACKS_VERSION,
			       lws_get_library_version());
			return CONFIG_EXIT_OK;
		case OPT_HASH_PASSWORD:
			return CONFIG_HASH_PASSWORD;
		case '?':
			if (optopt)
				fprintf(stderr, PROG ": option '%s' takes no value\n",
					argv[optind - 1]);
			else
				fprintf(stderr, PROG ": unknown option '%s' (see --help)\n",
					argv[optind - 1]);
			return CONFIG_ERROR;
		case ':':
			fprintf(stderr, PROG ": option '%s' needs a value\n", argv[optind - 1]);
			return CONFIG_ERROR;
		default:
			if (apply(cfg, opt, optarg))
				return CONFIG_ERROR;
		}
	}
	if (optind < argc) {
		fprintf(stderr, PROG ": unexpected argument '%s' (see --help)\n", argv[optind]);
		return CONFIG_ERROR;
	}
	if (cfg->ws_backlog_bytes < cfg->max_message) {
		fprintf(stderr,
			PROG ": --ws-backlog-bytes (%zu) must be at least --max-message "
			     "(%zu)\n",
			cfg->ws_backlog_bytes, cfg->max_message);
		return CONFIG_ERROR;
	}
	if (cfg->body_memory < cfg->max_body) {
		fprintf(stderr,
			PROG ": --max-body-memory (%zu) must be at least --max-body (%zu)\n",
			cfg->body_memory, cfg->max_body);
		return CONFIG_ERROR;
	}
	if (!cfg->tls_cert != !cfg->tls_key) {
		fprintf(stderr, PROG ": --tls-cert and --tls-key go together\n");
		return CONFIG_ERROR;
	}
	if (cfg->session_secret_file && !cfg->users_file) {
		fprintf(stderr, PROG ": --session-secret-file needs --users (it signs logins)\n");
		return CONFIG_ERROR;
	}
	if (!cfg->users_file && !cfg->insecure_no_auth && !config_is_loopback(cfg->http_host)) {
		fprintf(stderr,
			PROG ": --http-host %s is not a loopback address: give --users FILE "
			     "to require a login, or --insecure-no-auth to serve everyone's "
			     "locations to anyone who can connect\n",
			cfg->http_host);
		return CONFIG_ERROR;
	}
	if (tiles_csp_source(cfg->tile_url, cfg->tile_csp_source, sizeof(cfg->tile_csp_source)) <
	    0) {
		fprintf(stderr, PROG ": --tile-url: no origin for the Content-Security-Policy\n");
		return CONFIG_ERROR;
	}
	if (cfg->tls_cert && !strncmp(cfg->tile_url, "http://", 7))
		fprintf(stderr, PROG ": warning: --tile-url is http:// but the page is served over "
				     "HTTPS: browsers block or upgrade such images\n");
	if (stat(cfg->web_root, &st) || !S_ISDIR(st.st_mode))
		fprintf(stderr,
			PROG ": warning: --web-root '%s' is not a directory; static files "
			     "will be 404\n",
			cfg->web_root);
	return CONFIG_OK;
}

void config_free(struct bridge_config *cfg)
{
	free(cfg->mqtt_password);
	cfg->mqtt_password = NULL;
}

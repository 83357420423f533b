/* main: mytracks-bridge start-up, the lws event loop, and shutdown.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * Threads: the lws thread (this one) owns HTTP, WebSocket, the relay
 * ring, the database and all counters; libmosquitto runs its own thread
 * and hands messages over through the bridge's queue (see mqtt.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <libwebsockets.h>

#include "bridge.h"
#include "config.h"
#include "http.h"
#include "inbox.h"
#include "log.h"
#include "mqtt.h"
#include "otcrypto.h"
#include "sqldb.h"
#include "tiles.h"
#include "utf8.h"
#include "ws.h"

/* Bytes the MQTT thread may have queued before it waits for the lws thread. */
#define QUEUE_MAX_BYTES (16u << 20)

/* Descriptors kept apart from connections: stdio, syslog, the database and
 * its WAL, the MQTT socket and libmosquitto's pipes, lws's listen sockets
 * and cancel pipe, files opened by crypt or getrandom. */
#define FD_RESERVE 64
/* Descriptors per connection: its socket, and a static file being sent. */
#define FD_PER_CONNECTION 2
/* lws counts its listen socket and cancel pipe among its own fds. */
#define LWS_OWN_FDS 4

/* Signal handling is the only global state: the handler needs the context. */
static volatile sig_atomic_t stop_requested;
static struct lws_context *volatile signal_ctx;
/* SIGHUP: set by the handler (on any thread), taken by the 1 s tick on the
 * lws thread, which re-reads --users and --keys. The handler does nothing
 * else. */
static atomic_int reload_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
	if (signal_ctx)
		lws_cancel_service(signal_ctx);
}

static void on_sighup(int sig)
{
	(void)sig;
	atomic_store(&reload_requested, 1);
}

static const struct lws_protocol_vhost_options mime_webmanifest = {NULL, NULL, ".webmanifest",
								   "application/manifest+json"};
static const struct lws_protocol_vhost_options mime_map = {&mime_webmanifest, NULL, ".map",
							   "application/json"};
static const struct lws_protocol_vhost_options mime_mjs = {&mime_map, NULL, ".mjs",
							   "text/javascript"};
static const struct lws_protocol_vhost_options mime_json = {&mime_mjs, NULL, ".json",
							    "application/json"};
static const struct lws_protocol_vhost_options mime_webp = {&mime_json, NULL, ".webp",
							    "image/webp"};

/* Added to every HTTP response, after the Content-Security-Policy that
 * main() builds from --tile-url (tiles_csp(): the page's own files, the
 * tile server's origin, and WebSocket/fetch back to this server). */
static const struct lws_protocol_vhost_options hdr_referrer = {NULL, NULL,
							       "referrer-policy:", "no-referrer"};
static const struct lws_protocol_vhost_options hdr_frame = {&hdr_referrer, NULL,
							    "x-frame-options:", "DENY"};
static const struct lws_protocol_vhost_options headers = {&hdr_frame, NULL,
							  "x-content-type-options:", "nosniff"};

/* Dynamic endpoints are callback mounts; everything else is a file. */
#define CB_MOUNT(var, next, point)                                                                 \
	static const struct lws_http_mount var = {                                                 \
		.mount_next = next,                                                                \
		.mountpoint = point,                                                               \
		.origin = HTTP_PROTOCOL_NAME,                                                      \
		.origin_protocol = LWSMPRO_CALLBACK,                                               \
		.mountpoint_len = sizeof(point) - 1,                                               \
	}
CB_MOUNT(mount_metrics, NULL, "/metrics");
CB_MOUNT(mount_healthz, &mount_metrics, "/healthz");
CB_MOUNT(mount_pub, &mount_healthz, "/pub");
CB_MOUNT(mount_logout, &mount_pub, "/logout");
CB_MOUNT(mount_login, &mount_logout, "/login");
CB_MOUNT(mount_api, &mount_pub, "/api");
CB_MOUNT(mount_api_auth, &mount_login, "/api");

/* With --users the page itself needs a session: "/" is a callback mount
 * (serving index.html or redirecting to /login) and only the page's
 * assets, which hold no data, are plain files. */
static void auth_mounts(struct bridge *b)
{
	static const char *const dirs[3] = {"/js", "/css", "/node_modules"};
	const struct lws_http_mount *next = &mount_api_auth;
	int i;

	for (i = 0; i < 3; i++) {
		snprintf(b->asset_dir[i], sizeof(b->asset_dir[i]), "%s%s", b->cfg->web_root,
			 dirs[i]);
		b->mount_asset[i] = (struct lws_http_mount){
			.mount_next = next,
			.mountpoint = dirs[i],
			.origin = b->asset_dir[i],
			.origin_protocol = LWSMPRO_FILE,
			.mountpoint_len = (unsigned char)strlen(dirs[i]),
			.extra_mimetypes = &mime_webp,
		};
		next = &b->mount_asset[i];
	}
	b->mount_root = (struct lws_http_mount){
		.mount_next = next,
		.mountpoint = "/",
		.origin = HTTP_PROTOCOL_NAME,
		.origin_protocol = LWSMPRO_CALLBACK,
		.mountpoint_len = 1,
	};
}

/* Without --console: syslog, and errors on stderr too, so a failed start
 * says why where it was started. */
static void emit_syslog_cb(int level, const char *line)
{
	lwsl_emit_syslog(level, line);
	if (level & LLL_ERR)
		fprintf(stderr, "mytracks-bridge: %s", line);
}

/* SIGHUP: re-read --users. A file that does not parse keeps the users
 * loaded; otherwise the sockets of sessions that ended (users gone, new
 * passwords) are closed now. */
static void reload_users(struct bridge *b)
{
	char err[1024], esc[UTF8_LOG_LEN(1024)];
	int ended = 0;

	if (!b->auth_on) {
		if (!b->cfg->keys_file)
			log_info("bridge", "SIGHUP: no --users or --keys file to re-read");
		return;
	}
	if (auth_reload(&b->auth, b->cfg->users_file, &ended, err, sizeof(err))) {
		b->metrics.users_reload_errors++;
		log_err("bridge", "users file not reloaded, kept %d users: %s", b->auth.n_users,
			utf8_log_str(esc, sizeof(esc), err));
		return;
	}
	b->metrics.users_reloads++;
	b->metrics.users = (uint64_t)b->auth.n_users;
	log_info("bridge", "users file reloaded: %d users, %d sessions ended", b->auth.n_users,
		 ended);
	ws_close_ended_sessions(b);
}

/* SIGHUP: re-read --keys; a file that is refused keeps the keys loaded.
 * Keys are looked up per request, never kept across callbacks. */
static void reload_keys(struct bridge *b)
{
	char err[512];
	struct otkeys *k;

	if (!b->cfg->keys_file)
		return;
	k = otkeys_load(b->cfg->keys_file, err, sizeof(err));
	if (!k) {
		log_err("bridge", "keys file not reloaded, kept %zu keys: %s",
			otkeys_count(b->keys), err);
		return;
	}
	otkeys_free(b->keys);
	b->keys = k;
	log_info("bridge", "keys file reloaded: %zu keys", otkeys_count(k));
}

static void tick_cb(lws_sorted_usec_list_t *sul)
{
	struct bridge *b = lws_container_of(sul, struct bridge, tick);

	if (atomic_exchange(&reload_requested, 0)) {
		reload_users(b);
		reload_keys(b);
	}
	http_reports_expire(b, (int64_t)lws_now_secs());
	ws_close_ended_sessions(b);
	lws_sul_schedule(b->lws, 0, &b->tick, tick_cb, LWS_US_PER_SEC);
}

/* Make room for --max-connections under RLIMIT_NOFILE, raising the soft
 * limit up to the hard one, or lower --max-connections to fit. lws stops
 * polling its listen socket when it holds that many connections (further
 * clients wait in the kernel's backlog), so accept() never meets EMFILE
 * and never spins on it. Returns 0, or -1 when not even a few fit. */
static int fit_fd_limit(struct bridge_config *cfg)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)cfg->max_connections * FD_PER_CONNECTION + FD_RESERVE;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return 0; /* cannot tell: leave it to the defaults */
	if (rl.rlim_cur < need) {
		struct rlimit want = rl;

		want.rlim_cur =
			rl.rlim_max == RLIM_INFINITY || rl.rlim_max > need ? need : rl.rlim_max;
		if (!setrlimit(RLIMIT_NOFILE, &want))
			rl = want;
	}
	if (rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_cur < FD_RESERVE + 8 * FD_PER_CONNECTION) {
		fprintf(stderr,
			"mytracks-bridge: the open-files limit (%llu) leaves no room for "
			"connections: raise it (ulimit -n)\n",
			(unsigned long long)rl.rlim_cur);
		return -1;
	}
	fprintf(stderr,
		"mytracks-bridge: warning: --max-connections lowered from %d to %d to fit the "
		"open-files limit (%llu)\n",
		cfg->max_connections, (int)((rl.rlim_cur - FD_RESERVE) / FD_PER_CONNECTION),
		(unsigned long long)rl.rlim_cur);
	cfg->max_connections = (int)((rl.rlim_cur - FD_RESERVE) / FD_PER_CONNECTION);
	return 0;
}

/* Say clearly when the HTTP port is taken, before lws tries. */
static int check_listen(const struct bridge_config *cfg)
{
	struct addrinfo hints = {0}, *ai = NULL;
	char port[8];
	int fd, rc, one = 1, err;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_PASSIVE;
	snprintf(port, sizeof(port), "%d", cfg->http_port);
	rc = getaddrinfo(cfg->http_host, port, &hints, &ai);
	if (rc) {
		fprintf(stderr, "mytracks-bridge: --http-host '%s': not an IP address (%s)\n",
			cfg->http_host, gai_strerror(rc));
		return -1;
	}
	fd = socket(ai->ai_family, SOCK_STREAM, 0);
	if (fd < 0) {
		freeaddrinfo(ai);
		return 0; /* let lws report it */
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	rc = bind(fd, ai->ai_addr, ai->ai_addrlen);
	err = errno;
	close(fd);
	freeaddrinfo(ai);
	if (rc) {
		fprintf(stderr,
			"mytracks-bridge: cannot listen on %s port %d (--http-host/--http-port): "
			"%s\n",
			cfg->http_host, cfg->http_port, strerror(err));
		return -1;
	}
	return 0;
}

static int bridge_init(struct bridge *b, const struct bridge_config *cfg)
{
	int n;

	memset(b, 0, sizeof(*b));
	b->cfg = cfg;
	b->startup = (int64_t)time(NULL);
	b->metrics.start_time = b->startup;
	n = snprintf((char *)b->welcome + LWS_PRE, sizeof(b->welcome) - LWS_PRE,
		     "{\"type\":\"welcome\",\"server_startup\":%lld}", (long long)b->startup);
	b->welcome_len = (size_t)n;
	db_init(&b->db, cfg->database);
	friends_init(&b->friends, cfg->in_prefix);
	if (queue_init(&b->queue, QUEUE_MAX_BYTES))
		return -1;
	if (relay_init(&b->relay, cfg->ws_backlog, cfg->ws_backlog_bytes)) {
		queue_free(&b->queue);
		return -1;
	}
	return 0;
}

/* `hdrs`: the headers every response carries; they must outlive the
 * context. */
static struct lws_context *create_lws(struct bridge *b,
				      const struct lws_protocol_vhost_options *hdrs)
{
	const struct bridge_config *cfg = b->cfg;
	struct lws_context_creation_info info;

	memset(&info, 0, sizeof(info));
	/* index 0 is the default for WebSocket upgrades without a subprotocol */
	b->protocols[0] = (struct lws_protocols){
		.name = WS_PROTOCOL_NAME,
		.callback = ws_callback,
		.per_session_data_size = ws_session_size(),
		.rx_buffer_size = 4096,
	};
	b->protocols[1] = (struct lws_protocols){
		.name = HTTP_PROTOCOL_NAME,
		.callback = http_callback,
		.per_session_data_size = http_session_size(),
	};
	b->retry.secs_since_valid_ping = (uint16_t)cfg->ws_ping;
	b->retry.secs_since_valid_hangup = (uint16_t)(2 * cfg->ws_ping);
	b->mount_files = (struct lws_http_mount){
		.mount_next = &mount_api,
		.mountpoint = "/",
		.origin = cfg->web_root,
		.def = "index.html",
		.origin_protocol = LWSMPRO_FILE,
		.mountpoint_len = 1,
		.extra_mimetypes = &mime_webp,
	};
	info.port = cfg->http_port;
	info.iface = cfg->http_host;
	info.protocols = b->protocols;
	info.mounts = &b->mount_files;
	if (b->auth_on) {
		auth_mounts(b);
		info.mounts = &b->mount_root;
	}
	if (cfg->tls_cert) {
		info.options |= LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
		info.ssl_cert_filepath = cfg->tls_cert;
		info.ssl_private_key_filepath = cfg->tls_key;
		/* the endpoints answer in HTTP/1.1 only: lws 4.1.6 sends their
		 * responses empty over h2, so h2 is never offered */
		info.alpn = "http/1.1";
	}
	/* headers within --request-timeout of the request's start; a body
	 * silent that long is cut by lws, its total deadline is http.c's */
	info.timeout_secs = (unsigned)cfg->request_timeout;
	info.timeout_secs_ah_idle = (unsigned)cfg->request_timeout;
	info.fd_limit_per_thread = (unsigned)cfg->max_connections + LWS_OWN_FDS;
	info.headers = hdrs;
	info.user = b;
	info.retry_and_idle_policy = &b->retry;
	info.options |= LWS_SERVER_OPTION_VALIDATE_UTF8;
	/* lws binds an IPv4 address only on an IPv4 socket */
	if (!strchr(cfg->http_host, ':'))
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	info.server_string = "mytracks";
	return lws_create_context(&info);
}

/* --keys: the payload encryption keys, read at start (and on SIGHUP,
 * reload_keys()). Returns 0, or -1 after logging why (never a secret). */
static int load_keys(struct bridge *b, const struct bridge_config *cfg)
{
	char err[512];

	if (!cfg->keys_file)
		return 0;
	b->keys = otkeys_load(cfg->keys_file, err, sizeof(err));
	if (!b->keys) {
		log_err("bridge", "--keys: %s", err);
		return -1;
	}
	log_info("bridge", "payload encryption: %zu keys from %s", otkeys_count(b->keys),
		 cfg->keys_file);
	return 0;
}

/* --users (and --session-secret-file): sessions and logins, or a warning
 * when the page is open to everyone beyond loopback. 0, or -1 after
 * saying why (the users are freed then). */
static int load_users(struct bridge *b, const struct bridge_config *cfg)
{
	char err[1024];

	if (!cfg->users_file) {
		if (!config_is_loopback(cfg->http_host))
			log_warn("bridge",
				 "--insecure-no-auth: anyone who can reach %s:%d sees every "
				 "location",
				 cfg->http_host, cfg->http_port);
		return 0;
	}
	if (auth_load(&b->auth, cfg->users_file, cfg->session_ttl, cfg->max_user_sessions,
		      cfg->login_limit)) {
		auth_free(&b->auth);
		return -1;
	}
	if (cfg->session_secret_file &&
	    auth_secret_load(&b->auth, cfg->session_secret_file, err, sizeof(err))) {
		fprintf(stderr, "mytracks-bridge: --session-secret-file %s\n", err);
		auth_free(&b->auth);
		return -1;
	}
	if (cfg->session_secret_file)
		log_info("bridge",
			 "sessions: signed cookies, valid on every bridge with the secret of %s",
			 cfg->session_secret_file);
	b->auth_on = true;
	b->metrics.users = (uint64_t)b->auth.n_users;
	log_info("bridge", "login required: %d users from %s", b->auth.n_users, cfg->users_file);
	return 0;
}

/* Stop the MQTT client, then lws, and free everything bridge_init() and
 * the start made; safe after any failure of the start. */
static void teardown(struct bridge *b)
{
	queue_close(&b->queue);
	mqtt_stop(b->mqtt);
	log_debug("bridge", "MQTT client stopped");
	if (b->lws) {
		signal_ctx = NULL;
		lws_sul_cancel(&b->tick);
		lws_sul_cancel(&b->drain_retry);
		lws_context_destroy(b->lws);
	}
	inbox_drop(b);
	relay_free(&b->relay);
	queue_free(&b->queue);
	friends_free(&b->friends);
	db_close(&b->db);
	auth_free(&b->auth);
	otkeys_free(b->keys);
}

int main(int argc, char **argv)
{
	struct bridge_config cfg;
	struct bridge b;
	char csp[TILES_CSP_MAX], dbname[256];
	struct lws_protocol_vhost_options hdr_csp = {&headers, NULL,
						     "content-security-policy:", csp};
	int rc = 1;

	switch (config_parse(&cfg, argc, argv)) {
	case CONFIG_OK:
		break;
	case CONFIG_EXIT_OK:
		config_free(&cfg);
		return 0;
	case CONFIG_ERROR:
		config_free(&cfg);
		return 2;
	case CONFIG_HASH_PASSWORD:
		config_free(&cfg);
		return auth_hash_password();
	}
	lws_set_log_level(cfg.log_level, cfg.console ? lwsl_emit_stderr : emit_syslog_cb);
	/* from now on SIGHUP only asks for a reload, taken once running */
	signal(SIGHUP, on_sighup);
	if (fit_fd_limit(&cfg) || check_listen(&cfg)) {
		config_free(&cfg);
		return 1;
	}
	if (bridge_init(&b, &cfg)) {
		log_err("bridge", "out of memory");
		config_free(&cfg);
		return 1;
	}
	if (load_users(&b, &cfg) || load_keys(&b, &cfg)) {
		rc = 2;
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);

	if (tiles_csp(cfg.tile_csp_source, csp, sizeof(csp)) < 0) {
		log_err("bridge", "--tile-url: the Content-Security-Policy does not fit");
		goto out;
	}
	b.lws = create_lws(&b, &hdr_csp);
	if (!b.lws) {
		log_err("bridge", "cannot start the HTTP server on %s:%d", cfg.http_host,
			cfg.http_port);
		goto out;
	}
	b.queue.lws = b.lws;
	signal_ctx = b.lws;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	b.mqtt = mqtt_start(&b);
	if (!b.mqtt)
		goto out;
	lws_sul_schedule(b.lws, 0, &b.tick, tick_cb, LWS_US_PER_SEC);
	sqldb_redact(cfg.database, dbname, sizeof(dbname)); /* never the password */
	log_info("bridge", "listening on http%s://%s:%d/ (WebSocket %s), broker %s:%d, database %s",
		 cfg.tls_cert ? "s" : "", cfg.http_host, cfg.http_port, WS_PATH, cfg.mqtt_host,
		 cfg.mqtt_port, dbname);

	while (!stop_requested)
		if (lws_service(b.lws, 0) < 0)
			break;
	log_info("bridge", "shutting down");
	rc = 0;
out:
	teardown(&b);
	config_free(&cfg);
	return rc;
}

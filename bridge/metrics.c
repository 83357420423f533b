/* metrics: the bridge's counters and their Prometheus text rendering.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "metrics.h"

#include <ctype.h>
#include <string.h>

#include <cjson/cJSON.h>

void metrics_set_plugin_stats(struct metrics *m, const char *json, size_t len)
{
	cJSON *doc = cJSON_ParseWithLength(json, len), *it;
	int n = 0;

	if (!cJSON_IsObject(doc)) {
		cJSON_Delete(doc);
		return;
	}
	cJSON_ArrayForEach(it, doc)
	{
		size_t i, k = 0;

		if (n == METRICS_MAX_PLUGIN)
			break;
		if (!cJSON_IsNumber(it) || !it->string)
			continue;
		/* Prometheus names: [a-zA-Z0-9_] */
		for (i = 0; it->string[i] && k < sizeof(m->plugin[n].name) - 1; i++) {
			unsigned char c = (unsigned char)it->string[i];

			m->plugin[n].name[k++] = (char)(isalnum(c) && c < 128 ? c : '_');
		}
		if (!k)
			continue;
		m->plugin[n].name[k] = '\0';
		m->plugin[n].value = it->valuedouble;
		n++;
	}
	m->n_plugin = n;
	cJSON_Delete(doc);
}

static void metric(struct jbuf *out, const char *name, const char *type, const char *help,
		   uint64_t v)
{
	jbuf_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name, help, name, type, name,
		    (unsigned long long)v);
}

void metrics_render(const struct metrics *m, struct jbuf *out)
{
	int i;

	metric(out, "mytracks_bridge_start_time_seconds", "gauge", "Unix time the bridge started.",
	       (uint64_t)m->start_time);
	metric(out, "mytracks_bridge_broker_connected", "gauge",
	       "1 when connected and subscribed to the broker.", m->broker_up);
	metric(out, "mytracks_bridge_broker_connects_total", "counter",
	       "Successful connections to the broker.", m->broker_connects);
	metric(out, "mytracks_bridge_database_available", "gauge",
	       "1 when the history database is open.", m->db_up);
	metric(out, "mytracks_bridge_ws_clients", "gauge", "Connected WebSocket clients.",
	       m->ws_clients);
	metric(out, "mytracks_bridge_ws_connections_total", "counter",
	       "WebSocket connections accepted.", m->ws_connections);
	metric(out, "mytracks_bridge_ws_refused_total", "counter",
	       "WebSocket upgrades refused (wrong path).", m->ws_refused);
	metric(out, "mytracks_bridge_ws_clients_cut_off_total", "counter",
	       "WebSocket clients cut off because they fell too far behind.", m->ws_cut_off);
	metric(out, "mytracks_bridge_ws_frames_sent_total", "counter",
	       "WebSocket frames written to clients.", m->ws_frames_sent);
	metric(out, "mytracks_bridge_messages_relayed_total", "counter",
	       "Broker messages framed and relayed to WebSocket clients.", m->relayed);
	metric(out, "mytracks_bridge_mqtt_messages_received_total", "counter",
	       "Messages received from the broker.", m->mqtt_received);
	metric(out, "mytracks_bridge_mqtt_messages_dropped_total", "counter",
	       "Broker messages not relayed (not a JSON object, too large).", m->mqtt_dropped);
	metric(out, "mytracks_bridge_http_requests_total", "counter",
	       "HTTP requests handled by the bridge's endpoints.", m->http_requests);
	metric(out, "mytracks_bridge_http_timeouts_total", "counter",
	       "Requests whose body was not complete within --request-timeout (408).",
	       m->http_timeouts);
	metric(out, "mytracks_bridge_http_shed_total", "counter",
	       "Requests refused because unfinished bodies held --max-body-memory (503).",
	       m->http_shed);
	metric(out, "mytracks_bridge_deletes_total", "counter",
	       "Deletes the plugin committed for POST /api/delete.", m->deletes);
	jbuf_puts(out, "# HELP mytracks_bridge_http_reports_total OwnTracks HTTP-mode reports by "
		       "result.\n# TYPE mytracks_bridge_http_reports_total counter\n");
	jbuf_printf(out, "mytracks_bridge_http_reports_total{result=\"accepted\"} %llu\n",
		    (unsigned long long)m->reports_accepted);
	jbuf_printf(out, "mytracks_bridge_http_reports_total{result=\"invalid\"} %llu\n",
		    (unsigned long long)m->reports_invalid);
	jbuf_printf(out, "mytracks_bridge_http_reports_total{result=\"unavailable\"} %llu\n",
		    (unsigned long long)m->reports_unavailable);
	metric(out, "mytracks_bridge_http_reports_decrypted_total", "counter",
	       "Encrypted HTTP-mode reports decrypted with a --keys key.", m->reports_decrypted);
	metric(out, "mytracks_bridge_http_reports_undecryptable_total", "counter",
	       "Encrypted HTTP-mode reports without a key or with a wrong key (published as sent).",
	       m->reports_undecryptable);
	metric(out, "mytracks_bridge_api_errors_total", "counter",
	       "History API requests answered with an error.", m->api_errors);
	metric(out, "mytracks_bridge_host_refused_total", "counter",
	       "Requests refused for a Host that is not this server's.", m->host_refused);
	metric(out, "mytracks_bridge_origin_refused_total", "counter",
	       "POST requests refused for a foreign Origin.", m->origin_refused);
	metric(out, "mytracks_bridge_login_failed_total", "counter",
	       "Failed logins and HTTP-mode credential checks.", m->login_failed);
	metric(out, "mytracks_bridge_login_limited_total", "counter",
	       "Logins refused with 429 after too many failures.", m->login_limited);
	metric(out, "mytracks_bridge_basic_auth_cached_total", "counter",
	       "HTTP-mode credentials taken from the verified cache, without crypt.",
	       m->basic_cached);
	metric(out, "mytracks_bridge_ws_session_closed_total", "counter",
	       "WebSockets closed because their login session ended.", m->ws_session_closed);
	metric(out, "mytracks_bridge_users", "gauge", "Users loaded from the --users file.",
	       m->users);
	metric(out, "mytracks_bridge_users_reloads_total", "counter",
	       "Users file re-read on SIGHUP.", m->users_reloads);
	metric(out, "mytracks_bridge_users_reload_errors_total", "counter",
	       "SIGHUP reloads refused (file unreadable or invalid); the old users stay.",
	       m->users_reload_errors);
	for (i = 0; i < m->n_plugin; i++)
		jbuf_printf(out, "# TYPE mytracks_plugin_%s gauge\nmytracks_plugin_%s %.17g\n",
			    m->plugin[i].name, m->plugin[i].name, m->plugin[i].value);
}

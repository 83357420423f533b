/* log: the bridge's log lines, through libwebsockets' logger.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * Every line names the component that speaks ("mqtt: ...", "http: ...").
 * Levels map onto lws's: errors LLL_ERR, warnings LLL_WARN, information
 * LLL_USER, debug LLL_INFO (enabled by --log-level debug together with
 * lws's own notices and information).
 */
#ifndef MYTRACKS_BRIDGE_LOG_H
#define MYTRACKS_BRIDGE_LOG_H

#include <libwebsockets.h>

#define log_err(comp, fmt, ...) _lws_log(LLL_ERR, comp ": " fmt "\n", ##__VA_ARGS__)
#define log_warn(comp, fmt, ...) _lws_log(LLL_WARN, comp ": " fmt "\n", ##__VA_ARGS__)
#define log_info(comp, fmt, ...) _lws_log(LLL_USER, comp ": " fmt "\n", ##__VA_ARGS__)
#define log_debug(comp, fmt, ...) _lws_log(LLL_INFO, comp ": " fmt "\n", ##__VA_ARGS__)

#endif

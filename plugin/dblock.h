/* dblock: one plugin per database, enforced with a lock file next to it.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 *
 * Two brokers storing into one SQLite file would hand out the same row
 * ids and lose each other's reports. The plugin takes an exclusive
 * flock(2) on "<database>.lock" before it opens the database and keeps
 * it for its lifetime; the kernel drops it when the process ends, however
 * it ends. The holder's PID is written into the file for the message a
 * second instance prints.
 */
#ifndef MYTRACKS_DBLOCK_H
#define MYTRACKS_DBLOCK_H

#include <stddef.h>

/* Take the lock for the database at `db_path`. Returns the lock's file
 * descriptor (>= 0), to be given to dblock_release(); or -1 with `err`
 * saying why (held by another process, with its PID when known; or the
 * file cannot be created). */
int dblock_acquire(const char *db_path, char *err, size_t errlen);

/* Release and close; -1 is ignored. */
void dblock_release(int fd);

#endif

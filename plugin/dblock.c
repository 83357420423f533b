/* dblock: one plugin per database, enforced with a lock file next to it.
 *
 * Part of mytracks. SPDX-License-Identifier: MIT
 */
#include "dblock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

/* The PID written by the holder, or 0 when the file holds none. */
static long holder_pid(int fd)
{
	char buf[32];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	char *end;
	long pid;

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	pid = strtol(buf, &end, 10);
	return end != buf && pid > 0 ? pid : 0;
}

int dblock_acquire(const char *db_path, char *err, size_t errlen)
{
	size_t n = strlen(db_path);
	char *path = malloc(n + sizeof(".lock"));
	char pid[32];
	int fd, len;

	if (!path) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memcpy(path, db_path, n);
	memcpy(path + n, ".lock", sizeof(".lock"));
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s (the database's lock file): %s", path,
			 strerror(errno));
		goto fail;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		long holder = errno == EWOULDBLOCK ? holder_pid(fd) : 0;

		if (errno != EWOULDBLOCK)
			snprintf(err, errlen, "cannot lock %s: %s", path, strerror(errno));
		else if (holder)
			snprintf(err, errlen,
				 "database %s is in use by another process (pid %ld holds %s); "
				 "refusing to start: two brokers on one database lose reports",
				 db_path, holder, path);
		else
			snprintf(err, errlen,
				 "database %s is in use by another process (it holds %s); "
				 "refusing to start: two brokers on one database lose reports",
				 db_path, path);
		close(fd);
		fd = -1;
		goto fail;
	}
	len = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)len, 0) != len) {
		/* The lock holds without the PID: only the message loses it. */
	}
fail:
	free(path);
	return fd;
}

void dblock_release(int fd)
{
	if (fd < 0)
		return;
	flock(fd, LOCK_UN);
	close(fd);
}

/*
 * An exec on a pseudo-terminal (Exec.pty): the terminal is opened here in
 * the handler, its slave becomes the program's stdin, stdout, stderr and
 * controlling terminal (exec_spawn.c), and the handler keeps the master:
 * what the program writes is read there as stdout, Stdin frames are typed
 * there, a Resize sets the window size there (the kernel sends SIGWINCH to
 * the terminal's foreground group), and the end of stdin is the terminal's
 * EOF character, not a close (a terminal has no half-close).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "agent/exec.h"

#define PTY_DEFAULT_ROWS 24
#define PTY_DEFAULT_COLS 80
#define PTY_MAX_SIZE 10000 /* rows or cols past this are clamped */

static unsigned short pty_dimension(uint32_t value, unsigned short fallback)
{
	if (value == 0)
		return fallback;
	return (unsigned short)(value > PTY_MAX_SIZE ? PTY_MAX_SIZE : value);
}

int agent_pty_resize(int master, uint32_t rows, uint32_t cols)
{
	struct winsize ws = {.ws_row = pty_dimension(rows, PTY_DEFAULT_ROWS),
			     .ws_col = pty_dimension(cols, PTY_DEFAULT_COLS)};

	return ioctl(master, TIOCSWINSZ, &ws) < 0 ? -errno : 0;
}

int agent_pty_open(const Isol8__Agent__V1__Exec *req, uid_t uid, gid_t gid, int *master_out, int *slave_out,
		   char *msg, size_t msg_len)
{
	char name[64];
	int master, slave, ret;

	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0) {
		ret = -errno;
		snprintf(msg, msg_len, "exec: open a pseudo-terminal (/dev/ptmx): %s", strerror(errno));
		return ret;
	}
	if (grantpt(master) < 0 || unlockpt(master) < 0 || ptsname_r(master, name, sizeof(name)) != 0) {
		ret = -errno;
		snprintf(msg, msg_len, "exec: set up the pseudo-terminal: %s", strerror(errno));
		close(master);
		return ret;
	}
	slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0) {
		ret = -errno;
		snprintf(msg, msg_len, "exec: open the terminal \"%s\": %s", name, strerror(errno));
		close(master);
		return ret;
	}
	/* the program's own terminal, as login gives it */
	if (fchown(slave, uid, gid) < 0 || fchmod(slave, 0620) < 0 || agent_pty_resize(master, req->rows, req->cols) < 0) {
		ret = -errno;
		snprintf(msg, msg_len, "exec: set up the terminal \"%s\": %s", name, strerror(errno));
		close(slave);
		close(master);
		return ret;
	}
	*master_out = master;
	*slave_out = slave;
	return 0;
}

size_t agent_pty_eof(int master, bool line_started, uint8_t out[2])
{
	struct termios tio;
	uint8_t eof = 4; /* ^D */

	if (tcgetattr(master, &tio) == 0 && tio.c_cc[VEOF] != _POSIX_VDISABLE)
		eof = tio.c_cc[VEOF];
	/* in a started line the first EOF only ends the line's read */
	out[0] = out[1] = eof;
	return line_started ? 2 : 1;
}

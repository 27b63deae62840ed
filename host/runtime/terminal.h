/* SPDX-License-Identifier: MIT */
/*
 * The user's terminal joined to a container's (run in a terminal, connect): raw mode while
 * attached, bytes both ways, window size changes passed on.
 */
#pragma once

#include <stdbool.h>

#include "buf.h"
#include "macro.h"

typedef void (*terminal_resize_fn)(unsigned rows, unsigned cols, void *userdata);

/* Whether stdin and stdout are both terminals. */
bool terminal_interactive(void);

/*
 * Copies stdin to `sock` and `sock` (after `early`) to stdout until the container side closes
 * the stream. stdin goes raw for the duration (restored on every path); `resize` is called
 * at once and on each SIGWINCH. End of stdin half-closes the socket. 0, or a negative errno
 * when the terminal could not be set up.
 */
int terminal_pump(int sock, const struct buf *early, terminal_resize_fn resize,
                  void *userdata) CA_MUST_CHECK;

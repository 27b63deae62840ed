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

struct runtime;

/* What terminal_resize_container() resizes: a container's terminal, or an exec session's. */
struct terminal_target {
        struct runtime *rt;
        const char *id;
        bool exec;
};

/* A terminal_resize_fn for a `struct terminal_target`: a lost resize only leaves the window
 * size stale. */
void terminal_resize_container(unsigned rows, unsigned cols, void *userdata);

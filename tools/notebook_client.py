"""Run a notebook with nbclient, without the 20-minute stall of a cell that drives an ipywidgets Output.

The course's tests (tests/helpers.py ``execute_lesson``), ``make html`` (tools/build_html.py) and ``make bench``
(bench/notebooks.py) execute lessons with this ``NotebookClient``: nbclient's, with one change.

Why: while nbclient waits on the shell socket for a cell's ``execute_reply``, it mirrors an Output widget's
state back to the kernel by sending comm messages on that same socket (nbclient/output_widget.py). jupyter_client's
``Session.send`` writes them through a synchronous shadow of the asyncio socket, and that write processes the
socket's pending ZeroMQ commands: if the reply has just arrived, the one wake-up that announced it (ZeroMQ's file
descriptor is edge-triggered) is consumed and pyzmq's asyncio poller is never told. The reply then sits unread until
the poll's timeout, the whole cell timeout, ends and a last zero-time poll finds it: the cell passes, 20 minutes
late. Here it stalled 4.4a's explorer cell in 2 of 15 runs two at a time (the kernel idle, nbclient waiting), and
a 61-cell Output-widget notebook beside a busy loop in 6 of 8 runs (0 of 16 with this client). Upstream it is
jupyter/nbclient#312 and jupyter/jupyter_client#1059, open. Here the shell channel is polled in slices of one
second: each new poll first asks the socket whether a message is waiting, so a stranded reply is read within a
second. tests/unit/test_notebook_client.py builds the lost wake-up without a kernel.

    python tools/notebook_client.py LESSON.ipynb EXECUTED.ipynb [--timeout 1200]

runs LESSON in a fresh ``python3`` kernel whose working folder is LESSON's, and writes EXECUTED; a cell that raises
ends it with exit status 1 and the error on stderr (as ``jupyter nbconvert --to notebook --execute``).
"""
import argparse
import sys
import time
from pathlib import Path
from queue import Empty

import nbclient

#: Longest single wait on the shell socket, in seconds.
POLL_SLICE = 1.0


def poll_in_slices(channel, step=POLL_SLICE):
    """Make ``channel.get_msg(timeout)`` wait in polls of at most ``step`` seconds, same result and timeout."""
    get_msg = channel.get_msg

    async def get_msg_in_slices(timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                return await get_msg(timeout=step if left is None else min(step, left))
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    channel.get_msg = get_msg_in_slices
    return channel


class NotebookClient(nbclient.NotebookClient):
    """nbclient's client whose shell channel is polled in one-second slices (see the module's docstring)."""

    async def async_start_new_kernel_client(self):
        kc = await super().async_start_new_kernel_client()
        poll_in_slices(kc.shell_channel)
        return kc


def main(argv=None):
    import nbformat
    from nbclient.exceptions import CellExecutionError
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--timeout", type=int, default=1200, help="seconds a cell may take (default 1200)")
    args = parser.parse_args(argv)
    nb = nbformat.read(args.notebook, as_version=4)
    try:
        NotebookClient(nb, timeout=args.timeout, kernel_name="python3",
                       resources={"metadata": {"path": str(args.notebook.resolve().parent)}}).execute()
    except CellExecutionError as error:
        sys.exit(f"{args.notebook.name} failed:\n{error}")
    nbformat.write(nb, args.output)


if __name__ == "__main__":
    main()

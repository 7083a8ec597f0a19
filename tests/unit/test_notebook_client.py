"""tools/notebook_client.py: a reply stranded on the shell socket by a raw send is read within a slice, not at the
timeout. Built without a kernel: a ROUTER plays the kernel, the client's channel is jupyter_client's own."""
import asyncio
import contextlib
import importlib.util
import time
from pathlib import Path

import pytest
import zmq
import zmq.asyncio
from jupyter_client.channels import AsyncZMQSocketChannel
from jupyter_client.session import Session

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("notebook_client", ROOT / "tools" / "notebook_client.py")
notebook_client = importlib.util.module_from_spec(spec)
spec.loader.exec_module(notebook_client)

TIMEOUT = 4.0


@contextlib.contextmanager
def _kernel_and_channel(step=None):
    """A ROUTER playing the kernel, and jupyter_client's asyncio shell channel connected to it, polled in slices of
    ``step`` seconds by ``poll_in_slices`` (None: the stock channel)."""
    session = Session(key=b"course")
    kernel = zmq.Context.instance().socket(zmq.ROUTER)
    context = zmq.asyncio.Context()
    client = context.socket(zmq.DEALER)
    try:
        client.connect(f"tcp://127.0.0.1:{kernel.bind_to_random_port('tcp://127.0.0.1')}")
        channel = AsyncZMQSocketChannel(client, session)
        yield session, kernel, channel if step is None else notebook_client.poll_in_slices(channel, step)
    finally:
        client.close(0)
        kernel.close(0)
        context.term()


async def _seconds_until_the_reply_is_read(sliced):
    """nbclient's situation: the client waits on the shell socket for a reply; the reply arrives while the loop is
    busy; the client then sends a comm message on that socket (raw, as Session.send does for an asyncio socket)."""
    with _kernel_and_channel(notebook_client.POLL_SLICE if sliced else None) as (session, kernel, channel):
        client = channel.socket
        session.send(client, "execute_request", {"code": ""})
        identity = kernel.recv_multipart()[0]
        start = time.monotonic()
        waiting = asyncio.ensure_future(channel.get_msg(timeout=TIMEOUT))
        await asyncio.sleep(0.05)                                      # the poll is registered with the loop
        session.send(kernel, "execute_reply", {"status": "ok"}, ident=[identity])
        assert zmq.Socket.shadow(client.underlying).poll(2000), "the reply did not arrive"  # loop still busy
        session.send(client, "comm_msg", {"comm_id": "output", "data": {}})   # nbclient's Output widget
        reply = await waiting
        assert reply["msg_type"] == "execute_reply"
        return time.monotonic() - start


def test_the_reply_stranded_by_a_raw_send_is_read_within_a_slice():
    stock = asyncio.run(_seconds_until_the_reply_is_read(sliced=False))
    assert stock > TIMEOUT - 0.5, (
        f"jupyter_client read the reply after {stock:.1f} s: the lost wake-up seems fixed upstream, and "
        "tools/notebook_client.py's slices may go")
    sliced = asyncio.run(_seconds_until_the_reply_is_read(sliced=True))
    assert sliced < notebook_client.POLL_SLICE + 1.0 < TIMEOUT - 1.0


def test_slices_keep_the_timeout_and_the_result():
    async def run():
        with _kernel_and_channel(step=0.1) as (session, kernel, channel):
            start = time.monotonic()
            with pytest.raises(notebook_client.Empty):
                await channel.get_msg(timeout=0.35)
            elapsed = time.monotonic() - start
            session.send(channel.socket, "kernel_info_request")
            identity = kernel.recv_multipart()[0]
            session.send(kernel, "kernel_info_reply", {"status": "ok"}, ident=[identity])
            return elapsed, (await channel.get_msg(timeout=5))["msg_type"]

    elapsed, msg_type = asyncio.run(run())
    assert 0.3 < elapsed < 3 and msg_type == "kernel_info_reply"

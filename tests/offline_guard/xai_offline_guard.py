"""Network guard for the test suite: with XAI_BLOCK_NETWORK=1, only loopback connections are allowed.

The test suite puts this directory on PYTHONPATH, so every Python process it starts (pytest itself,
the notebook kernels nbval launches, subprocesses) refuses to reach the internet. tests/system/test_offline.py
proves the guard is active. This complements `unshare -n` (tools/offline.sh), which also covers
non-Python programs such as Chromium.
"""
import errno
import ipaddress
import os
import socket

if os.environ.get("XAI_BLOCK_NETWORK") == "1":
    _connect, _connect_ex, _getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

    def _is_local(address):
        if not isinstance(address, tuple):  # AF_UNIX path
            return True
        host = address[0]
        if host in ("localhost", "", None):
            return True
        try:
            return ipaddress.ip_address(host.split("%")[0]).is_loopback
        except ValueError:
            return False

    def _refuse(address):
        return OSError(errno.ENETUNREACH, f"network access to {address!r} is blocked: the course's "
                                          "test suite runs offline (XAI_BLOCK_NETWORK=1)")

    def connect(self, address):
        if not _is_local(address):
            raise _refuse(address)
        return _connect(self, address)

    def connect_ex(self, address):
        if not _is_local(address):
            return errno.ENETUNREACH
        return _connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        if host not in (None, "localhost") and not _is_local((host,)):
            raise socket.gaierror(socket.EAI_NONAME, f"name lookup of {host!r} blocked: offline test suite")
        return _getaddrinfo(host, *args, **kwargs)

    socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo = connect, connect_ex, getaddrinfo

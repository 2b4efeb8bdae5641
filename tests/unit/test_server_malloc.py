"""`conclave serve` keeps glibc's threshold for mapping large blocks on their own fixed:
uvloop's 256 KiB TLS read buffers then stay untouched mappings instead of heap memory that
earlier allocations made resident (docs/performance.md, finding 1)."""

from __future__ import annotations

import ctypes

from conclave import server

BUFFER = 256 * 1024  # uvloop's read buffer per TLS connection


FIELDS = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"


class _MallInfo2(ctypes.Structure):  # glibc's struct mallinfo2
    _fields_ = [(name, ctypes.c_size_t) for name in FIELDS.split()]


def test_large_blocks_keep_their_own_mappings() -> None:
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    libc.mallinfo2.restype = _MallInfo2
    server._fixed_mmap_threshold()
    for _ in range(3):  # freeing mapped blocks raises glibc's threshold unless it is fixed
        libc.free(libc.malloc(BUFFER))
    mapped = libc.mallinfo2().hblks
    block = libc.malloc(BUFFER)
    try:
        assert libc.mallinfo2().hblks == mapped + 1
    finally:
        libc.free(block)

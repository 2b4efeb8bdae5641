"""`conclave serve` keeps glibc's threshold for mapping large blocks on their own fixed:
uvloop's 256 KiB TLS read buffers then stay untouched mappings instead of heap memory that
earlier allocations made resident (docs/performance.md, finding 1)."""

from __future__ import annotations

import ctypes

from conclave import server

BUFFER = 256 * 1024  # uvloop's read buffer per TLS connection
LEFTOVER_CHUNKS = 64


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
    # A free chunk this large may be left in the heap by earlier work in this process, and
    # glibc serves from it before it maps anything: use such chunks up first (bounded).
    # Without the fixed threshold every block comes from the heap and none is mapped.
    blocks = []
    try:
        for _ in range(LEFTOVER_CHUNKS):
            mapped = libc.mallinfo2().hblks
            blocks.append(libc.malloc(BUFFER))
            if libc.mallinfo2().hblks == mapped + 1:
                break
        else:
            raise AssertionError(f"none of {LEFTOVER_CHUNKS} blocks of {BUFFER} B was mapped")
    finally:
        for block in blocks:
            libc.free(block)

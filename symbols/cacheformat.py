"""The compact symbol cache's file layout, shared by its writer and its reader.

symbols.cachewriter converts a .sym file into this format once; symbols.symcache maps the
result and answers lookups from it. Keeping the layout apart lets a process that only reads
converted files (a one-dump ``stackwalk``, most of a processor's life) load neither the
writer nor the parser behind it.

Layout (little-endian): 8-byte magic, u64 URL string offset (0 = none), then for each
name in SECTIONS a (u64 offset, u64 count) pair; every section is an array of u64.
"""

from __future__ import annotations

import struct

MAGIC = b"CPSYMC\x00\x02"  # the format version is part of SymbolCache's keys too
SECTIONS = (
    "func_start",
    "func_end",
    "func_off",
    "pub_addr",
    "pub_off",
    "cfi_start",
    "cfi_end",
    "cfi_off",
    "win4_start",
    "win4_end",
    "win4_off",
    "win0_start",
    "win0_end",
    "win0_off",
    "file_id",
    "file_off",
    "origin_id",
    "origin_off",
)
HEADER_SIZE = 8 + 8 + 16 * len(SECTIONS)
# STACK CFI rows are stored as their validated text and decoded on lookup (the unwinder
# parses their rule strings anyway). A FUNC record (n resolved line records, m inlinees in
# Inlinee order) is: the header, the name padded to 8 bytes, the u64 columns (line starts,
# line ends, inlinee addresses, inlinee sizes), then the u32 columns (line sizes, lines,
# files; inlinee depths, call files, call lines, origins). Every column is aligned, so a
# lookup reads them as views of the mapping, copying nothing.
FUNC = struct.Struct("<QQIIII")  # address, size, parameter_size, name_len, n, m
PUBLIC = struct.Struct("<QII")  # address, parameter_size, name_len
CFI = struct.Struct("<QIIQ")  # address, size, init_len, rows_len
WIN = struct.Struct("<QIIIIIIIBBI")  # address, size, 6 sizes, kind, abp, program_len (or ~0)
STR = struct.Struct("<I")
NO_PROGRAM = 0xFFFFFFFF

#!/usr/bin/env python3
"""Turns a trace of executed code into packaging/order/startup.ld (see update.sh).

  mkorder.py MAP TRACE... > startup.ld

MAP is the linker map of the traced binary (mq.map in the build directory, written when the
meson option startup_order is on). Each TRACE is a Valgrind Lackey log (--trace-superblocks):
one "SB <hex address>" line per code block entered. Every address is looked up among the
input sections of the map, and each input section that ran becomes one line of the script,
in the order it first ran:
  - a function section of mq's LTO code or of a library built with -ffunction-sections
    (.text.NAME) by its name, in any input file: *(.text.NAME)
  - a section of an archive member (glibc, whose objects hold one function or a few) by
    archive and member: *libc.a:malloc.o(.text)
  - a section of a plain object (crt1.o) by file name.
glibc's AVX2 string functions are followed by their AVX-512VL (EVEX) versions: glibc picks
those on CPUs with AVX-512VL, which Valgrind's virtual CPU does not have.
GCC's clone suffixes (.lto_priv.N, .constprop.N, .isra.N, .part.N) keep their name and lose
their number, which changes from build to build. A line that matches no input section (a
function renamed or gone) places nothing and costs nothing.
"""

import bisect
import os
import re
import sys

# An input section on one line (" .text.foo  0xADDR  0xSIZE file") or its name alone with
# the rest on the next line (names longer than the column).
SECTION_LINE = re.compile(r"^ (\.\S+|__libc_freeres_fn)(?:\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(.+))?$")
REST_LINE = re.compile(r"^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(.+)$")
CLONE_NUMBER = re.compile(r"\.(lto_priv|constprop|isra|part|cold|localalias)\.\d+")
ARCHIVE_MEMBER = re.compile(r"^(.*)\((.+)\)$")
# glibc's AVX2 string functions (strlen-avx2.o, memmove-avx-unaligned-erms.o: section .text.avx)
# and their AVX-512VL versions (strlen-evex.o: .text.evex), which glibc picks instead where
# the CPU has AVX-512VL. Valgrind's virtual CPU has none, so only the AVX2 ones are traced.
AVX_MEMBER = re.compile(r"^(\*libc\.a:[a-z0-9_]+)-avx2?((?:-[a-z0-9_]+)*\.o)\(\.text\.avx\)$")


def read_map(path):
    """Input sections that hold code: sorted (start, end, section name, input file)."""
    sections = []
    in_map = False
    pending = None
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if not in_map:
                in_map = line.startswith("Linker script and memory map")
                continue
            if pending is not None:
                m = REST_LINE.match(line)
                if m:
                    add(sections, pending, m.group(1), m.group(2), m.group(3))
                pending = None
                continue
            m = SECTION_LINE.match(line)
            if not m:
                continue
            if m.group(2) is None:
                pending = m.group(1)
            else:
                add(sections, m.group(1), m.group(2), m.group(3), m.group(4))
    sections.sort()
    return sections


def add(sections, name, addr, size, path):
    start, size = int(addr, 16), int(size, 16)
    if size and start and (name.startswith(".text") or name == "__libc_freeres_fn"):
        sections.append((start, start + size, name, path.strip()))


def pattern(name, path):
    """The linker script line that selects this input section, or None."""
    general = CLONE_NUMBER.sub(lambda m: "." + m.group(1) + ".*", name)
    m = ARCHIVE_MEMBER.match(path)
    if m:
        return "*%s:%s(%s)" % (os.path.basename(m.group(1)), m.group(2), general)
    if name.startswith(".text.") and name not in (".text.unlikely", ".text.hot", ".text.startup"):
        return "*(%s)" % general
    if path.endswith(".ltrans.o") or path.startswith("/tmp/"):
        # A whole LTO partition: its name changes every link. Built without
        # -ffunction-sections at link time? Nothing to order by.
        return None
    return "*%s(%s)" % (os.path.basename(path), general)


def traced_addresses(paths):
    """Block addresses in the order they first ran (trace after trace)."""
    seen = {}
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("SB "):
                    a = int(line[3:].strip(), 16)
                    if a not in seen:
                        seen[a] = len(seen)
    return list(seen)


def main(argv):
    if len(argv) < 3:
        sys.stderr.write(__doc__)
        return 2
    sections = read_map(argv[1])
    if not sections:
        sys.stderr.write("mkorder.py: no code sections in %s\n" % argv[1])
        return 1
    starts = [s[0] for s in sections]
    lines = []
    done = set()
    missed = 0
    code_bytes = 0
    for a in traced_addresses(argv[2:]):
        i = bisect.bisect_right(starts, a) - 1
        if i < 0 or a >= sections[i][1]:
            missed += 1
            continue
        start, end, name, path = sections[i]
        if i in done:
            continue
        done.add(i)
        p = pattern(name, path)
        if p is None:
            sys.stderr.write("mkorder.py: %s in %s cannot be named (no function sections?)\n"
                             % (name, path))
            continue
        code_bytes += end - start
        for q in (p, AVX_MEMBER.sub(r"\1-evex\2(.text.evex)", p)):
            if q not in lines:
                lines.append(q)
    if missed:
        sys.stderr.write("mkorder.py: %d traced addresses outside the map's code sections\n"
                         % missed)
    sys.stderr.write("mkorder.py: %d input sections, %d bytes of code\n"
                     % (len(lines), code_bytes))
    out = sys.stdout
    out.write("/* The code `mq serve` runs from start-up to idle, in the order it first ran, placed\n"
              "   before the rest of .text so that it shares as few pages as possible with code\n"
              "   that does not run (meson option startup_order). Generated by\n"
              "   packaging/order/update.sh from a trace; regenerate, do not edit. A line that\n"
              "   matches nothing (a function renamed since) places nothing. */\n")
    out.write("SECTIONS\n{\n  .text.mq_startup :\n  {\n")
    for p in lines:
        out.write("    %s\n" % p)
    out.write("  }\n}\nINSERT BEFORE .text;\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

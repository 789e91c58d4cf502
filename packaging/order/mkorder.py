#!/usr/bin/env python3
"""Turns a trace of executed code into packaging/order/startup.ld (see update.sh).

  mkorder.py MAP OUT.ld TRACE...              write OUT.ld from the traces
  mkorder.py --add OUT.ld MAP TRACE...        put what OUT.ld lacks first (exit 3: nothing)
  mkorder.py --stale OUT.ld MAP               list the lines of OUT.ld that match nothing

MAP is the linker map of the traced binary (mq.map in the build directory, written when the
meson option startup_order is on). A TRACE is a Valgrind Lackey log (--trace-superblocks:
one "SB <hex address>" line per code block entered) or page faults from `perf script -F
ip,addr` (instruction fetches only). Every address is looked up among the input sections of
the map, and each input section that ran becomes one line of the script, in the order it
first ran:
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
import fnmatch
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
    """Code addresses in the order they first ran (file after file): Lackey's "SB <hex>"
    lines, or "<ip> <address>" pairs from `perf script -F ip,addr` of page faults, of which
    only instruction fetches count (the address at or just past the instruction)."""
    seen = {}
    for path in paths:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                words = line.split()
                if len(words) == 2 and words[0] == "SB":
                    a = int(words[1], 16)
                elif len(words) == 2 and all(re.fullmatch(r"[0-9a-f]+", w) for w in words):
                    ip, a = int(words[0], 16), int(words[1], 16)
                    if not ip <= a < ip + 16:
                        continue
                else:
                    continue
                if a not in seen:
                    seen[a] = len(seen)
    return list(seen)


def order(sections, addresses, lines):
    """Appends to `lines` the pattern of each input section that holds one of `addresses`
    (in their order) and is not there yet; returns (number added, bytes of code added)."""
    starts = [s[0] for s in sections]
    done = set()
    added = code_bytes = missed = 0
    for a in addresses:
        i = bisect.bisect_right(starts, a) - 1
        if i < 0 or a >= sections[i][1]:
            missed += 1
            continue
        if i in done:
            continue
        done.add(i)
        start, end, name, path = sections[i]
        p = pattern(name, path)
        if p is None:
            sys.stderr.write("mkorder.py: %s in %s cannot be named (no function sections?)\n"
                             % (name, path))
            continue
        for q in (p, AVX_MEMBER.sub(r"\1-evex\2(.text.evex)", p)):
            if q not in lines:
                lines.append(q)
                added += 1
                code_bytes += end - start if q == p else 0
    if missed:
        sys.stderr.write("mkorder.py: %d addresses outside the map's code sections (.plt)\n"
                         % missed)
    return added, code_bytes


HEADER = """/* The code `mq serve` runs from start-up to idle, in the order it first ran, placed
   before the rest of .text so that it shares as few pages as possible with code
   that does not run (meson option startup_order). Generated by
   packaging/order/update.sh from a trace; regenerate, do not edit. A line that
   matches nothing (a function renamed since) places nothing. */
SECTIONS
{
  .text.mq_startup :
  {
"""
FOOTER = """  }
}
INSERT BEFORE .text;
"""


def read_script(path):
    with open(path, encoding="utf-8") as f:
        return [l.strip() for l in f if l.startswith("    *")]


def write_script(path, lines):
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write(HEADER + "".join("    %s\n" % l for l in lines) + FOOTER)
    os.replace(path + ".tmp", path)


def stale(script, sections):
    """The lines of `script` that select no input section of the map: functions renamed or
    gone since the order was made."""
    names = {}
    for _, _, name, path in sections:
        m = ARCHIVE_MEMBER.match(path)
        where = (os.path.basename(m.group(1)), m.group(2)) if m else (os.path.basename(path), None)
        names.setdefault(name, []).append(where)
    line_re = re.compile(r"^\*([^(:]*)(?::([^(]+))?\((\S+)\)$")
    out = []
    for line in read_script(script):
        m = line_re.match(line)
        if not m:
            out.append(line)
            continue
        file_pat, member, sec_pat = m.groups()
        found = False
        for name in fnmatch.filter(names, sec_pat):
            for base, mem in names[name]:
                if member is not None:
                    found = mem == member and fnmatch.fnmatch(base, "*" + file_pat)
                else:
                    found = fnmatch.fnmatch(base, "*" + file_pat)
                if found:
                    break
            if found:
                break
        if not found:
            out.append(line)
    return out


def main(argv):
    args = argv[1:]
    if args[:1] == ["--stale"] and len(args) == 3:
        lines = read_script(args[1])
        gone = stale(args[1], read_map(args[2]))
        for line in gone:
            print(line)
        sys.stderr.write("mkorder.py: %d of %d lines match nothing in %s\n"
                         % (len(gone), len(lines), args[2]))
        return 0
    add_to = None
    if args[:1] == ["--add"] and len(args) > 1:
        add_to = args[1]
        args = args[2:]
    if len(args) < 2 or (add_to is None and len(args) < 3):
        sys.stderr.write(__doc__)
        return 2
    sections = read_map(args[0])
    if not sections:
        sys.stderr.write("mkorder.py: no code sections in %s\n" % args[0])
        return 1
    if add_to is not None:
        # What the native runs add goes first: it is what Valgrind cannot show of glibc's
        # own start (the vDSO, the CPU's string functions), run by every configuration.
        old = read_script(add_to)
        lines = list(old)
        added, code_bytes = order(sections, traced_addresses(args[1:]), lines)
        sys.stderr.write("mkorder.py: %d sections added (%d bytes of code)\n"
                         % (added, code_bytes))
        if added:
            write_script(add_to, lines[len(old):] + old)
        return 0 if added else 3
    lines = []
    added, code_bytes = order(sections, traced_addresses(args[2:]), lines)
    sys.stderr.write("mkorder.py: %d sections, %d bytes of code\n" % (added, code_bytes))
    write_script(args[1], lines)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

"""Resident memory of an idle `mq serve` (issue 13): at most 2,048 kB VmRSS for the static
x86-64 build. Nearly all of it is pages of the binary, so this holds only while the code run
from start-up to idle sits together at the start of .text (meson option startup_order,
packaging/order/startup.ld). The broker is waited for through its port file, not by
connecting, which would run the accept path too; then VmRSS is read every 100 ms for one
second of idling. The page cache is left as it is (warm: the binary was just run or built),
where the kernel maps the whole 64-KiB window around each page fault; packaging/rss.sh gives
the figures after dropping it."""

import os
import struct
import subprocess
import time

import pytest

import brokers

pytestmark = pytest.mark.skipif(brokers.REFERENCE, reason="mq only (measures mq's binary)")

LIMIT_KB = 2048
PT_INTERP = 3
EM_X86_64 = 62


def elf_facts(path):
    """(machine, dynamic, section names) of a 64-bit little-endian ELF file."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, "not a 64-bit LE ELF file"
    machine = struct.unpack_from("<H", data, 18)[0]
    phoff, shoff = struct.unpack_from("<QQ", data, 32)
    phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from("<HHHHH", data, 54)
    dynamic = any(struct.unpack_from("<I", data, phoff + i * phentsize)[0] == PT_INTERP
                  for i in range(phnum))
    names = set()
    if shoff and shnum:
        strtab = struct.unpack_from("<QQ", data, shoff + shstrndx * shentsize + 24)
        off, size = strtab
        table = data[off:off + size]
        for i in range(shnum):
            name_at = struct.unpack_from("<I", data, shoff + i * shentsize)[0]
            names.add(table[name_at:table.index(b"\0", name_at)].decode())
    sanitized = any(s in data for s in (b"AddressSanitizer", b"ThreadSanitizer",
                                        b"UndefinedBehaviorSanitizer"))
    return machine, dynamic, sanitized, names


@pytest.fixture(scope="module")
def static_bin():
    machine, dynamic, sanitized, names = elf_facts(brokers.MQ_BIN)
    if dynamic:
        pytest.skip("dynamically linked build: shared libraries' pages count too")
    if sanitized:
        pytest.skip("sanitizer build: its runtime and shadow memory are not mq's")
    if machine != EM_X86_64:
        pytest.skip("the start-up order is made for x86-64 builds only")
    return brokers.MQ_BIN, ".text.mq_startup" in names


def idle_rss(tmp_path, args):
    """Starts `mq serve ARGS`, waits for its port file, samples /proc/PID/status every 100 ms
    for one second and returns the samples with the highest VmRSS (kB)."""
    ports = tmp_path / "ports"
    log = open(tmp_path / "broker.log", "wb")
    proc = subprocess.Popen([brokers.MQ_BIN, "serve", "--port-file", str(ports)] + args,
                            cwd=str(tmp_path), stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        listening = brokers.wait_until(
            lambda: proc.poll() is not None or (ports.exists() and ports.stat().st_size > 0),
            timeout=10)
        assert listening and proc.poll() is None, (tmp_path / "broker.log").read_text()
        worst = None
        end = time.monotonic() + 1.0
        while True:
            fields = {}
            with open("/proc/%d/status" % proc.pid) as f:
                for line in f:
                    key, _, value = line.partition(":")
                    if key in ("VmRSS", "RssFile", "RssAnon"):
                        fields[key] = int(value.split()[0])
            if worst is None or fields["VmRSS"] > worst["VmRSS"]:
                worst = fields
            if time.monotonic() >= end:
                break
            time.sleep(0.1)
        assert proc.poll() is None, (tmp_path / "broker.log").read_text()
        return worst
    finally:
        brokers.stop_process(proc)
        log.close()


def check(rss, ordered):
    hint = "" if ordered else " (built without the start-up order: meson option startup_order)"
    assert rss["VmRSS"] <= LIMIT_KB, "idle VmRSS %d kB > %d kB%s: %r" % (
        rss["VmRSS"], LIMIT_KB, hint, rss)


def test_idle_rss_default_config(static_bin, tmp_path):
    _, ordered = static_bin
    check(idle_rss(tmp_path, ["-p", "0"]), ordered)


def test_idle_rss_typical_config(static_bin, tmp_path):
    binary, ordered = static_bin
    # A listener, persistence with a journal, a password file (PBKDF2: quick to make) and
    # an ACL file: more start-up code than the default.
    passwd = tmp_path / "passwd"
    subprocess.run([binary, "passwd", "-H", "sha512-pbkdf2", "-c", "-b", str(passwd),
                    "alice", "secret"], check=True, timeout=10)
    (tmp_path / "acl").write_text("user alice\ntopic readwrite sensors/#\n")
    (tmp_path / "data").mkdir()
    conf = tmp_path / "mq.conf"
    conf.write_text("\n".join([
        "listener %d 127.0.0.1" % brokers.free_port(),
        "allow_anonymous false",
        "password_file %s" % passwd,
        "acl_file %s" % (tmp_path / "acl"),
        "persistence true",
        "persistence_location %s/" % (tmp_path / "data"),
        "log_dest stderr",
    ] + (["user root"] if os.geteuid() == 0 else [])) + "\n")
    check(idle_rss(tmp_path, ["-c", str(conf)]), ordered)
    # Persistence really is on: the journal exists once the broker is up.
    assert any(p.name.endswith(".journal") for p in (tmp_path / "data").iterdir()), \
        list((tmp_path / "data").iterdir())

"""`mq passwd` / `mosquitto_passwd`: files checked by Debian's real Mosquitto 2.0 broker, messages
and exit codes compared with Debian's /usr/bin/mosquitto_passwd, and what mq does beyond it
(Argon2id, --force, atomic replacement, the directory lock, refusing -U on a hashed file).

The broker here is always Debian's /usr/sbin/mosquitto (the reference verifier), whatever
MQ_TEST_REFERENCE says; MQ_BIN names the mq binary that writes the files.
"""

import base64
import fcntl
import hashlib
import os
import pty
import resource
import select
import signal
import subprocess
import time

import pytest

from brokers import MOSQUITTO, MQ_BIN, free_port, stop_process, wait_for_port

pytestmark = pytest.mark.skipif(not MQ_BIN, reason="needs MQ_BIN (the mq binary)")

MOSQUITTO_PASSWD = "/usr/bin/mosquitto_passwd"
PUB = "/usr/bin/mosquitto_pub"


def mq(*args, **kw):
    return subprocess.run([MQ_BIN, "passwd"] + [str(a) for a in args], capture_output=True,
                          timeout=30, **kw)


def as_mosquitto_passwd(tmp_path):
    """A `mosquitto_passwd` symlink to mq, so mq runs under the Mosquitto name."""
    link = tmp_path / "bin" / "mosquitto_passwd"
    link.parent.mkdir(exist_ok=True)
    if not link.exists():
        link.symlink_to(MQ_BIN)
    return str(link)


def entries(path):
    """{username: password field} as the broker would split the lines."""
    out = {}
    for line in open(path).read().splitlines():
        if line and not line.startswith("#") and ":" in line:
            user, pw = line.split(":", 1)
            out[user.strip()] = pw.strip()
    return out


def python_verify(field, password):
    """An independent check of `$6$` / `$7$` fields (reference doc section 4.3 recipe)."""
    parts = field.split("$")
    if parts[1] == "7":
        it, salt, digest = int(parts[2]), base64.b64decode(parts[3]), base64.b64decode(parts[4])
        return hashlib.pbkdf2_hmac("sha512", password.encode(), salt, it, 64) == digest
    if parts[1] == "6":
        salt, digest = base64.b64decode(parts[2]), base64.b64decode(parts[3])
        return hashlib.sha512(password.encode() + salt).digest() == digest
    raise AssertionError("not a $6$/$7$ field: " + field)


class Mosquitto:
    """Debian's broker with `password_file`, anonymous clients refused."""

    def __init__(self, workdir, password_file):
        self.port = free_port()
        self.conf = os.path.join(workdir, "mosquitto.conf")
        self.log_path = os.path.join(workdir, "mosquitto.log")
        lines = ["listener %d 127.0.0.1" % self.port, "allow_anonymous false",
                 "password_file %s" % password_file]
        if os.geteuid() == 0:
            lines.append("user root")  # else it drops to `mosquitto`, who cannot read tmp_path
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", self.conf], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=open(self.log_path, "wb"))
        assert wait_for_port(self.port, 5.0, self.proc), self.log()

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def connect(self, user, password):
        """mosquitto_pub's exit status: 0 accepted, 5 refused (CONNACK 5)."""
        return subprocess.run([PUB, "-h", "127.0.0.1", "-p", str(self.port), "-u", user,
                               "-P", password, "-t", "t", "-m", "m"],
                              capture_output=True, timeout=10).returncode

    def stop(self):
        stop_process(self.proc)


@pytest.fixture
def mosquitto(tmp_path):
    started = []

    def start(password_file):
        m = Mosquitto(str(tmp_path), str(password_file))
        started.append(m)
        return m

    yield start
    for m in started:
        m.stop()


# --- files written by mq, verified by Mosquitto 2.0 ------------------------------------------

def test_pbkdf2_and_sha512_entries_accepted_by_mosquitto(tmp_path, mosquitto):
    pw = tmp_path / "pw.txt"
    assert mq("-c", "-H", "sha512-pbkdf2", "-b", pw, "alice", "secret").returncode == 0
    assert mq("-H", "sha512", "-b", pw, "bob", "hunter2").returncode == 0
    assert mq("-H", "sha512-pbkdf2", "-I", "101", "-b", pw, "carol", "pass").returncode == 0
    e = entries(pw)
    assert e["alice"].startswith("$7$1000$") and len(e["alice"].split("$")[3]) == 16
    assert e["bob"].startswith("$6$")
    assert e["carol"].startswith("$7$101$")
    assert python_verify(e["alice"], "secret") and python_verify(e["bob"], "hunter2")

    m = mosquitto(pw)
    assert m.connect("alice", "secret") == 0
    assert m.connect("bob", "hunter2") == 0
    assert m.connect("carol", "pass") == 0
    assert m.connect("alice", "wrong") == 5
    assert m.connect("bob", "secret") == 5
    assert m.connect("nobody", "secret") == 5
    assert "removing entry" not in m.log()


def test_argon2id_is_the_default_and_mosquitto_2_0_rejects_it(tmp_path, mosquitto):
    pw = tmp_path / "pw.txt"
    assert mq("-c", "-b", pw, "alice", "secret").returncode == 0
    assert entries(pw)["alice"].startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    m = mosquitto(pw)
    assert m.connect("alice", "secret") == 5
    assert "Invalid password hash type for user alice" in m.log()


def test_upgrade_then_mosquitto_accepts(tmp_path, mosquitto):
    pw = tmp_path / "pw.txt"
    pw.write_text("# users\nalice:secret\n\nbob : hunter2 \n")
    r = mq("-U", "-H", "sha512-pbkdf2", pw)
    assert r.returncode == 0, r.stderr
    text = pw.read_text()
    assert text.startswith("# users\nalice:$7$1000$")
    assert "\n\nbob:$7$" in text
    m = mosquitto(pw)
    assert m.connect("alice", "secret") == 0
    assert m.connect("bob", "hunter2") == 0

    # A second -U would hash the hashes (Mosquitto issues #2211, #3416): refused, file unchanged.
    r = mq("-U", "-H", "sha512-pbkdf2", pw)
    assert r.returncode == 1
    assert b"already holds hashed passwords (line 2)" in r.stderr
    assert pw.read_text() == text


def read_until(fd, want, timeout=10.0):
    """Reads from the pty master until `want` appears; returns everything read."""
    out = b""
    deadline = time.monotonic() + timeout
    while want not in out and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 1024)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            out += chunk
    return out


def test_prompt_reads_without_echo(tmp_path, mosquitto):
    pw = tmp_path / "pw.txt"
    master, slave = pty.openpty()
    proc = subprocess.Popen([MQ_BIN, "passwd", "-c", "-H", "sha512-pbkdf2", str(pw), "tty"],
                            stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    try:
        out = read_until(master, b"Password: ")
        os.write(master, b"typed secret\n")
        out += read_until(master, b"Reenter password: ")
        os.write(master, b"typed secret\n")
        assert proc.wait(10) == 0, out
        out += read_until(master, b"never", timeout=0.3)
    finally:
        os.close(master)
        stop_process(proc)
    assert b"Password: " in out and b"Reenter password: " in out
    assert b"typed secret" not in out, "echo was not turned off"
    m = mosquitto(pw)
    assert m.connect("tty", "typed secret") == 0


def test_prompt_from_pipe_mismatch_and_empty(tmp_path):
    pw = tmp_path / "pw.txt"
    for tool in (MOSQUITTO_PASSWD, as_mosquitto_passwd(tmp_path)):
        r = subprocess.run([tool, "-c", str(pw), "u"], input=b"one\ntwo\n", capture_output=True)
        assert (r.returncode, r.stderr) == (2, b"Error: Passwords do not match.\n"), tool
        r = subprocess.run([tool, "-c", str(pw), "u"], input=b"\n", capture_output=True)
        assert (r.returncode, r.stderr) == (1, b"Error: Empty password.\n"), tool
        assert not pw.exists()


# --- files written by mosquitto_passwd, read by mq -------------------------------------------

def test_mosquitto_made_file_is_parsed_and_edited(tmp_path):
    pw = tmp_path / "pw.txt"
    subprocess.run([MOSQUITTO_PASSWD, "-c", "-b", str(pw), "alice", "secret"], check=True)
    subprocess.run([MOSQUITTO_PASSWD, "-H", "sha512", "-b", str(pw), "bob", "hunter2"], check=True)
    before = entries(pw)
    # -U parses every field as a hash: refused because they all are.
    r = mq("-U", pw)
    assert r.returncode == 1 and b"(line 1)" in r.stderr
    assert mq("-b", pw, "carol", "pass").returncode == 0
    after = entries(pw)
    assert after["alice"] == before["alice"] and after["bob"] == before["bob"]
    assert after["carol"].startswith("$argon2id$")


def test_mq_broker_verifies_mosquitto_made_file(tmp_path, start_broker):
    pw = tmp_path / "pw.txt"
    subprocess.run([MOSQUITTO_PASSWD, "-c", "-b", str(pw), "alice", "secret"], check=True)
    subprocess.run([MOSQUITTO_PASSWD, "-H", "sha512", "-b", str(pw), "bob", "hunter2"], check=True)
    assert mq("-b", pw, "carol", "argon").returncode == 0
    b = start_broker(conf="allow_anonymous false\npassword_file %s\n" % pw)
    for user, password, rc in [("alice", "secret", 0), ("bob", "hunter2", 0),
                               ("carol", "argon", 0), ("alice", "x", 5), ("zed", "x", 5)]:
        r = subprocess.run([PUB, "-h", "127.0.0.1", "-p", str(b.port), "-u", user, "-P",
                            password, "-t", "t", "-m", "m"], capture_output=True, timeout=10)
        assert r.returncode == rc, (user, r.stderr)


# --- command line: same messages and exit codes as mosquitto_passwd ---------------------------

@pytest.mark.parametrize("args", [
    [],
    ["-c", "-D", "F", "u"],
    ["-c", "-U", "F"],
    ["-D", "-U", "F"],
    ["-b", "-D", "F", "u"],
    ["-c", "F"],
    ["-c", "-b", "F", "u"],
    ["-D", "F"],
    ["-U", "F", "u"],
    ["-H"],
    ["-I"],
    ["-H", "md5", "-b", "F", "u", "p"],
    ["-I", "0", "-b", "F", "u", "p"],
    ["-I", "abc", "-b", "F", "u", "p"],
    ["-b", "F", "a:b", "p"],
    ["-b", "F", "a\tb", "p"],
    ["-b", "MISSING", "u", "p"],
    ["-U", "MISSING"],
    ["-D", "F", "nobody"],
    ["-b", "F", "u"],
    ["F"],
    ["-h"],
    # Flags the parser's table does not hold, values that are missing or bad, too many or too
    # few arguments: mosquitto_passwd stops reading flags at the first word that is not one.
    ["-x"],
    ["--bogus", "-b", "F", "u", "p"],
    ["-x", "F", "u", "p", "q"],
    ["--help"],
    ["--force", "-c", "-b", "F", "u", "p"],
    ["-H", "sha512", "-H"],
    ["-H", "bogus"],
    ["-I", "0"],
    ["-I", "5x"],
    ["-I", "-5", "-b", "F", "u", "p"],
    ["-c"],
    ["-b"],
    ["-U"],
    ["-U", "F", "u", "v"],
    ["-b", "F", "u", "p", "extra"],
    ["F", "u", "v", "w"],
])
def test_errors_match_mosquitto_passwd(tmp_path, args):
    results = []
    for tool in (MOSQUITTO_PASSWD, as_mosquitto_passwd(tmp_path)):
        f = tmp_path / "pw.txt"
        f.write_text("alice:$6$z5SUf+WHGnwxSaaw$jF7WpVubK9xXI9MpIaViPk5Dr4eNdr1jax+TTbQwmwcA+6z7"
                     "izZEAdg3py1/kX/IftGsqvcgAP1Za25Kwoq1uA==\n")
        argv = [str(f) if a == "F" else str(tmp_path / "missing") if a == "MISSING" else a
                for a in args]
        r = subprocess.run([tool] + argv, capture_output=True, timeout=30,
                           stdin=subprocess.DEVNULL)
        # The usage text itself is mq's (it names argon2id and -I); where it is printed, and
        # its first and last lines, are mosquitto_passwd's.
        out = [line for line in r.stdout.decode().splitlines() if line]
        usage = (out[0], out[-1]) if out else None
        results.append((r.returncode, r.stderr.decode(), usage, f.read_text()))
    assert results[0] == results[1]


def test_delete(tmp_path):
    pw = tmp_path / "pw.txt"
    pw.write_text("# c\nalice:x\nbob:y\n")
    assert mq("-D", pw, "alice").returncode == 0
    assert pw.read_text() == "# c\nbob:y\n"
    r = mq("-D", pw, "alice")
    assert (r.returncode, r.stderr) == (1, b"Warning: User alice not found in password file.\n")
    assert pw.read_text() == "# c\nbob:y\n"


def test_batch_update_keeps_other_lines(tmp_path):
    pw = tmp_path / "pw.txt"
    pw.write_text("# comment\nalice:$6$abc$def\n\nbob:$6$ghi$jkl\n")
    assert mq("-H", "sha512", "-b", pw, "alice", "new").returncode == 0
    lines = pw.read_text().split("\n")
    assert lines[0] == "# comment" and lines[2] == "" and lines[3] == "bob:$6$ghi$jkl"
    assert python_verify(lines[1].split(":", 1)[1], "new")


# --- -c, --force and file modes ---------------------------------------------------------------

def test_create_new_file_is_0600(tmp_path):
    pw = tmp_path / "pw.txt"
    assert mq("-c", "-b", pw, "alice", "secret").returncode == 0
    assert os.stat(pw).st_mode & 0o777 == 0o600
    assert sorted(os.listdir(tmp_path)) == ["pw.txt"]


def test_create_over_existing_needs_force_under_mq(tmp_path):
    pw = tmp_path / "pw.txt"
    pw.write_text("old:x\n")
    os.chmod(pw, 0o640)
    r = mq("-c", "-b", pw, "alice", "secret")
    assert r.returncode == 1 and b"use --force" in r.stderr
    assert pw.read_text() == "old:x\n"
    assert mq("--force", "-c", "-b", pw, "alice", "secret").returncode == 0
    assert list(entries(pw)) == ["alice"]
    assert os.stat(pw).st_mode & 0o777 == 0o640, "the replaced file keeps its mode"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the file to another user")
@pytest.mark.parametrize("args", [["-b", "{f}", "bob", "pw2"], ["-D", "{f}", "alice"],
                                  ["-U", "{f}"]], ids=["-b", "-D", "-U"])
def test_rewrite_keeps_owner_and_mode(tmp_path, args):
    """A password file given to the broker's user keeps its owner, group and mode when mq
    rewrites it (it writes a new file and renames it over the old one)."""
    pw = tmp_path / "pw.txt"
    if args[0] == "-U":
        pw.write_text("alice:plain\n")
    else:
        assert mq("-c", "-b", pw, "alice", "secret").returncode == 0
    ids = subprocess.run(["id", "-u", "mosquitto"], capture_output=True, text=True)
    uid = int(ids.stdout) if ids.returncode == 0 else 12345
    os.chown(pw, uid, 54321)
    os.chmod(pw, 0o640)
    r = mq(*[str(pw) if a == "{f}" else a for a in args])
    assert r.returncode == 0, r
    st = os.stat(pw)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (uid, 54321, 0o640)
    assert sorted(os.listdir(tmp_path)) == ["pw.txt"]


def test_create_overwrites_under_mosquitto_name(tmp_path):
    pw = tmp_path / "pw.txt"
    pw.write_text("old:x\n")
    tool = as_mosquitto_passwd(tmp_path)
    r = subprocess.run([tool, "-c", "-b", str(pw), "alice", "secret"], capture_output=True)
    assert r.returncode == 0, r.stderr
    assert list(entries(pw)) == ["alice"]
    r = subprocess.run([tool, "--force", "-c", "-b", str(pw), "a", "b"], capture_output=True)
    assert r.returncode == 1, "--force is not a mosquitto_passwd option"


# --- never a truncated file; one editor at a time ---------------------------------------------

def test_failed_write_leaves_the_file_intact(tmp_path):
    pw = tmp_path / "pw.txt"
    original = "".join("user%d:$6$abc$def\n" % i for i in range(20))
    pw.write_text(original)

    def small_file_limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # write() then fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (100, 100))

    r = subprocess.run([MQ_BIN, "passwd", "-b", str(pw), "new", "secret"], capture_output=True,
                       preexec_fn=small_file_limit, timeout=30)
    assert r.returncode == 1
    assert b"The password file is unchanged." in r.stderr
    assert pw.read_text() == original
    assert sorted(os.listdir(tmp_path)) == ["pw.txt"], "temporary file removed"


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores directory permissions")
def test_read_only_directory_leaves_the_file_intact(tmp_path):
    d = tmp_path / "ro"
    d.mkdir()
    pw = d / "pw.txt"
    pw.write_text("alice:$6$abc$def\n")
    os.chmod(d, 0o555)
    try:
        r = mq("-b", pw, "bob", "secret")
        assert r.returncode == 1 and b"Unable to create temporary file" in r.stderr
        assert pw.read_text() == "alice:$6$abc$def\n"
    finally:
        os.chmod(d, 0o755)


def test_waits_for_the_directory_lock(tmp_path):
    pw = tmp_path / "pw.txt"
    pw.write_text("")
    fd = os.open(str(tmp_path), os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        proc = subprocess.Popen([MQ_BIN, "passwd", "-H", "sha512", "-b", str(pw), "u", "p"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(0.5)
        assert proc.poll() is None, "mq passwd went ahead while the lock was held"
        assert pw.read_text() == ""
        fcntl.flock(fd, fcntl.LOCK_UN)
        assert proc.wait(10) == 0
    finally:
        os.close(fd)
    assert list(entries(pw)) == ["u"]


def test_concurrent_editors_lose_no_update(tmp_path):
    pw = tmp_path / "pw.txt"
    pw.write_text("")
    procs = [subprocess.Popen([MQ_BIN, "passwd", "-H", "sha512", "-b", str(pw), "u%d" % i, "p"],
                              stderr=subprocess.PIPE) for i in range(8)]
    for p in procs:
        assert p.wait(30) == 0, p.stderr.read()
    assert sorted(entries(pw)) == ["u%d" % i for i in range(8)]


def test_parallel_batch_rounds_lose_no_user(tmp_path, mosquitto):
    """Rounds of 4 `mq passwd -b` processes started together on one file (the file made first
    with -c): each reads the file, adds its user and replaces the file, so without the
    directory lock two of them read the same old file and one user is lost. Afterwards every
    user is in the file exactly once, its hash verifies, and Debian's broker logs each in."""
    pw = tmp_path / "pw.txt"
    assert mq("-H", "sha512", "-c", "-b", pw, "first", "p-first").returncode == 0
    rounds, width = 8, 4
    users = {"first": "p-first"}
    for r in range(rounds):
        batch = {"u%d_%d" % (r, k): "p%d_%d" % (r, k) for k in range(width)}
        procs = [subprocess.Popen([MQ_BIN, "passwd", "-H", "sha512", "-b", str(pw), u, p],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for u, p in batch.items()]
        for proc in procs:
            _, err = proc.communicate(timeout=20)
            assert proc.returncode == 0, err
        users.update(batch)
    names = [line.split(":", 1)[0] for line in pw.read_text().splitlines() if line]
    assert sorted(names) == sorted(users), "lost: %r" % sorted(set(users) - set(names))
    fields = entries(pw)
    assert all(python_verify(fields[u], p) for u, p in users.items())
    m = mosquitto(pw)
    for u, p in users.items():
        assert m.connect(u, p) == 0, u
    assert m.connect("u0_0", "wrong") == 5

"""--test-config does what start-up does short of binding, and files the broker cannot use
after its user switch are named with the permission and the user.

Mosquitto 2.0.11 has no --test-config (Debian's binary answers "Unknown option"); mq accepts
the 2.1 flag under both names and must then be honest: the same checks, messages and exit
status as a real start. Started as root, Mosquitto 2.0.11 switches to its user (default
`mosquitto`) straight after reading the configuration, before it opens the pid and log files,
the persistence file, password and ACL files, certificates or sockets (verified: a 0600 root
password file stops it with status 13, a 0600 certificate with 1, and SIGHUP reads files as
that user too); mq does the same, and says why a file failed.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile

import pytest

from brokers import MOSQUITTO, MQ_BIN, REFERENCE, free_port, stop_process, wait_for_port, wait_until

pytestmark = pytest.mark.mq_only  # Debian's mosquitto 2.0.11 has no --test-config

ROOT = os.geteuid() == 0
PUB = "/usr/bin/mosquitto_pub"


def mq_serve(args, cwd, timeout=10):
    return subprocess.run([MQ_BIN, "serve"] + list(args), cwd=str(cwd), stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=timeout)


def error_lines(text):
    """The Error:/Warning: lines, without Mosquitto-style timestamps."""
    out = []
    for line in text.splitlines():
        line = re.sub(r"^\d+: ", "", line)
        if line.startswith(("Error", "Warning")):
            out.append(line)
    return out


def write(path, text, mode=None):
    with open(path, "w") as f:
        f.write(text)
    if mode is not None:
        os.chmod(path, mode)
    return str(path)


def check_vs_start(tmp_path, conf_text, user_line="user root\n"):
    """Runs --test-config and a real start of the same file; both must fail alike."""
    port = free_port()
    conf = write(tmp_path / "c.conf", "listener %d 127.0.0.1\nlog_dest stderr\n%s%s"
                 % (port, user_line, conf_text))
    test = mq_serve(["-c", conf, "--test-config"], tmp_path)
    start = mq_serve(["-c", conf], tmp_path)
    return test, start


@pytest.fixture
def port_in_use():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    yield s.getsockname()[1]
    s.close()


def test_test_config_ok_binds_nothing(tmp_path, port_in_use):
    conf = write(tmp_path / "c.conf", "listener %d 127.0.0.1\nallow_anonymous true\n"
                 "persistence true\npersistence_location %s/\nuser root\n" % (port_in_use, tmp_path))
    r = mq_serve(["-c", conf, "--test-config"], tmp_path)
    assert (r.returncode, r.stderr) == (0, b"Configuration file is OK.\n"), r
    assert sorted(os.listdir(tmp_path)) == ["c.conf"], "nothing written, not even a snapshot"


def test_test_config_under_the_mosquitto_name(tmp_path):
    """Debian's 2.0.11 answers "Unknown option"; mq takes 2.1's flag under both names."""
    link = tmp_path / "mosquitto"
    os.symlink(os.path.abspath(MQ_BIN), link)
    conf = write(tmp_path / "c.conf", "listener %d 127.0.0.1\nacl_file %s/none\nuser root\n"
                 % (free_port(), tmp_path))
    r = subprocess.run([str(link), "-c", conf, "--test-config"], capture_output=True, timeout=10)
    assert r.returncode == 13, r
    assert error_lines(r.stderr.decode())[0] == 'Error: Unable to open acl_file "%s/none".' % tmp_path
    os.unlink(tmp_path / "c.conf")
    conf = write(tmp_path / "c.conf", "listener %d 127.0.0.1\nuser root\n" % free_port())
    r = subprocess.run([str(link), "-c", conf, "--test-config"], capture_output=True, timeout=10)
    assert (r.returncode, r.stderr) == (0, b"Configuration file is OK.\n"), r


CASES = {
    "acl_file missing": ("acl_file {d}/none\n", 13, 'Error: Unable to open acl_file "{d}/none".'),
    "acl_file bad line": ("acl_file {d}/acl\n", 3, 'Error: Invalid line in acl_file "{d}/acl": bogus.'),
    "password_file missing": ("password_file {d}/none\n", 13,
                              'Error: Unable to open pwfile "{d}/none".'),
    "certfile missing": ("certfile {d}/none.crt\nkeyfile {d}/none.key\n", 1, "Error: listener"),
    "persistence corrupt": ("persistence true\npersistence_location {d}/\n", 1,
                            "Error: persistence file {d}//mosquitto.db is"),
    "psk_file missing": ("psk_hint h\npsk_file {d}/none\n", 1, "Error: "),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_test_config_fails_as_start_fails(tmp_path, case):
    conf, status, first = CASES[case]
    d = str(tmp_path)
    write(tmp_path / "acl", "topic read a\nbogus\n")
    write(tmp_path / "mosquitto.db", "this is not a snapshot")
    test, start = check_vs_start(tmp_path, conf.format(d=d))
    assert start.returncode == status, start
    assert test.returncode == status, test
    assert b"Configuration file is OK." not in test.stderr
    t_err, s_err = error_lines(test.stderr.decode()), error_lines(start.stderr.decode())
    assert t_err and t_err[0].startswith(first.format(d=d)), t_err
    assert [l for l in s_err if l in t_err] == t_err, (t_err, s_err)


def test_test_config_unknown_user_as_start(tmp_path):
    test, start = check_vs_start(tmp_path, "", user_line="user no-such-user-mq\n")
    line = "Error: Unable to drop privileges to 'no-such-user-mq' because this user does not exist."
    assert test.returncode == start.returncode == 1, (test, start)
    assert error_lines(test.stderr.decode()) == error_lines(start.stderr.decode()) == [line]


def test_test_config_unknown_user_matches_mosquitto_start(tmp_path):
    if not ROOT:
        pytest.skip("the user switch happens only when started as root")
    conf = write(tmp_path / "c.conf", "listener %d 127.0.0.1\nuser no-such-user-mq\n" % free_port())
    deb = subprocess.run([MOSQUITTO, "-c", conf], capture_output=True, timeout=10)
    ours = mq_serve(["-c", conf], tmp_path)
    assert ours.returncode == deb.returncode == 1
    assert error_lines(ours.stderr.decode()) == error_lines(deb.stderr.decode())


# --- started as root with `user mosquitto` ----------------------------------------------------

needs_root = pytest.mark.skipif(not ROOT, reason="needs root to switch user")


def ensure_mosquitto_user():
    ids = subprocess.run(["id", "-u", "mosquitto"], capture_output=True, text=True)
    if ids.returncode != 0:  # Debian's mosquitto package creates it; do the same
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        "mosquitto"], check=True)
        ids = subprocess.run(["id", "-u", "mosquitto"], capture_output=True, text=True)
    return int(ids.stdout)


@pytest.fixture
def public_dir():
    """A directory user mosquitto can search (pytest's tmp dirs are 0700 root)."""
    d = tempfile.mkdtemp(prefix="mq-user-", dir="/tmp")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def pw_file(d, mode, group=None):
    path = os.path.join(d, "pw")
    subprocess.run([MQ_BIN, "passwd", "-c", "-b", path, "alice", "secret"], check=True,
                   capture_output=True)
    if group is not None:
        os.chown(path, 0, group)
    os.chmod(path, mode)
    return path


def start_as_mosquitto(d, conf_text):
    port = free_port()
    conf = write(os.path.join(d, "c.conf"), "listener %d 127.0.0.1\nlog_dest stderr\n%s"
                 % (port, conf_text))
    log = os.path.join(d, "broker.log")
    proc = subprocess.Popen([MQ_BIN, "serve", "-c", conf], cwd=d, stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=open(log, "wb"))
    assert wait_for_port(port, 5.0, proc), open(log).read()
    return proc, port, log


def read(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


@needs_root
def test_root_only_password_file_refused_at_start_saying_why(public_dir):
    uid = ensure_mosquitto_user()
    pw = pw_file(public_dir, 0o600)
    conf = write(os.path.join(public_dir, "c.conf"), "listener %d 127.0.0.1\npassword_file %s\n"
                 % (free_port(), pw))
    deb = subprocess.run([MOSQUITTO, "-c", conf], capture_output=True, timeout=10)
    start = mq_serve(["-c", conf], public_dir)
    test = mq_serve(["-c", conf, "--test-config"], public_dir)
    assert deb.returncode == start.returncode == test.returncode == 13, (deb, start, test)
    why = "Error: user mosquitto (uid %d) has no read permission on %s." % (uid, pw)
    assert why in error_lines(start.stderr.decode()), start.stderr
    assert why in error_lines(test.stderr.decode()), test.stderr
    # Mosquitto's two lines come first, unchanged.
    assert error_lines(start.stderr.decode())[:2] == error_lines(deb.stderr.decode())


@needs_root
def test_root_only_key_refused_saying_why(public_dir):
    uid = ensure_mosquitto_user()
    key, crt = os.path.join(public_dir, "k.key"), os.path.join(public_dir, "k.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", crt, "-days", "1", "-subj", "/CN=localhost"], check=True,
                   capture_output=True)
    os.chmod(crt, 0o644)
    os.chmod(key, 0o600)
    conf = write(os.path.join(public_dir, "c.conf"), "listener %d 127.0.0.1\ncertfile %s\n"
                 "keyfile %s\n" % (free_port(), crt, key))
    deb = subprocess.run([MOSQUITTO, "-c", conf], capture_output=True, timeout=10)
    start = mq_serve(["-c", conf], public_dir)
    test = mq_serve(["-c", conf, "--test-config"], public_dir)
    assert deb.returncode == start.returncode == test.returncode == 1, (deb, start, test)
    why = "Error: user mosquitto (uid %d) has no read permission on %s." % (uid, key)
    assert why in error_lines(start.stderr.decode()), start.stderr
    assert why in error_lines(test.stderr.decode()), test.stderr


@needs_root
def test_sighup_rereads_password_file_as_the_user(public_dir):
    uid = ensure_mosquitto_user()
    gid = int(subprocess.run(["id", "-g", "mosquitto"], capture_output=True, text=True).stdout)
    pw = pw_file(public_dir, 0o640, group=gid)  # root:mosquitto 0640, as a packaged setup
    proc, port, log = start_as_mosquitto(public_dir, "password_file %s\n" % pw)
    try:
        def pub(user, password):
            return subprocess.run([PUB, "-p", str(port), "-u", user, "-P", password, "-t", "t",
                                   "-m", "x"], capture_output=True, timeout=10).returncode
        assert pub("alice", "secret") == 0
        subprocess.run([MQ_BIN, "passwd", "-b", pw, "bob", "pw2"], check=True)
        assert os.stat(pw).st_gid == gid and os.stat(pw).st_mode & 0o777 == 0o640
        proc.send_signal(signal.SIGHUP)
        assert wait_until(lambda: pub("bob", "pw2") == 0, 5.0), read(log)
        # Now a file the user cannot read: the reload says which file and for whom.
        os.chmod(pw, 0o600)
        proc.send_signal(signal.SIGHUP)
        why = "Error: user mosquitto (uid %d) has no read permission on %s." % (uid, pw)
        assert wait_until(lambda: why in read(log), 5.0), read(log)
        # The configuration file itself is read at start as root, on SIGHUP as the user.
        conf = os.path.join(public_dir, "c.conf")
        os.chmod(conf, 0o600)
        proc.send_signal(signal.SIGHUP)
        why = "Error: user mosquitto (uid %d) has no read permission on %s." % (uid, conf)
        assert wait_until(lambda: why in read(log), 5.0), read(log)
        assert proc.poll() is None
    finally:
        stop_process(proc)


@needs_root
def test_persistence_directory_not_writable_is_explained(public_dir):
    uid = ensure_mosquitto_user()
    data = os.path.join(public_dir, "data")
    os.mkdir(data, 0o755)  # root's: the user cannot create mosquitto.db.new here
    proc, port, log = start_as_mosquitto(
        public_dir, "allow_anonymous true\npersistence true\npersistence_location %s/\n" % data)
    why = "user mosquitto (uid %d) has no write permission on directory %s/" % (uid, data)
    try:
        assert wait_until(lambda: "Warning: persistence snapshots to %s//mosquitto.db will fail: %s."
                          % (data, why) in read(log), 5.0), read(log)
        proc.send_signal(signal.SIGUSR1)
        assert wait_until(lambda: "Error: %s." % why in read(log)
                          and "Permission denied" in read(log), 5.0), read(log)
    finally:
        stop_process(proc)
    # The same directory given to the user: snapshots work and belong to it.
    shutil.rmtree(data)
    os.mkdir(data, 0o755)
    os.chown(data, uid, -1)
    proc, port, log = start_as_mosquitto(
        public_dir, "allow_anonymous true\npersistence true\npersistence_location %s/\n" % data)
    try:
        proc.send_signal(signal.SIGUSR1)
        db = os.path.join(data, "mosquitto.db")
        assert wait_until(lambda: os.path.exists(db), 5.0), read(log)
        assert os.stat(db).st_uid == uid
        assert "Warning: persistence" not in read(log)
    finally:
        stop_process(proc)


@needs_root
def test_privileged_port_after_user_switch_as_mosquitto(public_dir):
    """Sockets are bound after the switch too: port 883 needs setcap, as Mosquitto says."""
    ensure_mosquitto_user()
    conf = write(os.path.join(public_dir, "c.conf"), "listener 883 127.0.0.1\n"
                 "allow_anonymous true\nlog_dest stderr\n")
    deb = subprocess.run([MOSQUITTO, "-c", conf], capture_output=True, timeout=10)
    start = mq_serve(["-c", conf], public_dir)
    test = mq_serve(["-c", conf, "--test-config"], public_dir)
    hint = ("If you are trying to bind to a privileged port (<1024), try using setcap and do not "
            "start the broker as root:")
    for r in (deb, start, test):
        assert r.returncode == 1, r
        lines = [re.sub(r"^\d+: ", "", l) for l in r.stderr.decode().splitlines()]
        assert hint in lines, r.stderr
    assert b"Configuration file is OK." not in test.stderr

"""A Mosquitto user's setup notes, section 3 (access control): their mosquitto.conf with password_file,
acl_file and allow_anonymous, their pwfile made with mosquitto_passwd and their aclfile, as
Mosquitto users run them. Passes against Debian's mosquitto too (MQ_TEST_REFERENCE=1); with mq
the password file is made by mq under the name mosquitto_passwd.

Adapted only where a test must: the listener is 127.0.0.1 on a free port (not 0.0.0.0:1883),
the files live in the test's directory, `user junlin` becomes `user root` when run as root."""

import os
import subprocess

import pytest

import mqttraw as mr
from brokers import MQ_BIN, REFERENCE, free_port, run_broker

# Section 3.1, the options that are not commented out, in the notes' order.
NOTES_CONF = """\
allow_anonymous true
log_type all
log_dest stderr
persistence true
persistence_location {dir}/
autosave_interval 9000
autosave_on_changes false
max_connections -1
max_keepalive 10
use_identity_as_username false
acl_file {dir}/aclfile
password_file  {dir}/pwfile
"""

# Section 3.3 exactly: the '#' comments after the topics are not comments to Mosquitto.
NOTES_ACL = ("user junlin\n"
             "topic write sensors/#      # 允许发布以test开头的主题\n"
             "topic read $SYS/#       # 允许订阅系统主题\n\n")
# The same rules with the comments on lines of their own, which is what the notes meant.
MEANT_ACL = ("user junlin\n"
             "# 允许发布以test开头的主题\n"
             "topic write sensors/#\n"
             "# 允许订阅系统主题\n"
             "topic read $SYS/#\n")


def passwd_argv(tmp_path):
    """mosquitto_passwd: Debian's against the reference broker, else mq under that name."""
    if REFERENCE:
        return ["/usr/bin/mosquitto_passwd"]
    link = tmp_path / "mosquitto_passwd"
    if not link.exists():
        os.symlink(MQ_BIN, link)
    return [str(link)]


def make_files(tmp_path, acl_text):
    # Section 3.2: `mosquitto_passwd -c pwfile username`, then appending a second user (batch
    # mode here, where the notes type the passwords at the prompt).
    pw = str(tmp_path / "pwfile")
    for args in (["-c", "-b", pw, "junlin", "junlin-pw"], ["-b", pw, "user2", "user2-pw"]):
        res = subprocess.run(passwd_argv(tmp_path) + args, capture_output=True, timeout=10)
        assert res.returncode == 0, res.stderr
    (tmp_path / "aclfile").write_text(acl_text)
    return NOTES_CONF.format(dir=tmp_path)


def test_notes_acl_file_as_written_stops_the_broker(tmp_path):
    conf = make_files(tmp_path, NOTES_ACL)
    lines = ["listener %d 127.0.0.1" % free_port()] + (["user root"] if os.geteuid() == 0 else [])
    (tmp_path / "notes.conf").write_text("\n".join(lines) + "\n" + conf)
    res = run_broker(["-c", str(tmp_path / "notes.conf")], tmp_path, as_mosquitto=True)
    out = (res.stdout + res.stderr).decode()
    assert res.returncode == 3, out
    assert ('Error: Invalid ACL topic "sensors/#      # 允许发布以test开头的主题" in acl_file "%s".'
            % (tmp_path / "aclfile")) in out
    assert 'Error opening acl file "%s".' % (tmp_path / "aclfile") in out


@pytest.fixture
def notes_broker(tmp_path, start_broker):
    conf = make_files(tmp_path, MEANT_ACL)
    return start_broker(conf)


def login(port, user=None, password=None, version=mr.V311, cid=None):
    c = mr.Conn(port, version)
    c.send(mr.connect(cid or "notes-%s-%d" % (user or "anon", version), version=version,
                      username=user, password=password))
    return c, c.expect(mr.CONNACK)


@pytest.mark.parametrize("version", [mr.V311, mr.V5], ids=["v311", "v5"])
def test_notes_logins(notes_broker, version):
    port = notes_broker.port
    bad = 5 if version == mr.V311 else 0x87  # Mosquitto 2.0 answers "not authorized"
    for user, password, want in [("junlin", "junlin-pw", 0), ("user2", "user2-pw", 0),
                                 ("junlin", "wrong", bad), ("nobody", "x", bad),
                                 (None, None, 0)]:  # allow_anonymous true
        c, ack = login(port, user, password, version)
        assert ack.reason == want, (user, password, ack)
        c.close()


def test_notes_acl(notes_broker, conns):
    port = notes_broker.port
    # junlin reads $SYS (the version is retained) and nothing else; writes sensors/#.
    junlin_reader = conns(mr.client(port, "notes-junlin-r", username="junlin",
                                    password="junlin-pw"))
    junlin_reader.sub([("$SYS/broker/version", 0), ("sensors/#", 0), ("other/#", 0)])
    got = junlin_reader.recv_publish()
    assert got.topic == "$SYS/broker/version"
    # An observer that may not read anything (user2 has no rules; so has an anonymous client).
    for who in [dict(username="user2", password="user2-pw"), dict()]:
        o = conns(mr.client(port, "notes-obs-%s" % who.get("username", "anon"), **who))
        o.sub([("sensors/#", 0), ("$SYS/broker/version", 0)])
        o.expect_silence(0.3)
    w = conns(mr.client(port, "notes-junlin-w", username="junlin", password="junlin-pw",
                        version=mr.V5))
    assert w.pub("sensors/temperature", b"21.5", qos=1).reason in (0x00, 0x10)
    assert w.pub("other/x", b"no", qos=1).reason == 0x87
    for who in [dict(username="user2", password="user2-pw"), dict()]:
        c = conns(mr.client(port, "notes-w-%s" % who.get("username", "anon"), version=mr.V5,
                            **who))
        assert c.pub("sensors/temperature", b"nope", qos=1).reason == 0x87
    # junlin may write sensors/# but not read it: nothing comes back to the reader.
    junlin_reader.expect_silence(0.3)


def test_notes_keepalive_limit(notes_broker):
    # max_keepalive 10, with Debian's Mosquitto 2.0.11's behaviour: an MQTT 5 client asking for
    # more (or for none) is told 10 in Server Keep Alive; a 3.1.1 client keeps its own value, so
    # mosquitto_sub's default -k 60 connects.
    for ka in (60, 0):
        c = mr.Conn(notes_broker.port, mr.V311)
        c.send(mr.connect("notes-ka3-%d" % ka, keepalive=ka, username="junlin",
                          password="junlin-pw"))
        assert c.expect(mr.CONNACK).reason == 0
        c.close()
        c5 = mr.Conn(notes_broker.port, mr.V5)
        c5.send(mr.connect("notes-ka5-%d" % ka, version=mr.V5, keepalive=ka, username="junlin",
                           password="junlin-pw"))
        ack = c5.expect(mr.CONNACK)
        assert ack.reason == 0 and ack.props.get(0x13) == 10, ack
        c5.close()
    res = subprocess.run(["/usr/bin/mosquitto_sub", "-p", str(notes_broker.port), "-u", "junlin",
                          "-P", "junlin-pw", "-t", "$SYS/broker/version", "-C", "1", "-W", "5"],
                         capture_output=True, timeout=10)
    assert res.returncode == 0, res
    assert res.stdout.startswith((b"mosquitto version", b"mq version")), res

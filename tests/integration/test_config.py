"""Start-up, command line, config file errors, logging and signals."""

import os
import re
import signal
import subprocess
import time

import pytest

import mqttraw as mr
from brokers import (MQ_BIN, REFERENCE, assert_broker_alive, broker_argv, free_port,
                     run_broker, stop_process, wait_for_port, wait_until)


def write(path, text):
    path.write_text(text)
    return str(path)


def output(res):
    return (res.stdout + res.stderr).decode("utf-8", "replace")


# ---------------------------------------------------------------- start-up and config errors

def test_config_file_listener_works(broker):
    assert broker.running()
    assert_broker_alive(broker.port)
    assert_broker_alive(broker.port, version=mr.V5)


def test_unknown_config_option_exit_3_names_file_line(tmp_path):
    conf = write(tmp_path / "bad.conf",
                 "listener %d 127.0.0.1\nallow_anonymous true\nbogus_option 1\n" % free_port())
    res = run_broker(["-c", conf], tmp_path)
    assert res.returncode == 3, output(res)
    assert "%s:3" % conf in output(res)
    assert "bogus_option" in output(res)


def test_tab_separator_exit_3(tmp_path):
    conf = write(tmp_path / "tab.conf", "listener\t%d 127.0.0.1\n" % free_port())
    res = run_broker(["-c", conf], tmp_path)
    assert res.returncode == 3, output(res)
    assert "%s:1" % conf in output(res)


def test_indented_comment_exit_3(tmp_path):
    conf = write(tmp_path / "ind.conf", "listener %d 127.0.0.1\n  # not a comment\n" % free_port())
    res = run_broker(["-c", conf], tmp_path)
    assert res.returncode == 3, output(res)
    assert "%s:2" % conf in output(res)


def test_invalid_boolean_exit_3(tmp_path):
    conf = write(tmp_path / "bool.conf",
                 "listener %d 127.0.0.1\nallow_anonymous yes\n" % free_port())
    res = run_broker(["-c", conf], tmp_path)
    assert res.returncode == 3, output(res)
    assert "%s:2" % conf in output(res)


@pytest.mark.parametrize("value,shown", [("abc", "0"), ("10abc", None), ("9", "9"),
                                         ("0", "0"), ("65536", "65536")])
def test_max_keepalive_values_as_mosquitto_2_0_11(tmp_path, value, shown):
    """2.0.11 reads the value with atoi and refuses below 10 (so `abc` is "0")."""
    conf = write(tmp_path / "ka.conf",
                 "listener %d 127.0.0.1\nmax_keepalive %s\n" % (free_port(), value))
    if shown is None:  # atoi stops at the letters: 10 is valid
        res = subprocess.run(broker_argv() + ["-c", conf, "--test-config"] if not REFERENCE
                             else ["true"], capture_output=True, timeout=10)
        assert res.returncode == 0, output(res)
        return
    res = run_broker(["-c", conf], tmp_path)
    assert res.returncode == 3, output(res)
    assert "Error: Invalid max_keepalive value (%s)." % shown in output(res)
    assert "Error found at %s:2." % conf in output(res)


def test_comments_blank_lines_and_spaces_accepted(start_broker):
    b = start_broker("# a comment\n\nallow_anonymous    true\nmax_keepalive 100 # trailing\n")
    assert_broker_alive(b.port)


def test_missing_config_file_fails(tmp_path):
    res = run_broker(["-c", str(tmp_path / "does-not-exist.conf")], tmp_path)
    assert res.returncode != 0
    assert "does-not-exist.conf" in output(res)


def test_help_prints_usage_exit_3(tmp_path):
    res = run_broker(["-h"], tmp_path, as_mosquitto=True)
    text = output(res)
    assert res.returncode == 3, text
    assert "Usage" in text and "-c" in text and "-p" in text


@pytest.mark.mq_only
def test_mq_serve_help_exits_0(tmp_path):
    # Under the mq name --help is a request, not an error (the multicall convention).
    res = run_broker(["--help"], tmp_path)
    assert res.returncode == 0, output(res)
    assert "--port-file" in output(res)


def test_unknown_command_line_option(tmp_path):
    res = run_broker(["--no-such-option"], tmp_path)
    assert res.returncode == 3
    assert "--no-such-option" in output(res)


def test_local_only_mode_with_port(tmp_path):
    for _ in range(5):
        port = free_port()
        proc = subprocess.Popen(broker_argv() + ["-p", str(port)], cwd=str(tmp_path),
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE)
        try:
            if wait_for_port(port, 5.0, proc):
                assert_broker_alive(port)
                assert_broker_alive(port, version=mr.V5)
                return
        finally:
            stop_process(proc)
    pytest.fail("local-only broker never accepted")


def test_pid_file_written(start_broker, tmp_path):
    pid_path = tmp_path / "mq.pid"
    b = start_broker("pid_file %s\n" % pid_path)
    assert wait_until(lambda: pid_path.exists() and pid_path.read_text().strip(), 5)
    assert int(pid_path.read_text().strip()) == b.proc.pid


@pytest.mark.mq_only
def test_started_as_mosquitto_via_symlink(start_broker, tmp_path):
    link = tmp_path / "mosquitto"
    os.symlink(os.path.abspath(MQ_BIN), link)
    b = start_broker(argv0=str(link))
    assert_broker_alive(b.port)


@pytest.mark.mq_only
def test_port_zero_with_port_file(tmp_path):
    port_file = tmp_path / "port"
    proc = subprocess.Popen([MQ_BIN, "serve", "-p", "0", "--port-file", str(port_file)],
                            cwd=str(tmp_path), stdin=subprocess.DEVNULL,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        text = wait_until(lambda: port_file.exists() and port_file.read_text(), 5)
        assert text, "port file not written"
        lines = text.strip().splitlines()
        assert all(re.fullmatch(r"\d+", line) for line in lines), lines
        port = int(lines[0])
        assert 0 < port < 65536
        assert wait_for_port(port, 5.0, proc)
        assert_broker_alive(port)
    finally:
        stop_process(proc)


# ---------------------------------------------------------------- logging

CONNECTED_RX = r"New client connected from 127\.0\.0\.1:\d+ as logid1 \(p2, c1, k60\)\."


def test_connection_log_line_on_stderr(start_broker, conns):
    b = start_broker("connection_messages true\n")
    conns(mr.client(b.port, "logid1", keepalive=60))
    b.wait_log(CONNECTED_RX)


def test_connection_log_line_v5_and_persistent(start_broker, conns):
    b = start_broker("connection_messages true\n")
    conns(mr.client(b.port, "logid5", version=mr.V5, clean=False, keepalive=30))
    b.wait_log(r"New client connected from 127\.0\.0\.1:\d+ as logid5 \(p5, c0, k30\)\.")


def test_connection_log_line_to_log_file(start_broker, tmp_path, conns):
    log = tmp_path / "broker.log"
    b = start_broker("log_dest file %s\nconnection_messages true\n" % log)
    conns(mr.client(b.port, "logid1", keepalive=60))
    b.wait_log(CONNECTED_RX, path=str(log))
    text = log.read_text()
    # default timestamp: epoch seconds then ": "
    line = [x for x in text.splitlines() if "as logid1" in x][0]
    assert re.match(r"\d{9,}: New client connected", line), line


def test_disconnect_log_line(start_broker, conns):
    b = start_broker("connection_messages true\n")
    c = mr.client(b.port, "logbye")
    c.disconnect()
    b.wait_log(r"Client logbye disconnected\.")


def test_connection_messages_false(start_broker, conns):
    b = start_broker("connection_messages false\nlog_type all\n")
    conns(mr.client(b.port, "quietid"))
    # something else about that client is logged (e.g. CONNACK), but not the connect line
    b.wait_log(r"quietid")
    assert "New client connected" not in b.log()


# ---------------------------------------------------------------- signals

def test_sigterm_stops_within_2s(broker):
    t0 = time.monotonic()
    broker.proc.send_signal(signal.SIGTERM)
    rc = broker.proc.wait(2.0)
    assert time.monotonic() - t0 < 2.0
    assert rc == 0


def test_sigterm_with_clients_connected(broker, conns):
    for i in range(5):
        conns(mr.client(broker.port, "sig-%d" % i, version=mr.V5 if i % 2 else mr.V311))
    broker.proc.send_signal(signal.SIGTERM)
    assert broker.proc.wait(2.0) == 0


def test_sigint_stops(broker):
    broker.proc.send_signal(signal.SIGINT)
    assert broker.proc.wait(2.0) == 0


def test_sighup_keeps_running(broker, conns):
    c = conns(mr.client(broker.port, "hup-client"))
    c.sub("hup/t", 1)
    broker.proc.send_signal(signal.SIGHUP)
    time.sleep(0.3)
    assert broker.running()
    c.send(mr.pingreq())
    assert c.recv().type == mr.PINGRESP
    assert_broker_alive(broker.port)
    pub = conns(mr.client(broker.port, "hup-pub"))
    pub.pub("hup/t", b"still subscribed", qos=1)
    assert c.recv_publish().payload == b"still subscribed"


def test_sighup_reloads_config(start_broker, conns):
    b = start_broker("connection_messages false\n")
    conns(mr.client(b.port, "before-hup"))
    b.extra_conf = "connection_messages true\n"
    b.write_conf()
    b.proc.send_signal(signal.SIGHUP)
    n = [0]

    def reloaded():
        n[0] += 1
        c = mr.client(b.port, "after-hup-%d" % n[0])
        c.disconnect()
        return re.search(r"New client connected from \S+ as after-hup-", b.log())
    assert wait_until(reloaded, 5, interval=0.1)
    assert "as before-hup" not in b.log()
    assert b.running()


def test_sigusr2_does_not_stop(broker):
    # Mosquitto prints its subscription tree; mq must at least not die.
    broker.proc.send_signal(signal.SIGUSR2)
    time.sleep(0.2)
    assert broker.running()
    assert_broker_alive(broker.port)



@pytest.mark.mq_only
def test_mount_point_prefixes_a_listeners_topics(start_broker, conns):
    # mosquitto.conf(5): "This prefix is removed when any messages are sent to the client."
    # Mosquitto 2.0.11 was seen sending "tenant1/x/y" to the listener's own client (against its
    # documentation); mq follows the documentation.
    inner_port = free_port()
    b = start_broker("listener %d 127.0.0.1\nmount_point tenant1/\n" % inner_port)
    outer = conns(mr.client(b.port, "outer"))
    outer.sub([("#", 0)])
    inner = conns(mr.client(inner_port, "inner"))
    inner.sub([("#", 0)])
    inner.pub("x/y", b"hi", qos=1)
    p = outer.recv_publish()
    assert (p.topic, p.payload) == ("tenant1/x/y", b"hi")
    p = inner.recv_publish()
    assert (p.topic, p.payload) == ("x/y", b"hi")  # the prefix is invisible inside
    outer.pub("elsewhere/z", b"no", qos=1)
    inner.expect_silence(0.3)  # outside the mount point: not visible to its clients

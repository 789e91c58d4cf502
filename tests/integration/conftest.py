"""Fixtures for the broker integration tests (see brokers.py for how the broker is chosen).

  MQ_BIN=build/mq /usr/bin/python3 -m pytest -q tests/integration        # test mq
  MQ_TEST_REFERENCE=1 /usr/bin/python3 -m pytest -q tests/integration    # test real Mosquitto
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import brokers  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "mq_only: behaviour only mq provides (skipped against the real Mosquitto)")


def pytest_report_header(config):
    if brokers.REFERENCE:
        return "broker under test: %s (reference mode)" % brokers.MOSQUITTO
    return "broker under test: %s serve" % brokers.MQ_BIN


def pytest_collection_modifyitems(config, items):
    if not brokers.REFERENCE:
        return
    skip = pytest.mark.skip(reason="mq-only behaviour; not tested against reference Mosquitto")
    for item in items:
        if "mq_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def start_broker(tmp_path):
    """Factory: start_broker(conf="extra lines", listener=True, args=[...]) -> Broker.
    Every broker started is stopped (by pid) at teardown."""
    started = []

    def start(conf="", listener=True, args=None, argv0=None, subdir=None):
        d = tmp_path / (subdir or "b%d" % len(started))
        d.mkdir()
        b = brokers.Broker(d, conf, listener, args, argv0)
        started.append(b)
        return b.start()

    yield start
    for b in started:
        b.stop()


@pytest.fixture
def broker(start_broker):
    """A default broker with one 127.0.0.1 listener."""
    return start_broker()


@pytest.fixture
def port(broker):
    return broker.port


@pytest.fixture
def conns():
    """Collects raw connections so teardown closes them: c = conns(mr.client(...))."""
    opened = []

    def add(c):
        opened.append(c)
        return c

    yield add
    for c in opened:
        c.close()

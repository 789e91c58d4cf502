"""MQTT.js (the `mqtt` npm package, run with node) against the broker, MQTT 3.1.1 and 5.0."""

import json
import os
import shutil
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
JS = os.path.join(HERE, "js")

pytestmark = pytest.mark.skipif(
    not shutil.which("node") or not os.path.isdir(os.path.join(JS, "node_modules", "mqtt")),
    reason="node or the mqtt package is missing (./setup.sh --test installs them)")


def run_js(port, version):
    res = subprocess.run(["node", os.path.join(JS, "roundtrip.js"), "--port=%d" % port,
                          "--version=%d" % version], capture_output=True, timeout=20)
    assert res.returncode == 0, (res.stdout, res.stderr)
    return json.loads(res.stdout.decode().strip().splitlines()[-1])


@pytest.mark.parametrize("version", [4, 5])
def test_mqttjs_round_trip(port, version):
    out = run_js(port, version)
    assert out.get("ok"), out
    by_topic = {m["topic"].rsplit("/", 1)[1]: m for m in out["got"]}
    assert {k: (m["payload"], m["qos"]) for k, m in by_topic.items()} == {
        "q0": ("zero", 0), "q1": ("one", 1), "q2": ("two", 2), "r": ("kept", 1)}
    # A live message to an existing subscription carries retain 0 (unless Retain As Published).
    assert by_topic["r"]["retain"] is False
    if version == 5:
        for m in out["got"]:
            assert m["properties"]["userProperties"] == {"k": "v"}
            assert m["properties"]["contentType"] == "text/plain"

// MQTT.js peer for the integration tests: subscribes, publishes at QoS 0, 1 and 2 (and, for
// MQTT 5, with user properties, content type and a retained message), then prints one JSON line
// with what came back. Exits non-zero on error or after a bounded time.
'use strict';
const mqtt = require('mqtt');

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
const port = Number(args.port);
const version = Number(args.version || 4);
const url = `${args.scheme || 'mqtt'}://127.0.0.1:${port}${args.path || ''}`;
const topic = `js/${version}/${process.pid}`;
const timer = setTimeout(() => { console.log(JSON.stringify({ error: 'timeout' })); process.exit(2); }, 8000);

const opts = { protocolVersion: version, clean: true, reconnectPeriod: 0, connectTimeout: 4000 };
// --tls=TLSv1.3 (or TLSv1.2): wss:// with exactly that TLS version.
if (args.tls) opts.wsOptions = { minVersion: args.tls, maxVersion: args.tls };
const client = mqtt.connect(url, opts);
const got = [];
let done = false;
client.on('error', (e) => {
  if (done) return;  // a reset while closing after success is not a failure
  console.log(JSON.stringify({ error: String(e) }));
  process.exit(1);
});
client.on('message', (t, payload, packet) => {
  const item = { topic: t, payload: payload.toString(), qos: packet.qos, retain: packet.retain };
  if (version === 5 && packet.properties) item.properties = packet.properties;
  got.push(item);
  if (got.length === 4 && !done) {
    done = true;
    clearTimeout(timer);
    console.log(JSON.stringify({ ok: true, got }));
    client.end(false, () => process.exit(0));
    setTimeout(() => process.exit(0), 1000);
  }
});
client.on('connect', (connack) => {
  client.subscribe(`${topic}/#`, { qos: 2 }, (err) => {
    if (err) { console.log(JSON.stringify({ error: String(err) })); process.exit(1); }
    const props = version === 5 ? { properties: { userProperties: { k: 'v' }, contentType: 'text/plain' } } : {};
    client.publish(`${topic}/q0`, 'zero', { qos: 0, ...props });
    client.publish(`${topic}/q1`, 'one', { qos: 1, ...props });
    client.publish(`${topic}/q2`, 'two', { qos: 2, ...props });
    client.publish(`${topic}/r`, 'kept', { qos: 1, retain: true, ...props });
  });
});

#!/usr/bin/env node
'use strict';
// Nyckelbo: an example lock vendor's adapter for Navet, in Node.js, as its own process.
//
//   node main.js --url mqtts://broker:8883 --tenant vasteras --state ./state \
//       --ca ca.pem --cert nyckelbo-vasteras.pem --key nyckelbo-vasteras.key
//
// It reports what its (simulated) locks do as lock.unlocked / lock.locked / device.battery
// events and executes lock.unlock / lock.lock commands from Navet. `--send N` makes N
// deterministic lock events (for demos and tests) and `--exit-when-acked` exits 0 once
// Navet has acknowledged every one of them.

const path = require('node:path');
const fs = require('node:fs');
const { NavetAdapter, uuid5 } = require('./navet');

const NAMESPACE = '6f1c1d5e-1c39-4f4e-9a55-6e796b656c62'; // Nyckelbo's own id namespace
const T0 = Date.parse('2026-01-01T07:00:00Z');

function args(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i += 1) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const key = a.slice(2);
    if (key === 'exit-when-acked') { out[key] = true; continue; }
    out[key] = argv[i + 1];
    i += 1;
  }
  return out;
}

function lockEvent(adapter, seq, locks) {
  // Event number `seq` of the simulated fleet: the same seq always gives the same event.
  const lock = locks[seq % locks.length];
  const opened = seq % 2 === 0;
  const ref = `nb-${seq}`;
  const device = { id: `${adapter.manifest.name}:${lock}`, kind: 'door_lock', vendor: 'Nyckelbo', model: 'NB-2', serial: lock };
  return adapter.cloudEvent({
    id: uuid5(NAMESPACE, `${adapter.tenant}:${ref}`),
    type: opened ? 'lock.unlocked' : 'lock.locked',
    time: new Date(T0 + seq * 1000).toISOString(),
    device,
    ref,
    data: opened ? { by: { kind: 'staff', id: 'staff-17' }, method: 'app' } : { by: null, method: 'auto' },
  });
}

async function main() {
  const a = args(process.argv.slice(2));
  const env = process.env;
  const manifestFile = a.manifest || path.join(__dirname, 'navet-adapter.json');
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
  const locks = (a.locks || env.NYCKELBO_LOCKS || 'L01,L02,L03,L04,L05').split(',');
  const sendN = Number(a.send || 0);
  const intervalMs = Number(a['interval-ms'] || 0);
  let adapter;

  async function onCommand(cmd) {
    // What the Nyckelbo lock service would do; here: every known lock obeys at once.
    const lock = cmd.address;
    if (!locks.includes(lock)) return { accepted: false, reason: `no Nyckelbo lock ${lock}` };
    const unlock = cmd.name === 'lock.unlock';
    if (!unlock && cmd.name !== 'lock.lock') return { accepted: false, reason: `cannot ${cmd.name}` };
    const ref = `cmd-${cmd.id}`;
    adapter.send(adapter.cloudEvent({
      id: uuid5(NAMESPACE, `${adapter.tenant}:${ref}`),
      type: unlock ? 'lock.unlocked' : 'lock.locked',
      time: new Date().toISOString(),
      device: { id: `${manifest.name}:${lock}`, kind: 'door_lock', vendor: 'Nyckelbo', model: 'NB-2', serial: lock },
      ref,
      resident: cmd.resident || null,
      data: { by: cmd.requested_by || null, method: 'remote' },
    }));
    return { accepted: true, vendor_ref: ref };
  }

  adapter = new NavetAdapter({
    url: a.url || env.NAVET_MQTT_URL || 'mqtt://127.0.0.1:1883',
    tenant: a.tenant || env.NAVET_TENANT,
    prefix: a.prefix || env.NAVET_PREFIX || 'navet',
    manifest,
    stateDir: a.state || env.NYCKELBO_STATE || './nyckelbo-state',
    heartbeatS: Number(a['heartbeat-s'] || env.NAVET_HEARTBEAT_S || 10),
    resendAfterS: Number(a['resend-after-s'] || 30),
    ca: a.ca || env.NAVET_CA,
    cert: a.cert || env.NAVET_CERT,
    key: a.key || env.NAVET_KEY,
    clientId: a['client-id'],
    onCommand,
  });
  if (!adapter.tenant) throw new Error('name the tenant: --tenant or NAVET_TENANT');
  adapter.connect();

  const stop = () => adapter.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  // The fleet: events seq .. sendN-1, continuing where a previous run stopped (the journal's
  // counter), so a restart after a crash neither skips nor repeats an event.
  while (adapter.nextSeq < sendN) {
    adapter.send(lockEvent(adapter, adapter.nextSeq, locks));
    if (intervalMs) await new Promise((r) => setTimeout(r, intervalMs));
  }
  if (a['exit-when-acked']) {
    await adapter.untilAcked();
    console.log(JSON.stringify({ sent: adapter.nextSeq, pending: adapter.journal.size }));
    await adapter.close();
    process.exit(0);
  }
}

main().catch((err) => {
  console.error(`nyckelbo: ${err.message}`);
  process.exit(2);
});

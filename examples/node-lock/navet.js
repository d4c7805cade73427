'use strict';
// The Navet adapter contract over MQTT (contract 1.3), for any Node.js adapter.
//
// Topics under <prefix>/<tenant>/adapters/<adapter>/ (docs/adapters/out-of-process.md):
//   hello      we publish, retained: manifest, heartbeat interval; our last will says offline
//   heartbeat  we publish every heartbeatS seconds: {time, unacked}
//   events     we publish one CloudEvent per message, QoS 1
//   acks       Navet publishes {id, status: stored|duplicate|refused, reason} once it has
//              the event durably; only then do we forget it
//   welcome    Navet answers our hello: {accepted, reason}
//   commands   Navet publishes a command; we answer on results {id, accepted, reason}
//
// Durable before ack: every event is written to the journal (<stateDir>/pending, one file
// per event, fsynced) before it is published, and removed only when Navet acks it. After a
// crash or a reconnect everything still pending is sent again; Navet stores an event id once.

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const mqtt = require('mqtt');

const SPECVERSION = '1.0';

function uuid5(namespace, name) {
  // RFC 4122 version 5 (SHA-1) UUID: deterministic ids, so a replay is harmless.
  const ns = Buffer.from(namespace.replace(/-/g, ''), 'hex');
  const hash = crypto.createHash('sha1').update(ns).update(Buffer.from(name, 'utf8')).digest();
  const b = hash.subarray(0, 16);
  b[6] = (b[6] & 0x0f) | 0x50;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function writeDurably(file, text) {
  const tmp = `${file}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

class Journal {
  // Events not yet acknowledged by Navet, kept on disk in the order they were made.
  constructor(dir) {
    this.dir = path.join(dir, 'pending');
    fs.mkdirSync(this.dir, { recursive: true });
    this.ackedLog = path.join(dir, 'acked.log');
    this.files = new Map(); // event id -> file
    for (const name of fs.readdirSync(this.dir).sort()) {
      if (!name.endsWith('.json')) continue;
      const ce = JSON.parse(fs.readFileSync(path.join(this.dir, name), 'utf8'));
      this.files.set(ce.id, path.join(this.dir, name));
    }
  }

  add(seq, ce) {
    const file = path.join(this.dir, `${String(seq).padStart(12, '0')}.json`);
    writeDurably(file, JSON.stringify(ce));
    this.files.set(ce.id, file);
  }

  pending() {
    // [id, CloudEvent text] in the order the events were made
    return [...this.files.entries()].sort((a, b) => (a[1] < b[1] ? -1 : 1))
      .map(([id, f]) => [id, fs.readFileSync(f, 'utf8')]);
  }

  acked(id, status) {
    const file = this.files.get(id);
    if (file === undefined) return false; // an ack for something we already forgot
    fs.unlinkSync(file);
    this.files.delete(id);
    fs.appendFileSync(this.ackedLog, `${id} ${status}\n`);
    return true;
  }

  get size() {
    return this.files.size;
  }
}

class NavetAdapter {
  // opts: {url, tenant, manifest, stateDir, prefix, heartbeatS, resendAfterS, ca, cert, key,
  //        clientId, onCommand(cmd) -> {accepted, reason, vendor_ref}, log}
  constructor(opts) {
    this.opts = opts;
    this.manifest = opts.manifest;
    this.tenant = opts.tenant;
    this.log = opts.log || ((...a) => console.error(...a));
    const base = `${opts.prefix || 'navet'}/${opts.tenant}/adapters/${this.manifest.name}`;
    this.topics = Object.fromEntries(
      ['hello', 'heartbeat', 'events', 'acks', 'welcome', 'commands', 'results']
        .map((t) => [t, `${base}/${t}`]));
    this.session = crypto.randomUUID();
    this.started = new Date().toISOString();
    this.journal = new Journal(opts.stateDir);
    this.seqFile = path.join(opts.stateDir, 'next');
    this.nextSeq = fs.existsSync(this.seqFile) ? Number(fs.readFileSync(this.seqFile, 'utf8')) : 0;
    this.commandsSeen = new Map(); // command id -> our answer (a command redelivered is not run twice)
    this.welcome = null;
    this.drainWaiters = [];
    this.sentAt = new Map(); // event id -> when we last published it
  }

  source() {
    return `/navet/${this.tenant}/${this.manifest.name}`;
  }

  cloudEvent({ id, type, time, device, data, ref, resident = null, alarm = null, priority = null, location = null }) {
    // One contract event as a CloudEvent: `data` is the Navet envelope less id, type and time.
    const envelope = {
      received: null,
      tenant: this.tenant,
      resident,
      device,
      source: { adapter: this.manifest.name, protocol: 'nyckelbo-cloud', ref, frame: null },
      alarm,
      priority,
      location,
      data,
    };
    const ce = {
      specversion: SPECVERSION,
      id,
      source: this.source(),
      type,
      time,
      datacontenttype: 'application/json',
      dataschema: `urn:navet:contract:v1:${type}`,
      subject: device ? device.id : this.tenant,
      navettenant: this.tenant,
      data: envelope,
    };
    if (resident) ce.navetresident = resident;
    return ce;
  }

  connect() {
    const o = this.opts;
    const will = { state: 'offline', session: this.session, reason: 'connection lost' };
    const options = {
      clientId: o.clientId || `${this.manifest.name}-${this.tenant}`,
      clean: true, // our journal, not the broker session, keeps what is unacknowledged
      reconnectPeriod: 500,
      connectTimeout: 10_000,
      will: { topic: this.topics.hello, payload: JSON.stringify(will), qos: 1, retain: true },
    };
    if (o.ca) {
      options.ca = fs.readFileSync(o.ca);
      options.cert = fs.readFileSync(o.cert);
      options.key = fs.readFileSync(o.key);
      options.rejectUnauthorized = true;
    }
    this.client = mqtt.connect(o.url, options);
    this.client.on('connect', () => this.onConnect());
    this.client.on('message', (topic, payload) => this.onMessage(topic, payload));
    this.client.on('error', (err) => this.log(`mqtt: ${err.message}`));
    this.client.on('close', () => this.log('mqtt: connection closed'));
    this.heartbeat = setInterval(() => this.beat(), (o.heartbeatS || 10) * 1000);
    const resendMs = (o.resendAfterS || 30) * 1000;
    this.resender = setInterval(() => this.resend(resendMs), Math.min(resendMs, 5000));
  }

  onConnect() {
    this.log(`connected; ${this.journal.size} event(s) pending`);
    const subs = [this.topics.acks, this.topics.welcome, this.topics.commands];
    this.client.subscribe(subs, { qos: 1 }, (err) => {
      if (err) { this.log(`subscribe failed: ${err.message}`); return; }
      const hello = {
        state: 'online', manifest: this.manifest, heartbeat_s: this.opts.heartbeatS || 10,
        session: this.session, time: new Date().toISOString(), started: this.started,
      };
      this.client.publish(this.topics.hello, JSON.stringify(hello), { qos: 1, retain: true });
      this.resend(); // everything not acknowledged yet, again (Navet stores an id once)
    });
  }

  resend(olderThanMs = 0) {
    // Everything not acknowledged (after a reconnect), or only what has waited longer than
    // olderThanMs for its ack (now and then while connected).
    if (!this.client || !this.client.connected) return;
    const now = Date.now();
    for (const [id, text] of this.journal.pending()) {
      const sent = this.sentAt.get(id);
      if (olderThanMs && sent !== undefined && now - sent < olderThanMs) continue;
      this.sentAt.set(id, now);
      this.client.publish(this.eventTopic(JSON.parse(text)), text, { qos: 1 });
    }
  }

  eventTopic(ce) {
    // events/<device address>: one device's events stay in order, Navet stores different
    // devices' events in parallel. Events without a device go on events itself.
    const device = ce.data && ce.data.device && ce.data.device.id;
    if (!device) return this.topics.events;
    const key = device.slice(device.indexOf(':') + 1).replace(/[/+#]/g, '_') || '_';
    return `${this.topics.events}/${key}`;
  }

  beat() {
    if (!this.client || !this.client.connected) return;
    const body = { time: new Date().toISOString(), unacked: this.journal.size };
    this.client.publish(this.topics.heartbeat, JSON.stringify(body), { qos: 0 });
  }

  send(ce) {
    // Journal first (durable), then publish; forget only on Navet's ack.
    const seq = this.nextSeq;
    this.journal.add(seq, ce);
    this.nextSeq = seq + 1;
    writeDurably(this.seqFile, String(this.nextSeq));
    if (this.client && this.client.connected) {
      this.sentAt.set(ce.id, Date.now());
      this.client.publish(this.eventTopic(ce), JSON.stringify(ce), { qos: 1 });
    }
  }

  onMessage(topic, payload) {
    let body;
    try {
      body = JSON.parse(payload.toString('utf8'));
    } catch (err) {
      this.log(`unreadable message on ${topic}: ${err.message}`);
      return;
    }
    if (topic === this.topics.acks) {
      if (body.status === 'refused') this.log(`Navet refused event ${body.id}: ${body.reason}`);
      if (body.id && this.journal.acked(body.id, body.status)) {
        this.sentAt.delete(body.id);
        this.drained();
      }
    } else if (topic === this.topics.welcome) {
      if (body.session && body.session !== this.session) return; // answer to an earlier run
      this.welcome = body;
      if (!body.accepted) {
        this.log(`Navet refused this adapter: ${body.reason}`);
        process.exitCode = 3;
        this.close().then(() => process.exit(3));
      } else {
        this.log(`Navet accepted ${this.manifest.name} (contract ${body.contract})`);
      }
    } else if (topic === this.topics.commands) {
      this.command(body);
    }
  }

  async command(cmd) {
    let answer = this.commandsSeen.get(cmd.id);
    if (answer === undefined) {
      try {
        answer = await this.opts.onCommand(cmd);
      } catch (err) {
        answer = { accepted: false, reason: `adapter error: ${err.message}` };
      }
      this.commandsSeen.set(cmd.id, answer);
    }
    this.client.publish(this.topics.results, JSON.stringify({ id: cmd.id, ...answer }), { qos: 1 });
  }

  drained() {
    if (this.journal.size > 0) return;
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }

  untilAcked() {
    // Resolves once Navet has acknowledged every event made so far.
    if (this.journal.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  close() {
    clearInterval(this.heartbeat);
    clearInterval(this.resender);
    return new Promise((resolve) => {
      if (!this.client || !this.client.connected) { if (this.client) this.client.end(true); resolve(); return; }
      const bye = { state: 'offline', session: this.session, reason: 'stopped', time: new Date().toISOString() };
      this.client.publish(this.topics.hello, JSON.stringify(bye), { qos: 1, retain: true }, () => {
        this.client.end(false, {}, resolve);
      });
    });
  }
}

module.exports = { NavetAdapter, uuid5 };

// Fakes for driving web/js/client.js under node:test: a virtual clock, an
// in-memory API server with the bridge's /api/ semantics, and WebSockets
// whose server side the test controls.
//
// Part of mytracks. SPDX-License-Identifier: MIT

/** Virtual time: timers run only when the test advances the clock. */
export class Clock {
  constructor() {
    this.now = 0;
    this.seq = 0;
    this.timers = new Map();
    this.setTimer = (fn, ms) => {
      const id = ++this.seq;
      this.timers.set(id, { at: this.now + Math.max(0, ms), fn, id });
      return id;
    };
    this.clearTimer = (id) => { this.timers.delete(id); };
  }

  /** Let pending promise callbacks (fetch results, handlers) run. */
  async settle() {
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  }

  /** Advance virtual time by ms, firing due timers in order. */
  async advance(ms) {
    const end = this.now + ms;
    await this.settle();
    for (;;) {
      let next = null;
      for (const t of this.timers.values()) if (t.at <= end && (!next || t.at < next.at || (t.at === next.at && t.id < next.id))) next = t;
      if (!next) break;
      this.timers.delete(next.id);
      this.now = next.at;
      next.fn();
      await this.settle();
    }
    this.now = end;
    await this.settle();
  }

  pending() {
    return [...this.timers.values()].map((t) => t.at - this.now).sort((a, b) => a - b);
  }
}

let nextId = 1;
/** A data object like the plugin produces. */
export function dataObject(fields = {}) {
  const id = fields.id ?? nextId++;
  const ts = fields.timestamp_unix ?? 1705329000 + id;
  return {
    id, device: 1, device_name: 'alice/phone',
    latitude: (52.5 + id / 1000).toFixed(6), longitude: (13.4 + id / 1000).toFixed(6),
    timestamp: new Date(ts * 1000).toISOString().replace('.000Z', 'Z'), timestamp_unix: ts,
    accuracy: 10, altitude: 50, velocity: 5, battery_level: 85, connection_type: 'w', ip_address: '127.0.0.1',
    user: 'alice', display_name: null, tid: 'ph',
    ...fields,
  };
}

/** The bridge's /api/ as an in-memory fetchJson(url). */
export class FakeApi {
  constructor() {
    this.locations = [];
    this.devices = [];
    this.down = false;
    this.requests = [];
    this.fetchJson = async (url) => {
      this.requests.push(url);
      await Promise.resolve();
      if (this.down) throw new Error('connection refused');
      const u = new URL(url, 'http://x');
      if (u.pathname === '/api/devices/') return { results: structuredClone(this.devices) };
      if (u.pathname === '/api/locations/') return this.query(u.searchParams);
      throw new Error(`404 ${url}`);
    };
  }

  add(...locs) {
    this.locations.push(...locs);
    this.locations.sort((a, b) => a.id - b.id);
    return locs;
  }

  query(q) {
    const limit = Math.min(Number(q.get('limit') ?? 100), 1000);
    let rows;
    let hasMore = false;
    if (q.has('since_id')) {
      const since = Number(q.get('since_id'));
      const after = this.locations.filter((l) => l.id > since);
      rows = after.slice(0, limit);
      hasMore = after.length > limit;
    } else {
      rows = this.locations.slice(-limit);
    }
    return {
      results: structuredClone(rows), count: rows.length, has_more: hasMore,
      next_since_id: hasMore ? rows[rows.length - 1].id : null,
    };
  }

  /** since_id values requested so far. */
  sinceIds() {
    return this.requests.filter((r) => r.includes('since_id=')).map((r) => Number(new URL(r, 'http://x').searchParams.get('since_id')));
  }
}

/** WebSockets created by the client; the test plays the server. */
export class FakeSockets {
  constructor(clock) {
    this.clock = clock;
    this.all = [];
    this.create = (url) => {
      const s = new FakeSocket(url, clock);
      this.all.push(s);
      if (this.onCreate) this.onCreate(s);
      return s;
    };
  }

  get last() {
    return this.all[this.all.length - 1];
  }
}

class FakeSocket {
  constructor(url, clock) {
    this.url = url;
    this.clock = clock;
    this.readyState = 0;
    this.closedByClient = false;
  }

  close() {
    if (this.readyState === 3) return;
    this.closedByClient = true;
    this.readyState = 3;
    this.clock.setTimer(() => this.onclose && this.onclose({ code: 1000 }), 0);
  }

  // server side
  accept(welcome) {
    this.readyState = 1;
    this.onopen && this.onopen({});
    if (welcome !== undefined) this.send({ type: 'welcome', server_startup: welcome });
  }

  send(obj) {
    this.onmessage && this.onmessage({ data: typeof obj === 'string' ? obj : JSON.stringify(obj) });
  }

  fail() {
    // refused handshake / dropped connection: error then close
    this.readyState = 3;
    this.onerror && this.onerror({});
    this.onclose && this.onclose({ code: 1006 });
  }
}

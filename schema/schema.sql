-- mytracks database schema, version 1 (PRAGMA user_version = 1).
--
-- The plugin applies this at start when user_version is 0, inside one
-- transaction, and then the later migrations in order (plugin/store.c,
-- migrate()): version 2 adds `decrypted INTEGER NOT NULL DEFAULT 0` to
-- locations and events (1: raw is the plaintext of an encrypted report);
-- version 3 adds the indexes locations_tst and events_tst.
-- The bridge opens the file read-only. Journal mode is WAL, so readers
-- never block the broker's writer.

-- One row per (user, device) seen on owntracks/<user>/<device>.
CREATE TABLE devices (
	id INTEGER PRIMARY KEY,
	user TEXT NOT NULL,
	device TEXT NOT NULL,
	display_name TEXT,             -- from the last `card`
	tid TEXT,                      -- tracker id from the last card or location
	first_seen INTEGER NOT NULL,   -- unix seconds, server clock
	last_seen INTEGER,             -- unix seconds, server clock: last message of any kind
	online INTEGER NOT NULL DEFAULT 0,
	status_changed INTEGER,        -- unix seconds of the last online/offline change
	UNIQUE (user, device)
);

-- One row per accepted location. `(device_id, tst)` is unique: a QoS 1
-- redelivery or a resent queue is stored once.
CREATE TABLE locations (
	id INTEGER PRIMARY KEY,
	device_id INTEGER NOT NULL REFERENCES devices(id),
	tst INTEGER NOT NULL,          -- fix time, unix seconds (the phone's tst)
	lat REAL NOT NULL,
	lon REAL NOT NULL,
	acc INTEGER,                   -- metres
	alt INTEGER,                   -- metres
	vel INTEGER,                   -- km/h
	batt INTEGER,                  -- percent
	conn TEXT,                     -- w, m, o
	tid TEXT,
	trig TEXT,                     -- OwnTracks `t`
	cog INTEGER,                   -- degrees
	vac INTEGER,                   -- metres
	bs INTEGER,                    -- battery status 0..3
	ssid TEXT,
	bssid TEXT,
	created_at INTEGER,            -- phone's created_at, unix seconds
	ip_address TEXT,
	received_at INTEGER NOT NULL,  -- server clock, unix seconds
	raw TEXT NOT NULL,             -- the JSON exactly as the phone sent it
	UNIQUE (device_id, tst)
);
-- History by device in id order (the rowid is in every index entry).
CREATE INDEX locations_device ON locations(device_id);

-- Other OwnTracks messages: lwt, transition, card, waypoint, waypoints.
CREATE TABLE events (
	id INTEGER PRIMARY KEY,
	device_id INTEGER NOT NULL REFERENCES devices(id),
	type TEXT NOT NULL,            -- the OwnTracks _type
	tst INTEGER,                   -- the message's tst, if any
	received_at INTEGER NOT NULL,
	raw TEXT NOT NULL
);
CREATE INDEX events_device ON events(device_id, type);

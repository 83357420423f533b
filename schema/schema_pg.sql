-- mytracks database schema for PostgreSQL, version 3 (mytracks_schema.version).
--
-- The same tables, columns and meaning as schema/schema.sql (SQLite) at
-- its version 3, in PostgreSQL's types: INTEGER columns there are BIGINT
-- here (SQLite integers are 64-bit), REAL is DOUBLE PRECISION (8 bytes in
-- both). The plugin applies this at start in one transaction when the
-- database has no mytracks_schema table; later migrations go in
-- plugin/store.c, each moving the version one step up.
-- `user` is a reserved word in PostgreSQL: the column is written "user".

CREATE TABLE mytracks_schema (
	version INTEGER NOT NULL
);
INSERT INTO mytracks_schema(version) VALUES (3);

CREATE TABLE devices (
	id BIGINT PRIMARY KEY,
	"user" TEXT NOT NULL,
	device TEXT NOT NULL,
	display_name TEXT,
	tid TEXT,
	first_seen BIGINT NOT NULL,
	last_seen BIGINT,
	online INTEGER NOT NULL DEFAULT 0,
	status_changed BIGINT,
	UNIQUE ("user", device)
);

CREATE TABLE locations (
	id BIGINT PRIMARY KEY,
	device_id BIGINT NOT NULL REFERENCES devices(id),
	tst BIGINT NOT NULL,
	lat DOUBLE PRECISION NOT NULL,
	lon DOUBLE PRECISION NOT NULL,
	acc BIGINT,
	alt BIGINT,
	vel BIGINT,
	batt BIGINT,
	conn TEXT,
	tid TEXT,
	trig TEXT,
	cog BIGINT,
	vac BIGINT,
	bs BIGINT,
	ssid TEXT,
	bssid TEXT,
	created_at BIGINT,
	ip_address TEXT,
	received_at BIGINT NOT NULL,
	raw TEXT NOT NULL,
	decrypted INTEGER NOT NULL DEFAULT 0,
	UNIQUE (device_id, tst)
);
CREATE INDEX locations_device ON locations(device_id, id);
CREATE INDEX locations_tst ON locations(tst);

CREATE TABLE events (
	id BIGINT PRIMARY KEY,
	device_id BIGINT NOT NULL REFERENCES devices(id),
	type TEXT NOT NULL,
	tst BIGINT,
	received_at BIGINT NOT NULL,
	raw TEXT NOT NULL,
	decrypted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX events_device ON events(device_id, type);
CREATE INDEX events_tst ON events(tst);

-- The stored report as JSON, or NULL when it is not valid JSON: one odd
-- row must not fail a whole query (SQLite's queries check json_valid()
-- first for the same reason).
CREATE FUNCTION mytracks_json(t TEXT) RETURNS JSON
LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	RETURN t::json;
EXCEPTION WHEN OTHERS THEN
	RETURN NULL;
END
$$;

"""The tables, created by the loader in the same transaction that fills them.

Creating a table and COPYing into it in one transaction lets Postgres (with
``wal_level=minimal``, set in the compose file) skip the WAL for the bulk
load, and building indexes and foreign keys after the COPY is faster than
maintaining them row by row.
"""

from __future__ import annotations

__all__ = ["CREATE_TABLES", "DROP_TABLES", "INDEXES", "SCHEMA_VERSION"]

# Part of the data set's marker: a loaded database with another version is reloaded.
SCHEMA_VERSION = 2

DROP_TABLES = "DROP TABLE IF EXISTS tweets, follows, users, meta CASCADE"

CREATE_TABLES = """
CREATE TABLE users (
    id integer PRIMARY KEY,
    name text NOT NULL,
    -- Kept by the loader (there is no follow API); decides who is a celebrity.
    followers_count integer NOT NULL DEFAULT 0
);
CREATE TABLE follows (
    follower_id integer NOT NULL,
    followee_id integer NOT NULL
);
CREATE TABLE tweets (
    id bigserial PRIMARY KEY,
    sender_id integer NOT NULL,
    text text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    -- The outbox: false until the worker has written the tweet into the caches.
    fanned_out boolean NOT NULL DEFAULT false,
    -- Makes a retried insert idempotent (NULL for seed tweets).
    request_key uuid UNIQUE
);
CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
"""

INDEXES = """
ALTER TABLE follows ADD PRIMARY KEY (follower_id, followee_id);
CREATE INDEX follows_by_followee ON follows (followee_id, follower_id);
ALTER TABLE follows ADD FOREIGN KEY (follower_id) REFERENCES users (id);
ALTER TABLE follows ADD FOREIGN KEY (followee_id) REFERENCES users (id);
-- Approach 1 reads each followee's newest tweets from this index alone (an index-only
-- scan: text and time are in it), instead of one heap page per tweet.
CREATE INDEX tweets_by_sender ON tweets (sender_id, id DESC) INCLUDE (text, created_at);
CREATE INDEX tweets_pending ON tweets (id) WHERE NOT fanned_out;
ALTER TABLE tweets ADD FOREIGN KEY (sender_id) REFERENCES users (id);
"""

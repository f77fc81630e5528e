-- What the writer of an event had seen of its stream, per context ("intake,assignment,
-- resolution" counts). Services that keep replicas of each other's events apply an
-- observed event only once they hold everything it depends on (ARCHITECTURE.md, "Three
-- stores, one causal order"). Opaque to the store.
ALTER TABLE events ADD COLUMN causal TEXT;

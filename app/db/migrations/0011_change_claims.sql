-- One live proposal per object: two incidents about the same fault (say, a Deployment's replica
-- mismatch and its namespace's quota alert) must not open two pull requests changing one object.
-- A claim counts while its incident is planning, waiting for approval, remediating or verifying; once it
-- is handed to a person, reopened or ended, the next incident may take the object over.
CREATE TABLE change_claims (
    cluster     text NOT NULL,
    object_key  text NOT NULL,  -- Kind/namespace/name of the live object the change lands on
    incident_id bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    claimed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (cluster, object_key)
);

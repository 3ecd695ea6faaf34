-- Verify after merge (issue 6): two more incident statuses, GitHub deliveries, one verification per incident.

-- remediating → verifying (the pull request was merged) → resolved | reopened (still failing: revert proposed).
ALTER TABLE incidents DROP CONSTRAINT incidents_status_check;
ALTER TABLE incidents ADD CONSTRAINT incidents_status_check CHECK (status IN (
    'open', 'diagnosing', 'awaiting_approval', 'awaiting_human', 'remediating', 'verifying', 'reopened',
    'resolved', 'failed', 'cancelled'));

-- Finding the incident of a pull request event: by number + repo, or by head branch.
CREATE INDEX incidents_by_pr_number ON incidents (((pr ->> 'number')::bigint)) WHERE pr IS NOT NULL;
CREATE INDEX incidents_by_pr_branch ON incidents ((pr ->> 'branch')) WHERE pr IS NOT NULL;

-- Every GitHub webhook delivery once (X-GitHub-Delivery; the poller uses 'poll:<repo>#<n>:<state>'),
-- so a redelivery is answered from here and never makes a second transition.
CREATE TABLE github_deliveries (
    delivery_id text PRIMARY KEY,
    event       text NOT NULL,
    action      text,
    repo        text,
    pr_number   integer,
    incident_id bigint REFERENCES incidents (id) ON DELETE SET NULL,
    outcome     text NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

-- The merge being verified: what the watch window is anchored on, so a resumed run keeps its window,
-- and what it concluded, so a resumed run only finishes the steps left (comment, transition).
CREATE TABLE incident_verifications (
    incident_id  bigint PRIMARY KEY REFERENCES incidents (id) ON DELETE CASCADE,
    repo         text,
    pr_number    integer,
    merge_commit text,
    merged_by    text,
    merged_at    timestamptz NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    outcome      text CHECK (outcome IN ('healthy', 'failing')),
    summary      text,
    evidence     jsonb,
    comment_url  text,
    finished_at  timestamptz
);

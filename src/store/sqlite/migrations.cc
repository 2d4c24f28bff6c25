#include "store/sqlite/migrations.h"

namespace keyward {

const std::vector<const char*>& SqliteMigrations() {
  static const std::vector<const char*> kMigrations = {
      // 1: workspaces, API keys, root keys, the audit log.
      R"sql(
CREATE TABLE workspaces (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  name TEXT NOT NULL,
  max_active_keys INTEGER,
  created_at INTEGER NOT NULL
);
CREATE TABLE api_keys (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  hash BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),
  short_prefix TEXT NOT NULL,
  workspace_id TEXT NOT NULL REFERENCES workspaces(id),
  environment TEXT NOT NULL,
  name TEXT NOT NULL,
  scopes TEXT NOT NULL DEFAULT '[]',
  ip_allowlist TEXT NOT NULL DEFAULT '[]',
  referrer_allowlist TEXT NOT NULL DEFAULT '[]',
  endpoint_allowlist TEXT NOT NULL DEFAULT '[]',
  rate_limit_limit INTEGER,
  rate_limit_period INTEGER,
  meta TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  expires_at INTEGER,
  last_used_at INTEGER,
  revoked_at INTEGER,
  revoked_by TEXT,
  revoked_reason TEXT,
  disabled INTEGER NOT NULL DEFAULT 0,
  rotated_from TEXT
);
CREATE INDEX api_keys_by_workspace ON api_keys (workspace_id, seq);
CREATE INDEX api_keys_by_rotated_from ON api_keys (rotated_from) WHERE rotated_from IS NOT NULL;
CREATE TABLE root_keys (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  hash BLOB NOT NULL UNIQUE CHECK (length(hash) = 32),
  short_prefix TEXT NOT NULL,
  name TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  revoked_at INTEGER
);
CREATE TABLE audit_log (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  workspace_id TEXT NOT NULL DEFAULT '',
  ip TEXT NOT NULL DEFAULT '',
  details TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_by_workspace ON audit_log (workspace_id, seq);
CREATE INDEX audit_log_by_target ON audit_log (target, seq);
)sql",
      // 2: the key change log, read by other nodes to drop cached keys.
      R"sql(
CREATE TABLE key_changes (
  seq INTEGER PRIMARY KEY,
  key_hash BLOB NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX key_changes_by_time ON key_changes (at);
)sql",
      // 3: usage counters per key, minute and answer code.
      R"sql(
CREATE TABLE usage (
  key_id TEXT NOT NULL,
  workspace_id TEXT NOT NULL,
  minute INTEGER NOT NULL,
  code TEXT NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (key_id, minute, code)
) WITHOUT ROWID;
CREATE INDEX usage_by_workspace ON usage (workspace_id, minute);
CREATE INDEX usage_by_minute ON usage (minute);
)sql",
      // 4: who disabled a key (a managing key may enable only what it
      // disabled) and the rotation lineage that shares one rate limit.
      R"sql(
ALTER TABLE api_keys ADD COLUMN disabled_by TEXT;
ALTER TABLE api_keys ADD COLUMN lineage_id TEXT;
)sql",
      // 5: a version per key that every change bumps and an update must
      // match (no lost updates), and at most one replacement per key.
      R"sql(
ALTER TABLE api_keys ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
DROP INDEX api_keys_by_rotated_from;
CREATE UNIQUE INDEX api_keys_one_replacement ON api_keys (rotated_from)
  WHERE rotated_from IS NOT NULL;
)sql",
      // 6: portal sessions (a one-time code an operator hands a customer)
      // and web sessions (a browser's cookie), both stored as hashes only;
      // and audit lookups by actor and by action.
      R"sql(
CREATE TABLE portal_sessions (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  workspace_id TEXT NOT NULL REFERENCES workspaces (id),
  environment TEXT NOT NULL DEFAULT '',
  permissions TEXT NOT NULL,
  scopes TEXT NOT NULL,
  return_url TEXT NOT NULL DEFAULT '',
  member_id TEXT NOT NULL DEFAULT '',
  member_name TEXT NOT NULL DEFAULT '',
  member_email TEXT NOT NULL DEFAULT '',
  actor TEXT NOT NULL,
  code_hash BLOB NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  code_expires_at INTEGER NOT NULL,
  code_used_at INTEGER,
  ended_at INTEGER
);
CREATE TABLE web_sessions (
  token_hash BLOB PRIMARY KEY,
  kind TEXT NOT NULL,
  portal_session_id TEXT NOT NULL DEFAULT '',
  root_key_id TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  ended_at INTEGER,
  ip TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE INDEX web_sessions_by_portal_session ON web_sessions (portal_session_id);
CREATE INDEX web_sessions_by_expiry ON web_sessions (expires_at);
CREATE INDEX audit_log_by_actor ON audit_log (actor, seq);
CREATE INDEX audit_log_by_action ON audit_log (action, seq);
)sql",
      // 7: one row that ProbeWrite rewrites to learn whether writes work
      // again after a storage fault.
      R"sql(
CREATE TABLE write_probe (id INTEGER PRIMARY KEY CHECK (id = 1), at INTEGER NOT NULL);
)sql",
      // 8: plans and credits. Plans (cost rules as a JSON array); a
      // workspace's plan and its own overrides; a key's own credits (NULL:
      // none); the credits each usage row spent; per balance and period
      // the credits spent (credit_balances), what each node holds of it
      // (credit_leases) and the thresholds it crossed (credit_thresholds).
      R"sql(
CREATE TABLE plans (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  monthly_credits INTEGER,
  rate_limit_limit INTEGER,
  rate_limit_period INTEGER,
  max_active_keys INTEGER,
  cost_rules TEXT NOT NULL DEFAULT '[]',
  from_config INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;
ALTER TABLE workspaces ADD COLUMN plan_id TEXT REFERENCES plans (id);
ALTER TABLE workspaces ADD COLUMN monthly_credits INTEGER;
ALTER TABLE workspaces ADD COLUMN rate_limit_limit INTEGER;
ALTER TABLE workspaces ADD COLUMN rate_limit_period INTEGER;
ALTER TABLE workspaces ADD COLUMN billing_anchor_day INTEGER;
ALTER TABLE api_keys ADD COLUMN credits_remaining INTEGER;
ALTER TABLE api_keys ADD COLUMN credits_set_at INTEGER;
ALTER TABLE api_keys ADD COLUMN credits_refill_amount INTEGER;
ALTER TABLE api_keys ADD COLUMN credits_refill_interval TEXT;
ALTER TABLE api_keys ADD COLUMN credits_refill_day INTEGER;
ALTER TABLE usage ADD COLUMN credits INTEGER NOT NULL DEFAULT 0;
CREATE TABLE credit_balances (
  balance TEXT NOT NULL,
  period_start INTEGER NOT NULL,
  spent INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (balance, period_start)
) WITHOUT ROWID;
CREATE TABLE credit_leases (
  balance TEXT NOT NULL,
  period_start INTEGER NOT NULL,
  node_id TEXT NOT NULL,
  held INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (balance, period_start, node_id)
) WITHOUT ROWID;
CREATE INDEX credit_leases_by_node ON credit_leases (node_id);
CREATE TABLE credit_thresholds (
  balance TEXT NOT NULL,
  period_start INTEGER NOT NULL,
  threshold INTEGER NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (balance, period_start, threshold)
) WITHOUT ROWID;
)sql",
      // 9: webhooks. Endpoints (events as a JSON array, [] = all); the
      // outbox of events, written with the change that raised them
      // (fanned_out once a worker made their deliveries; dedupe_key keeps
      // a scheduled event to one per key and cause); one delivery per
      // event and endpoint, claimed by one worker at a time until
      // claimed_until.
      R"sql(
CREATE TABLE webhook_endpoints (
  id TEXT PRIMARY KEY,
  workspace_id TEXT REFERENCES workspaces (id),
  url TEXT NOT NULL,
  events TEXT NOT NULL DEFAULT '[]',
  description TEXT NOT NULL DEFAULT '',
  enabled INTEGER NOT NULL DEFAULT 1,
  disabled_reason TEXT NOT NULL DEFAULT '',
  secret TEXT NOT NULL,
  previous_secret TEXT NOT NULL DEFAULT '',
  previous_secret_expires_at INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  version INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX webhook_endpoints_by_workspace ON webhook_endpoints (workspace_id);
CREATE TABLE webhook_events (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  workspace_id TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  payload TEXT NOT NULL,
  dedupe_key TEXT UNIQUE,
  fanned_out INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX webhook_events_to_fan_out ON webhook_events (fanned_out, seq);
CREATE INDEX webhook_events_by_time ON webhook_events (created_at);
CREATE TABLE webhook_deliveries (
  id TEXT PRIMARY KEY,
  endpoint_id TEXT NOT NULL,
  event_seq INTEGER NOT NULL,
  status TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_attempt_at INTEGER,
  response_status INTEGER,
  latency_ms INTEGER,
  error TEXT NOT NULL DEFAULT '',
  manual INTEGER NOT NULL DEFAULT 0,
  claim_id TEXT NOT NULL DEFAULT '',
  claimed_until INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  UNIQUE (event_seq, endpoint_id)
) WITHOUT ROWID;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (endpoint_id, created_at);
)sql",
      // 10: a workspace's own rotation policy: its keys are due for
      // rotation this many days after they were made (NULL: the
      // deployment's).
      R"sql(
ALTER TABLE workspaces ADD COLUMN rotate_after_days INTEGER;
)sql",
  };
  return kMigrations;
}

}  // namespace keyward

#!/usr/bin/env python3
"""Generates keyward's OpenAPI 3.1 document. Run: python3 gen.py OUT.json"""
import copy
import json
import pathlib
import re
import sys

REF = lambda kind, name: {"$ref": f"#/components/{kind}/{name}"}
S = lambda name: REF("schemas", name)

ROOT = pathlib.Path(__file__).resolve().parents[2]


def codes_from_cpp():
    """The code names, in enum order, from src/core/code.cc: the C++ is the
    source, this document follows it."""
    text = (ROOT / "src/core/code.cc").read_text()
    body = text[text.index("kNames = {"):text.index("};", text.index("kNames = {"))]
    names = re.findall(r'"([a-z_]+)"', body)
    first, last = names.index("valid"), names.index("quota_exceeded")
    return names[first:last + 1], [n for n in names[last + 1:]]


VERIFY_CODES, API_CODES = codes_from_cpp()
ERROR_CODES = API_CODES + [c for c in VERIFY_CODES if c not in API_CODES and c != "valid"]
GW_401 = ["missing", "malformed", "invalid", "revoked", "expired", "disabled", "wrong_environment"]
GW_403 = ["ip_not_allowed", "referrer_not_allowed", "endpoint_not_allowed", "insufficient_scope"]
GW_429 = ["rate_limited", "quota_exceeded"]
AUDIT_ACTIONS = ["workspace.create", "workspace.update", "key.create", "key.update", "key.revoke",
                 "key.rotate", "root_key.create", "root_key.revoke", "portal_session.create",
                 "portal_session.open", "portal_session.end", "console.sign_in",
                 "session.sign_out"]
PORTAL_PERMISSIONS = ["keys:read", "keys:create", "keys:rotate", "keys:revoke", "usage:read"]

WS_ID = "ws_3kTq9VxLm2Rb8NcP4dQz"
KEY_ID = "key_7HbN2xQp9LrT4vWc1ZsY"
KEY_ID2 = "key_Vd5Gk8Jm1Xq3Pr7Lt2Hw"
RK_ID = "rk_9FqW2eRt6YuI1oPa3SdF"
EVT_ID = "evt_4LmN8bVc2XzQ7wEr5TyU"
PS_ID = "ps_2WqZ7nRb4XkT9mLc3VdP"
SECRET = "asa_live_Tq0x4k9Pd8MnV2b7XcQ1wE5rT8yU3iO6pA9sD0fG"
SHORT = "asa_live_Tq0x4k9Pd8Mn"
SECRET2 = "asa_live_Hx7Yp2Lk9Wq4Nb6Vc1Rt5Mz8Qd3Fs0Ga7Je2Kb9w"
SHORT2 = "asa_live_Hx7Yp2Lk9Wq4"
for i in (WS_ID, KEY_ID, KEY_ID2, RK_ID, EVT_ID, PS_ID):
    assert len(i.split("_", 1)[1]) == 20, i
for k in (SECRET, SECRET2):
    assert len(k.split("_")[2]) == 40, k
T0 = "2025-01-15T10:30:00Z"

NO_CONTROL = "^[^\\u0000-\\u001F\\u007F]*$"
ENV_RE = "[a-z][a-z0-9]{0,15}"

# ---------------------------------------------------------------- schemas
schemas = {}

schemas["VerificationCode"] = {
    "type": "string",
    "enum": VERIFY_CODES,
    "description": (
        "The outcome of a verification, in the order the checks run: `valid`; `missing` (no "
        "credential presented); `malformed` (not the key format, or a bad checksum; no lookup "
        "was made); `invalid` (well-formed but unknown); `revoked`; `expired`; `disabled`; "
        "`wrong_environment` (the key's environment is not the one required, or not one this "
        "deployment accepts); `ip_not_allowed`; `referrer_not_allowed`; `endpoint_not_allowed`; "
        "`insufficient_scope` (a required scope is not granted); `rate_limited`; "
        "`quota_exceeded`."),
    "examples": ["valid"],
}
schemas["ErrorCode"] = {
    "type": "string",
    "enum": ERROR_CODES,
    "description": (
        "Every machine-readable error code. API errors: `unauthorized` 401, `invalid_json` 400, "
        "`invalid_request` 400 (or 431 for headers over 16 KiB), `not_found` 404, "
        "`method_not_allowed` 405, `conflict` / `key_limit_reached` / `key_revoked` 409, "
        "`payload_too_large` 413, `unsupported_media_type` 415, `unprocessable` 422, `internal` "
        "500, `storage_full` 503 (no space is left for keyward's data: changes are refused, "
        "revocations still work), `storage_unavailable` 503 (storage cannot be used: the "
        "database unreachable, the data directory read-only or deleted, an I/O error, an "
        "unreadable database file; or the server stopping), `insufficient_scope` 403, `forbidden` 403 (a managing key asked "
        "for more than it holds: a wider allow-list, a later expiry, a higher rate limit, or its "
        "own restrictions changed). Gateway mode (`GET /v1/auth`) also "
        "answers the refusing verification codes as errors: `missing malformed invalid revoked "
        "expired disabled wrong_environment` 401, `ip_not_allowed referrer_not_allowed "
        "endpoint_not_allowed insufficient_scope` 403, `rate_limited quota_exceeded` 429."),
    "examples": ["invalid_request"],
}
schemas["Error"] = {
    "type": "object",
    "description": "Every error answer: a stable code for programs and a message for people. "
                   "Messages never carry internals or secrets.",
    "required": ["error", "message"],
    "properties": {
        "error": S("ErrorCode"),
        "message": {"type": "string", "description": "What went wrong, for a person.",
                    "examples": ["scopes[2]: scope \"orders read\" must be 1-64 characters of "
                                 "letters, digits and : . _ - *"]},
    },
}
schemas["Timestamp"] = {
    "type": "string", "format": "date-time",
    "description": "An RFC 3339 UTC time, with milliseconds only when the time has them.",
    "examples": [T0],
}
schemas["NullableTimestamp"] = {
    "type": ["string", "null"], "format": "date-time",
    "description": "An RFC 3339 UTC time, or null when unset.",
    "examples": [T0, None],
}
schemas["WorkspaceId"] = {
    "type": "string", "pattern": "^ws_[A-Za-z0-9]+$",
    "description": "A workspace id: `ws_` and 20 base62 characters.", "examples": [WS_ID],
}
schemas["ApiKeyId"] = {
    "type": "string", "pattern": "^key_[A-Za-z0-9]+$",
    "description": "An API key id: `key_` and 20 base62 characters. Not a secret.",
    "examples": [KEY_ID],
}
schemas["Name"] = {
    "type": "string", "minLength": 1, "maxLength": 200, "pattern": NO_CONTROL,
    "description": "A name for people: 1-200 bytes of UTF-8 (a multi-byte character counts "
                   "for each of its bytes), no control characters.",
    "examples": ["checkout service"],
}
schemas["Environment"] = {
    "type": "string", "pattern": f"^{ENV_RE}$", "minLength": 1, "maxLength": 16,
    "description": "One of the deployment's key environments (`[keys] environments`, by "
                   "default `live` and `test`): 1-16 of `[a-z0-9]`, starting with a letter. "
                   "It is the middle part of the key (`asa_live_...`).",
    "examples": ["live"],
}
schemas["KeyStatus"] = {
    "type": "string", "enum": ["active", "revoked", "expired", "disabled"],
    "description": "The key's state now, in this precedence: `revoked` wins over `expired`, "
                   "`expired` over `disabled`.",
    "examples": ["active"],
}
schemas["Scope"] = {
    "type": "string", "minLength": 1, "maxLength": 64, "pattern": "^[A-Za-z0-9:._*-]+$",
    "description": "A permission: 1-64 characters of `[A-Za-z0-9:._*-]`. A granted `orders:*` "
                   "covers `orders:read`; a granted `*` covers every scope. The scope "
                   "`keys:manage` lets the key manage the keys of its own workspace and "
                   "environment.",
    "examples": ["orders:read"],
}
schemas["Scopes"] = {
    "type": "array", "maxItems": 100, "items": S("Scope"),
    "description": "Up to 100 scopes.", "examples": [["orders:read", "orders:write"]],
}
schemas["IpAllowlist"] = {
    "type": "array", "maxItems": 100,
    "items": {"type": "string", "minLength": 1,
              "description": "An IPv4 or IPv6 address or CIDR block. A block with host bits "
                             "set (`10.0.0.1/8`) is refused with a message naming the intended "
                             "block; stored entries are canonical (`10.0.0.0/8`, `203.0.113.7/32`)."},
    "description": "Up to 100 addresses or CIDR blocks the key may be used from; empty: any "
                   "address.",
    "examples": [["10.0.0.0/8", "203.0.113.7", "2001:db8::/32"]],
}
schemas["ReferrerAllowlist"] = {
    "type": "array", "maxItems": 100,
    "items": {"type": "string", "minLength": 1,
              "description": "A host (`example.com`), a host wildcard (`*.example.com`) or a "
                             "URL wildcard (`https://app.example.com/*`)."},
    "description": "Up to 100 referrer patterns the request's `Referer` must match; empty: any "
                   "referrer, or none.",
    "examples": [["example.com", "*.example.com", "https://app.example.com/*"]],
}
schemas["EndpointAllowlist"] = {
    "type": "array", "maxItems": 100,
    "items": {"type": "string", "minLength": 1,
              "description": "`METHODS PATH` or a bare path (any method): `GET /v1/products/*`, "
                             "`GET,POST /v1/orders/**`, `/v1/x`. In the path `*` matches within "
                             "one segment and `**` across segments. Request paths and patterns are "
                             "normalised alike before matching: query dropped, escapes of "
                             "unreserved characters decoded, `%2F`, `%5C` and `\\` read as `/`, a "
                             "stray `%` read as `%25`, `.` and `..` segments resolved."},
    "description": "Up to 100 endpoints the key may call; empty: any endpoint.",
    "examples": [["GET /v1/products/*", "GET,POST /v1/orders/**"]],
}
schemas["RateLimit"] = {
    "type": "object", "additionalProperties": False,
    "required": ["limit", "period_seconds"],
    "description": "At most `limit` requests per `period_seconds` for this key (a token bucket "
                   "that refills evenly).",
    "properties": {
        "limit": {"type": "integer", "minimum": 1, "maximum": 1000000000,
                  "description": "Requests allowed per period: 1-1000000000.", "examples": [100]},
        "period_seconds": {"type": "integer", "minimum": 1, "maximum": 2678400,
                           "description": "The period in seconds: 1-2678400 (31 days).",
                           "examples": [60]},
    },
    "examples": [{"limit": 100, "period_seconds": 60}],
}
schemas["Meta"] = {
    "type": "object",
    "description": "Free-form JSON object kept verbatim and returned on verification, up to "
                   "8 KiB serialised. Never put secrets here.",
    "examples": [{"customer": "acme", "plan": "pro"}],
}

WORKSPACE_EXAMPLE = {"id": WS_ID, "name": "Acme Corp", "max_active_keys": 20,
                     "max_active_keys_override": None, "active_keys": 3, "created_at": T0}
schemas["Workspace"] = {
    "type": "object",
    "description": "A tenant: keys belong to exactly one workspace.",
    "required": ["id", "name", "max_active_keys", "max_active_keys_override", "active_keys",
                 "created_at"],
    "properties": {
        "id": S("WorkspaceId"),
        "name": S("Name"),
        "max_active_keys": {"type": "integer", "minimum": 1,
                            "description": "The limit of active keys in force: the workspace's "
                                           "own setting or else the deployment default "
                                           "(`[keys] max_active_per_workspace`).",
                            "examples": [20]},
        "max_active_keys_override": {"type": ["integer", "null"], "minimum": 1,
                                     "maximum": 100000,
                                     "description": "The workspace's own limit, or null when the "
                                                    "deployment default applies.",
                                     "examples": [None, 50]},
        "active_keys": {"type": "integer", "minimum": 0,
                        "description": "How many keys occupy a slot now (neither revoked nor "
                                       "expired; disabled keys count).",
                        "examples": [3]},
        "created_at": S("Timestamp"),
    },
    "examples": [WORKSPACE_EXAMPLE],
}

API_KEY_EXAMPLE = {
    "id": KEY_ID, "short_prefix": SHORT, "workspace_id": WS_ID, "environment": "live",
    "name": "checkout service", "status": "active", "enabled": True,
    "scopes": ["orders:read", "orders:write"], "ip_allowlist": ["10.0.0.0/8"],
    "referrer_allowlist": [], "endpoint_allowlist": ["GET /v1/products/*"],
    "rate_limit": {"limit": 100, "period_seconds": 60}, "meta": {"customer": "acme"},
    "created_at": T0, "created_by": RK_ID, "expires_at": None, "last_used_at": None,
    "revoked_at": None, "revoked_reason": None, "rotated_from": None,
    "requests_24h": 0, "requests_30d": 0,
}
schemas["ApiKey"] = {
    "type": "object",
    "description": "An API key as stored. Never holds the secret: keyward keeps only its "
                   "SHA-256.",
    "required": ["id", "short_prefix", "workspace_id", "environment", "name", "status",
                 "enabled", "scopes", "ip_allowlist", "referrer_allowlist", "endpoint_allowlist",
                 "rate_limit", "meta", "created_at", "created_by", "expires_at", "last_used_at",
                 "revoked_at", "revoked_reason", "rotated_from", "requests_24h", "requests_30d"],
    "properties": {
        "id": S("ApiKeyId"),
        "short_prefix": {"type": "string",
                         "pattern": f"^{ENV_RE}_{ENV_RE}_[A-Za-z0-9]{{12}}$",
                         "description": "The key's product and environment prefix plus its "
                                        "first 12 body characters: enough to recognise a key in "
                                        "lists and logs, useless to authenticate with.",
                         "examples": [SHORT]},
        "workspace_id": S("WorkspaceId"),
        "environment": S("Environment"),
        "name": S("Name"),
        "status": S("KeyStatus"),
        "enabled": {"type": "boolean",
                    "description": "False when the key was disabled with PATCH "
                                   "`{\"enabled\": false}`; a disabled key fails verification "
                                   "with `disabled` until enabled again.",
                    "examples": [True]},
        "scopes": S("Scopes"),
        "ip_allowlist": S("IpAllowlist"),
        "referrer_allowlist": S("ReferrerAllowlist"),
        "endpoint_allowlist": S("EndpointAllowlist"),
        "rate_limit": {"oneOf": [S("RateLimit"), {"type": "null"}],
                       "description": "The key's own rate limit, or null (the deployment's "
                                      "default limit, if any, applies)."},
        "meta": S("Meta"),
        "created_at": S("Timestamp"),
        "created_by": {"type": "string",
                       "description": "Who created the key: a root key id (`rk_...`), an API "
                                      "key id (`key_...`, self-service) or `cli`.",
                       "examples": [RK_ID]},
        "expires_at": {"$ref": "#/components/schemas/NullableTimestamp",
                       "description": "When the key stops working, or null for never."},
        "last_used_at": {"$ref": "#/components/schemas/NullableTimestamp",
                         "description": "When the key last verified successfully, or null."},
        "revoked_at": {"$ref": "#/components/schemas/NullableTimestamp",
                       "description": "When the key was revoked, or null."},
        "revoked_reason": {"type": ["string", "null"],
                           "description": "The reason given on revocation, or null.",
                           "examples": [None, "leaked in a public repository"]},
        "rotated_from": {"type": ["string", "null"], "pattern": "^key_[A-Za-z0-9]+$",
                         "description": "The id of the key this one replaced by rotation, or "
                                        "null.",
                         "examples": [None, KEY_ID2]},
        "requests_24h": {"type": "integer", "minimum": 0,
                         "description": "Successful (`valid`, billable) verifications of this key "
                                        "over the last 24 hours. Counted in memory and written "
                                        "once a second, so up to a second behind.",
                         "examples": [1520]},
        "requests_30d": {"type": "integer", "minimum": 0,
                         "description": "Successful verifications over the last 30 days.",
                         "examples": [48210]},
    },
    "examples": [API_KEY_EXAMPLE],
}
CREATED_EXAMPLE = dict(API_KEY_EXAMPLE, key=SECRET)
schemas["CreatedApiKey"] = {
    "description": "A new API key and, this once, its secret.",
    "allOf": [
        S("ApiKey"),
        {"type": "object", "required": ["key"],
         "properties": {"key": {
             "type": "string", "pattern": f"^{ENV_RE}_{ENV_RE}_[A-Za-z0-9]{{40}}$",
             "description": "The full secret: `<product>_<environment>_<body>`, the body 40 "
                            "base62 characters (34 random, then a 6-character CRC32 checksum). "
                            "Shown only in this answer; keyward keeps only its SHA-256, so it "
                            "cannot be shown again.",
             "examples": [SECRET]}}},
    ],
    "examples": [CREATED_EXAMPLE],
}
ROTATED_EXAMPLE = dict(API_KEY_EXAMPLE, id=KEY_ID2, short_prefix=SHORT2, key=SECRET2,
                       created_at="2025-02-01T09:00:00Z", rotated_from=KEY_ID,
                       old_key={"id": KEY_ID, "expires_at": "2025-02-02T09:00:00Z"})
schemas["RotatedApiKey"] = {
    "description": "The new key made by rotation (with the old key's name, scopes, "
                   "restrictions, rate limit, meta and enabled state), its secret this once, "
                   "and when the old key stops working.",
    "allOf": [
        S("CreatedApiKey"),
        {"type": "object", "required": ["old_key"],
         "properties": {"old_key": {
             "type": "object", "required": ["id", "expires_at"],
             "description": "The replaced key: it keeps working until `expires_at` (now plus "
                            "`grace_seconds`, or its own earlier expiry).",
             "properties": {
                 "id": S("ApiKeyId"),
                 "expires_at": S("Timestamp"),
             }}}},
    ],
    "examples": [ROTATED_EXAMPLE],
}
schemas["RevokedKey"] = {
    "type": "object", "required": ["id", "status", "revoked_at"],
    "description": "The answer to a revocation, the same every time it is repeated.",
    "properties": {
        "id": S("ApiKeyId"),
        "status": {"type": "string", "const": "revoked", "examples": ["revoked"]},
        "revoked_at": {"$ref": "#/components/schemas/Timestamp",
                       "description": "When the key was first revoked."},
    },
    "examples": [{"id": KEY_ID, "status": "revoked", "revoked_at": T0}],
}
AUDIT_EXAMPLE = {"id": EVT_ID, "at": T0, "actor": RK_ID, "action": "key.create",
                 "target": KEY_ID, "workspace_id": WS_ID, "ip": "203.0.113.7",
                 "details": {"name": "checkout service", "environment": "live",
                             "short_prefix": SHORT}}
schemas["AuditAction"] = {
    "type": "string", "enum": AUDIT_ACTIONS,
    "description": "What was done.", "examples": ["key.create"],
}
schemas["AuditEntry"] = {
    "type": "object",
    "description": "One change: who did what to which object, when and from where. Written in "
                   "the same transaction as the change.",
    "required": ["id", "at", "actor", "action", "target", "workspace_id", "ip", "details"],
    "properties": {
        "id": {"type": "string", "pattern": "^evt_[A-Za-z0-9]+$", "examples": [EVT_ID]},
        "at": S("Timestamp"),
        "actor": {"type": "string",
                  "description": "A root key id (`rk_...`), an API key id (`key_...`, "
                                 "self-service), `member:<id>` or `portal:<ps_id>` (a change "
                                 "made on the portal), or `cli`.",
                  "examples": [RK_ID]},
        "action": S("AuditAction"),
        "target": {"type": "string", "description": "The id of the object acted on.",
                   "examples": [KEY_ID]},
        "workspace_id": {"type": ["string", "null"],
                         "description": "The workspace concerned; null (or empty) for "
                                        "deployment-wide actions such as root keys.",
                         "examples": [WS_ID]},
        "ip": {"type": ["string", "null"],
               "description": "The caller's address, when known.", "examples": ["203.0.113.7"]},
        "details": {"type": "object",
                    "description": "What changed (for example the fields of an update). Never "
                                   "holds a secret.",
                    "examples": [{"name": "checkout service"}]},
    },
    "examples": [AUDIT_EXAMPLE],
}


def list_schema(item, desc, example):
    return {
        "type": "object", "required": ["data", "next_cursor"],
        "description": desc,
        "properties": {
            "data": {"type": "array", "items": S(item),
                     "description": "At most `limit` objects, newest first."},
            "next_cursor": {"type": ["string", "null"],
                            "description": "Pass as `cursor` to get the next page; null on the "
                                           "last page.",
                            "examples": [None]},
        },
        "examples": [{"data": [example], "next_cursor": None}],
    }


schemas["WorkspaceList"] = list_schema("Workspace", "A page of workspaces.", WORKSPACE_EXAMPLE)
schemas["ApiKeyList"] = list_schema("ApiKey", "A page of API keys (never with secrets).",
                                    API_KEY_EXAMPLE)
schemas["AuditEntryList"] = list_schema("AuditEntry", "A page of audit entries.", AUDIT_EXAMPLE)

# Request bodies.
schemas["CreateWorkspaceRequest"] = {
    "type": "object", "additionalProperties": False, "required": ["name"],
    "properties": {
        "name": S("Name"),
        "max_active_keys": {"type": "integer", "minimum": 1, "maximum": 100000,
                            "description": "This workspace's limit of active keys (1-100000); "
                                           "omitted: the deployment default.",
                            "examples": [50]},
    },
    "examples": [{"name": "Acme Corp"}, {"name": "Acme Corp", "max_active_keys": 50}],
}
schemas["UpdateWorkspaceRequest"] = {
    "type": "object", "additionalProperties": False,
    "description": "Only the fields present change.",
    "properties": {
        "name": S("Name"),
        "max_active_keys": {"type": ["integer", "null"], "minimum": 1, "maximum": 100000,
                            "description": "A new limit of active keys (1-100000), or null to "
                                           "go back to the deployment default.",
                            "examples": [100, None]},
    },
    "examples": [{"name": "Acme Corporation"}, {"max_active_keys": None}],
}
schemas["CreateApiKeyRequest"] = {
    "type": "object", "additionalProperties": False,
    "required": ["name"],
    "description": "`workspace_id` and `environment` are required with a root key (400 "
                   "`invalid_request` without them); a self-service caller may leave them out "
                   "and gets its own.",
    "properties": {
        "workspace_id": {"$ref": "#/components/schemas/WorkspaceId",
                         "description": "The workspace the key belongs to; required with a root "
                                        "key. A self-service caller may only name its own "
                                        "(another answers 404) and defaults to it."},
        "environment": {"$ref": "#/components/schemas/Environment",
                        "description": "The key's environment; required with a root key. A "
                                       "self-service caller may only name its own (another "
                                       "answers 403 `insufficient_scope`) and defaults to it."},
        "name": S("Name"),
        "scopes": {"$ref": "#/components/schemas/Scopes",
                   "description": "Up to 100 scopes; omitted: none. A self-service caller may "
                                  "only grant scopes its own key holds."},
        "expires_at": {"type": ["string", "null"], "format": "date-time",
                       "description": "When the key stops working; must be in the future. "
                                      "Omitted or null: never.",
                       "examples": ["2026-01-01T00:00:00Z"]},
        "ip_allowlist": S("IpAllowlist"),
        "referrer_allowlist": S("ReferrerAllowlist"),
        "endpoint_allowlist": S("EndpointAllowlist"),
        "rate_limit": {"$ref": "#/components/schemas/RateLimit",
                       "description": "The key's own rate limit; omitted: the deployment "
                                      "default, if any."},
        "meta": S("Meta"),
    },
    "examples": [{"workspace_id": WS_ID, "environment": "live", "name": "checkout service",
                  "scopes": ["orders:read", "orders:write"],
                  "ip_allowlist": ["10.0.0.0/8"],
                  "endpoint_allowlist": ["GET /v1/products/*"],
                  "rate_limit": {"limit": 100, "period_seconds": 60},
                  "meta": {"customer": "acme"}}],
}
schemas["UpdateApiKeyRequest"] = {
    "type": "object", "additionalProperties": False,
    "description": "Only the fields present change; a revoked key cannot be changed (409 "
                   "`key_revoked`).",
    "properties": {
        "name": S("Name"),
        "scopes": {"$ref": "#/components/schemas/Scopes",
                   "description": "Replaces the scopes. A self-service caller may only grant "
                                  "scopes its own key holds."},
        "ip_allowlist": S("IpAllowlist"),
        "referrer_allowlist": S("ReferrerAllowlist"),
        "endpoint_allowlist": S("EndpointAllowlist"),
        "rate_limit": {"oneOf": [S("RateLimit"), {"type": "null"}],
                       "description": "A new rate limit, or null to clear the key's own limit."},
        "meta": {"$ref": "#/components/schemas/Meta", "description": "Replaces the meta object."},
        "enabled": {"type": "boolean",
                    "description": "false disables the key (verification answers `disabled`), "
                                   "true enables it again.",
                    "examples": [False]},
        "expires_at": {"type": ["string", "null"], "format": "date-time",
                       "description": "A new expiry in the future, or null to clear it (never "
                                      "expires).",
                       "examples": ["2026-01-01T00:00:00Z", None]},
    },
    "examples": [{"scopes": ["orders:read"], "rate_limit": None}, {"enabled": False}],
}
schemas["RevokeApiKeyRequest"] = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "reason": {"type": "string", "maxLength": 500, "pattern": NO_CONTROL,
                   "description": "Why, for the audit log and `revoked_reason`: up to 500 "
                                  "bytes, no control characters.",
                   "examples": ["leaked in a public repository"]},
    },
    "examples": [{"reason": "leaked in a public repository"}],
}
schemas["RotateApiKeyRequest"] = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "grace_seconds": {"type": "integer", "minimum": 0, "maximum": 2592000, "default": 0,
                          "description": "How long the old key keeps working: 0-2592000 "
                                         "seconds (30 days); 0, the default, ends it now. An "
                                         "earlier expiry of the old key stays.",
                          "examples": [86400]},
        "expires_at": {"type": ["string", "null"], "format": "date-time",
                       "description": "The new key's expiry; must be in the future. Omitted: "
                                      "the old key's expiry (expiry is inherited, never "
                                      "escaped); null: none. A managing key may only set an "
                                      "earlier one than the old key's.",
                       "examples": ["2026-01-01T00:00:00Z"]},
    },
    "examples": [{"grace_seconds": 86400}],
}
schemas["VerifyRequest"] = {
    "type": "object", "additionalProperties": False,
    "description": "A key to check and, optionally, the request it came with. Each restriction "
                   "of the key is checked against the field that describes it.",
    "properties": {
        "key": {"type": "string",
                "description": "The credential as presented. Absent or empty: `missing`; not the key "
                               "format or a bad checksum: `malformed`.",
                "examples": [SECRET]},
        "environment": {"type": "string",
                        "description": "When set, the key must be of this environment, else "
                                       "`wrong_environment`.",
                        "examples": ["live"]},
        "ip": {"type": "string",
               "description": "The client's IPv4 or IPv6 address, checked against "
                              "`ip_allowlist`.",
               "examples": ["203.0.113.7"]},
        "referrer": {"type": "string", "description": "The request's Referer, checked against "
                                                      "`referrer_allowlist`.",
                     "examples": ["https://app.example.com/cart"]},
        "method": {"type": "string", "description": "The request's method; with `path`, checked "
                                                    "against `endpoint_allowlist`.",
                   "examples": ["GET"]},
        "path": {"type": "string",
                 "description": "The request target; normalised (query dropped, dot segments "
                                "resolved) before matching `endpoint_allowlist`.",
                 "examples": ["/v1/products/42?expand=price"]},
        "scopes": {"type": "array", "items": S("Scope"),
                   "description": "Scopes the request needs; the key must hold all of them, "
                                  "else `insufficient_scope`.",
                   "examples": [["orders:read"]]},
    },
    "examples": [{"key": SECRET, "environment": "live", "ip": "203.0.113.7", "method": "GET",
                  "path": "/v1/products/42", "scopes": ["orders:read"]}],
}
schemas["RateLimitState"] = {
    "type": "object", "required": ["limit", "remaining", "reset"],
    "description": "The key's rate-limit bucket after this request.",
    "properties": {
        "limit": {"type": "integer", "minimum": 1, "description": "Requests allowed per period.",
                  "examples": [100]},
        "remaining": {"type": "integer", "minimum": 0,
                      "description": "Requests left now.", "examples": [99]},
        "reset": {"type": "integer", "minimum": 0,
                  "description": "Seconds until the bucket is full again.", "examples": [1]},
    },
    "examples": [{"limit": 100, "remaining": 99, "reset": 1}],
}
schemas["VerifyResponse"] = {
    "type": "object", "required": ["valid", "code"],
    "description": "The verification. Only `valid`, `code` and `message` when no key was found "
                   "(`missing`, `malformed`, `invalid`); otherwise also the key's details, "
                   "whatever the outcome.",
    "properties": {
        "valid": {"type": "boolean", "description": "True exactly when `code` is `valid`.",
                  "examples": [True]},
        "code": S("VerificationCode"),
        "message": {"type": "string", "description": "The outcome, for a person.",
                    "examples": ["key is revoked"]},
        "key_id": S("ApiKeyId"),
        "workspace_id": S("WorkspaceId"),
        "environment": S("Environment"),
        "name": S("Name"),
        "scopes": S("Scopes"),
        "meta": S("Meta"),
        "expires_at": {"$ref": "#/components/schemas/NullableTimestamp",
                       "description": "When the key expires, or null for never."},
        "ratelimit": {"$ref": "#/components/schemas/RateLimitState",
                      "description": "Present when a rate limit applies to the key."},
    },
    "examples": [
        {"valid": True, "code": "valid", "key_id": KEY_ID, "workspace_id": WS_ID,
         "environment": "live", "name": "checkout service",
         "scopes": ["orders:read", "orders:write"], "meta": {"customer": "acme"},
         "expires_at": None, "ratelimit": {"limit": 100, "remaining": 99, "reset": 1}},
        {"valid": False, "code": "invalid", "message": "no such key"},
    ],
}
schemas["HealthStatus"] = {
    "type": "object", "required": ["status"],
    "properties": {"status": {"type": "string", "const": "ok"}},
    "examples": [{"status": "ok"}],
}
schemas["ReadyStatus"] = {
    "type": "object", "required": ["status"],
    "properties": {"status": {"type": "string", "const": "ready"}},
    "examples": [{"status": "ready"}],
}

# ---------------------------------------------------------------- headers
def int_header(desc, ex):
    return {"description": desc, "schema": {"type": "integer", "minimum": 0, "examples": [ex]}}



# ---------------------------------------------------------------- browser sessions
schemas["PortalPermission"] = {
    "type": "string", "enum": PORTAL_PERMISSIONS,
    "description": "What a portal session may do: list and read keys and the workspace's key "
                   "limit (`keys:read`), create, rotate or revoke keys, read usage. A permission "
                   "that changes keys needs `keys:read` too.",
    "examples": ["keys:create"],
}
PS_MEMBER = {"id": "m_1", "name": "Ada Lovelace", "email": "ada@example.com"}
schemas["PortalMember"] = {
    "type": "object", "required": ["id"],
    "description": "The operator's user who opens the page: changes are audited as "
                   "`member:<id>`.",
    "properties": {
        "id": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": NO_CONTROL},
        "name": {"type": ["string", "null"], "maxLength": 200, "pattern": NO_CONTROL},
        "email": {"type": ["string", "null"], "maxLength": 254, "pattern": NO_CONTROL},
    },
    "examples": [PS_MEMBER],
}
schemas["CreatePortalSessionRequest"] = {
    "type": "object", "additionalProperties": False, "required": ["workspace_id"],
    "properties": {
        "workspace_id": S("WorkspaceId"),
        "environment": {"$ref": "#/components/schemas/Environment",
                        "description": "Limit the page to keys of this environment; omitted: "
                                       "every environment."},
        "permissions": {"type": "array", "items": S("PortalPermission"), "minItems": 1,
                        "uniqueItems": True,
                        "description": "Omitted: all of them."},
        "scopes": {"type": "array", "items": {"type": "string"}, "maxItems": 64,
                   "description": "The scopes a key created on the page may carry (offered as "
                                  "choices; `*` is any). Omitted: none, or any (`*`) when the "
                                  "console opens the page."},
        "return_url": {"type": "string", "format": "uri", "maxLength": 2048,
                       "description": "Where the page sends people back (an absolute http(s) "
                                      "URL): from a used or expired link, and with "
                                      "`?reason=session_expired` when the session ends."},
        "member": S("PortalMember"),
    },
    "examples": [{"workspace_id": WS_ID, "environment": "live",
                  "return_url": "https://app.example.com/settings", "member": PS_MEMBER}],
}
PS_EXAMPLE = {"id": PS_ID, "workspace_id": WS_ID, "environment": "live",
              "permissions": PORTAL_PERMISSIONS, "scopes": [],
              "return_url": "https://app.example.com/settings", "member": PS_MEMBER,
              "actor": "member:m_1", "status": "pending", "created_at": T0, "created_by": RK_ID,
              "expires_at": "2025-01-15T10:45:00Z", "opened_at": None, "ended_at": None}
schemas["PortalSession"] = {
    "type": "object",
    "required": ["id", "workspace_id", "environment", "permissions", "scopes", "return_url",
                 "member", "actor", "status", "created_at", "created_by", "expires_at",
                 "opened_at", "ended_at"],
    "description": "A link for one customer to one workspace's API-keys page.",
    "properties": {
        "id": {"type": "string", "pattern": "^ps_[A-Za-z0-9]+$", "examples": [PS_ID]},
        "workspace_id": S("WorkspaceId"),
        "environment": {"type": ["string", "null"]},
        "permissions": {"type": "array", "items": S("PortalPermission")},
        "scopes": {"type": "array", "items": {"type": "string"}},
        "return_url": {"type": ["string", "null"]},
        "member": {"oneOf": [S("PortalMember"), {"type": "null"}]},
        "actor": {"type": "string", "description": "What changes made on the page are audited "
                                                   "as: `member:<id>`, `portal:<ps_id>`, or the "
                                                   "root key that opened it from the console."},
        "status": {"type": "string", "enum": ["pending", "opened", "expired", "ended"],
                   "description": "`pending`: the link works; `opened`: it was used (once); "
                                  "`expired`: never used in time; `ended`: withdrawn."},
        "created_at": S("Timestamp"),
        "created_by": {"type": "string"},
        "expires_at": {"$ref": "#/components/schemas/Timestamp",
                       "description": "Until when the link can be opened (15 minutes by "
                                      "default, `portal.code_ttl_seconds`)."},
        "opened_at": {"type": ["string", "null"], "format": "date-time"},
        "ended_at": {"type": ["string", "null"], "format": "date-time"},
    },
    "examples": [PS_EXAMPLE],
}
schemas["CreatedPortalSession"] = {
    "allOf": [S("PortalSession"), {
        "type": "object", "required": ["url"],
        "properties": {"url": {
            "type": "string", "format": "uri",
            "description": "`<public_url>/portal?code=<one-time code>`: hand it to the customer's "
                           "browser (a redirect). It works once; the code is stored only as a "
                           "hash and is never shown again.",
            "examples": ["https://keys.example.com/portal?code=kw_code_..."]}}}],
}
schemas["ConsoleSession"] = {
    "type": "object", "required": ["kind", "actor", "expires_at", "csrf_token"],
    "properties": {
        "kind": {"type": "string", "const": "console"},
        "actor": {"type": "string", "examples": [RK_ID]},
        "expires_at": S("Timestamp"),
        "csrf_token": {"type": "string", "description": "Send as `X-CSRF-Token` on every change."},
    },
}
schemas["Branding"] = {
    "type": "object", "required": ["product_name", "logo_url", "accent_color", "support_url"],
    "description": "The `[portal]` configuration the pages show.",
    "properties": {
        "product_name": {"type": "string", "examples": ["Acme API"]},
        "logo_url": {"type": ["string", "null"]},
        "accent_color": {"type": ["string", "null"], "examples": ["#4f46e5"]},
        "support_url": {"type": ["string", "null"]},
    },
}
schemas["BrowserSession"] = {
    "type": "object",
    "required": ["kind", "actor", "csrf_token", "expires_at", "branding", "key_prefix",
                 "environments"],
    "description": "The session of the page asking: what it may do and its CSRF token. Portal "
                   "sessions also carry their workspace and portal-session fields.",
    "properties": {
        "kind": {"type": "string", "enum": ["portal", "console"]},
        "id": {"type": "string", "description": "Portal: the portal session id."},
        "actor": {"type": "string"},
        "csrf_token": {"type": "string", "description": "Send as `X-CSRF-Token` on every change."},
        "expires_at": S("Timestamp"),
        "branding": S("Branding"),
        "key_prefix": {"type": "string", "examples": ["asa"]},
        "workspace": S("Workspace"),
        "environment": {"type": ["string", "null"]},
        "environments": {"type": "array", "items": {"type": "string"},
                         "description": "The environments keys may be made in here."},
        "permissions": {"type": "array", "items": S("PortalPermission")},
        "scopes": {"type": "array", "items": {"type": "string"}},
        "member": {"oneOf": [S("PortalMember"), {"type": "null"}]},
        "return_url": {"type": ["string", "null"]},
    },
}

headers = {
    "Cache-Control": {"description": "Every response: `no-store`.",
                      "schema": {"type": "string", "const": "no-store"}},
    "WWW-Authenticate": {"description": "On 401: the scheme to authenticate with, `Bearer`, with "
                                        "`error=\"invalid_token\"` when a credential was "
                                        "presented but refused.",
                         "schema": {"type": "string",
                                    "examples": ["Bearer realm=\"keyward\"",
                                                 "Bearer realm=\"keyward\", "
                                                 "error=\"invalid_token\""]}},
    "Allow": {"description": "The methods the path accepts.",
              "schema": {"type": "string", "examples": ["GET, PATCH"]}},
    "Retry-After": int_header("Seconds until the key may make another request.", 1),
    "RateLimit-Limit": int_header("Requests the key may make per period.", 100),
    "RateLimit-Remaining": int_header("Requests the key has left now.", 99),
    "RateLimit-Reset": int_header("Seconds until the key's bucket is full again.", 1),
    "X-Keyward-Key-Id": {"description": "The verified key's id.",
                         "schema": {"type": "string", "examples": [KEY_ID]}},
    "X-Keyward-Workspace-Id": {"description": "The verified key's workspace.",
                               "schema": {"type": "string", "examples": [WS_ID]}},
    "X-Keyward-Environment": {"description": "The verified key's environment.",
                              "schema": {"type": "string", "examples": ["live"]}},
    "X-Keyward-Scopes": {"description": "The verified key's scopes, comma separated (empty "
                                        "when it has none).",
                         "schema": {"type": "string", "examples": ["orders:read,orders:write"]}},
}
H = lambda name: REF("headers", name)
CC = {"Cache-Control": H("Cache-Control")}
RL_HEADERS = {n: H(n) for n in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")}


# ---------------------------------------------------------------- responses
def error_schema(codes):
    if codes is None:
        return S("Error")
    return {"allOf": [S("Error"), {"properties": {"error": {"enum": codes}}}]}


def err_response(desc, codes, examples, extra_headers=None):
    hdrs = dict(CC)
    hdrs.update(extra_headers or {})
    media = {"schema": error_schema(codes)}
    media["examples"] = {code: {"value": {"error": code, "message": msg}}
                         for code, msg in examples}
    return {"description": desc, "headers": hdrs, "content": {"application/json": media}}


responses = {
    "BadRequest": err_response(
        "The request is not acceptable: `invalid_json` (the body is not JSON, holds a NUL "
        "byte, or nests deeper than 32) or `invalid_request` (a field or query parameter is "
        "missing, of the wrong type, unknown, or out of range; or the body of a write holds an "
        "API key or root key of this deployment, which is never stored). Nothing was changed. "
        "A message may quote the request; anything in it shaped like a secret (32 or more "
        "base62 characters in a row) is cut to 12 characters and `…`.",
        ["invalid_json", "invalid_request"],
        [("invalid_json", "request body is not valid JSON"),
         ("invalid_request", "unknown field \"scope\"")]),
    "Unauthorized": err_response(
        "No credential, or one that is not a live root key nor a verifying API key with "
        "`keys:manage`: `unauthorized`.",
        ["unauthorized"], [("unauthorized", "a valid root key or API key is required")],
        {"WWW-Authenticate": H("WWW-Authenticate")}),
    "Forbidden": err_response(
        "A good credential without the right: `insufficient_scope`. A self-service key (scope "
        "`keys:manage`) gets this on workspace, audit-log and verify routes, and when it grants "
        "scopes it does not hold itself. `forbidden`: a self-service key asked for a key less "
        "restricted than itself (an IP, referrer or endpoint allow-list outside its own, a later "
        "expiry or none, a higher rate limit), tried to change its own scopes, restrictions, "
        "rate limit, expiry or enabled state, or to enable a key it did not disable; the "
        "message names the bound.",
        ["insufficient_scope", "forbidden"],
        [("insufficient_scope", "this key may not grant scope \"*\""),
         ("forbidden", "ip_allowlist must stay within the ip_allowlist of the calling key " +
          KEY_ID)]),
    "NotFound": err_response(
        "No such object, or one in another workspace or environment than a self-service "
        "caller's: `not_found`.",
        ["not_found"], [("not_found", "no API key " + KEY_ID)]),
    "MethodNotAllowed": err_response(
        "The path exists but not with this method: `method_not_allowed`; `Allow` lists the "
        "methods it takes. Any path may answer it.",
        ["method_not_allowed"], [("method_not_allowed", "PUT is not allowed here")],
        {"Allow": H("Allow")}),
    "Conflict": err_response(
        "The change conflicts with the state: `key_limit_reached` (the workspace is at its "
        "limit of active keys; also bringing an expired or disabled key back without a free slot, "
        "or a rotation grace that would take the workspace more than one over its limit), "
        "`key_revoked` (a revoked key cannot be changed or rotated), or `conflict` (a key already "
        "rotated, an expired key rotated, or a key rotated while its predecessor is still in "
        "its rotation grace).",
        ["key_limit_reached", "key_revoked", "conflict"],
        [("key_limit_reached", "workspace " + WS_ID + " has 20 of 20 active keys; revoke an "
          "unused key first"),
         ("key_revoked", "API key " + KEY_ID + " is revoked; create a new key instead")]),
    "PayloadTooLarge": err_response(
        "The body is over 64 KiB: `payload_too_large`.", ["payload_too_large"],
        [("payload_too_large", "request body is over 65536 bytes")]),
    "UnsupportedMediaType": err_response(
        "The body has a Content-Type other than `application/json`: `unsupported_media_type`.",
        ["unsupported_media_type"],
        [("unsupported_media_type", "request body must be application/json")]),
    "Unprocessable": err_response(
        "Well-formed but cannot be carried out: `unprocessable`.", ["unprocessable"],
        [("unprocessable", "the request cannot be carried out")]),
    "RequestHeaderFieldsTooLarge": err_response(
        "The request headers are over 16 KiB: `invalid_request`. Any path may answer it.",
        ["invalid_request"], [("invalid_request", "request headers are over 16384 bytes")]),
    "InternalError": err_response(
        "Something failed inside keyward: `internal`. The message never carries internals.",
        ["internal"], [("internal", "internal error")]),
    "Unavailable": err_response(
        "Storage cannot take this request, or the server is stopping. `storage_full`: no space is left for keyward's data; changes are refused until space is freed, but revoking a key or a root key and ending a session still work. `storage_unavailable`: the database cannot be reached, or its data directory became read-only or was deleted, the disk reported an I/O error, or the database file cannot be read; the message names which. Nothing of the refused request was stored. Retry later; keys already checked keep verifying meanwhile, and keyward recovers by itself when the cause goes away.",
        ["storage_full", "storage_unavailable"],
        [("storage_full", "storage is full: no space is left for keyward's data. Revocations still work; other changes are refused until space is freed"),
         ("storage_unavailable", "storage is unavailable: keyward's data directory has become read-only. Changes are refused until it is writable again; keys already checked keep verifying")]),
    "GatewayBadRequest": err_response(
        "Forwarded headers from a trusted proxy that disagree (two methods, two URIs, "
        "`X-Real-IP` against `X-Forwarded-For`, a header repeated with different values) or "
        "that are not addresses: `invalid_request`. The request must not reach the back end.",
        ["invalid_request"],
        [("invalid_request", "X-Original-URI and X-Forwarded-Uri disagree; a gateway sends one "
          "of them, and a client must not be able to add the other")]),
    "GatewayUnauthorized": err_response(
        "The credential does not authenticate: one of `" + " ".join(GW_401) + "`.",
        GW_401, [("missing", "no API key in Authorization or X-API-Key"),
                 ("revoked", "key is revoked")],
        {"WWW-Authenticate": H("WWW-Authenticate")}),
    "GatewayForbidden": err_response(
        "The key is good but may not make this request: one of `" + " ".join(GW_403) + "`.",
        GW_403, [("endpoint_not_allowed", "key may not call POST /v1/orders"),
                 ("insufficient_scope", "key lacks scope orders:write")]),
    "GatewayTooManyRequests": err_response(
        "The key is over its rate limit or quota: `rate_limited` or `quota_exceeded`. "
        "With `rate_limited`, `Retry-After` says when to try again.",
        GW_429, [("rate_limited", "rate limit of 100 per 60 s exceeded")],
        dict({"Retry-After": H("Retry-After")}, **RL_HEADERS)),
}
R = lambda name: REF("responses", name)

# ---------------------------------------------------------------- parameters
parameters = {
    "WorkspaceIdPath": {"name": "id", "in": "path", "required": True,
                        "description": "The workspace id.", "schema": S("WorkspaceId")},
    "ApiKeyIdPath": {"name": "id", "in": "path", "required": True,
                     "description": "The API key id.", "schema": S("ApiKeyId")},
    "Cursor": {"name": "cursor", "in": "query", "required": False,
               "description": "The `next_cursor` of the previous page; omitted: the first "
                              "(newest) page.",
               "schema": {"type": "string", "examples": [KEY_ID]}},
    "Limit": {"name": "limit", "in": "query", "required": False,
              "description": "Page size, 1-1000 (default 50). A larger value answers 400, "
                             "never a silently shorter page.",
              "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}},
    "WorkspaceIdQuery": {"name": "workspace_id", "in": "query", "required": False,
                         "description": "Only objects of this workspace.",
                         "schema": S("WorkspaceId")},
    "EnvironmentQuery": {"name": "environment", "in": "query", "required": False,
                         "description": "Only keys of this environment.",
                         "schema": S("Environment")},
    "StatusQuery": {"name": "status", "in": "query", "required": False,
                    "description": "Only keys in this status now.", "schema": S("KeyStatus")},
    "PortalSessionIdPath": {"name": "id", "in": "path", "required": True,
                            "description": "The portal session id.",
                            "schema": {"type": "string", "examples": [PS_ID]}},
    "SearchQuery": {"name": "q", "in": "query", "required": False,
                    "description": "Only workspaces whose name (any case) or id contains this.",
                    "schema": {"type": "string", "maxLength": 200, "examples": ["acme"]}},
    "ActorQuery": {"name": "actor", "in": "query", "required": False,
                   "description": "Only entries by this actor (`rk_...`, `key_...`, "
                                  "`member:<id>`, ...).",
                   "schema": {"type": "string", "examples": ["member:m_1"]}},
    "ActionQuery": {"name": "action", "in": "query", "required": False,
                    "description": "Only entries of this action.", "schema": S("AuditAction")},
    "TargetQuery": {"name": "target", "in": "query", "required": False,
                    "description": "Only entries about this object id (a key, workspace or "
                                   "root key).",
                    "schema": {"type": "string", "examples": [KEY_ID]}},
}


def hparam(name, desc, example):
    return {"name": name, "in": "header", "required": False, "description": desc,
            "schema": {"type": "string", "examples": [example]}}


gateway_params = [
    hparam("Authorization", "The API key to check, as `Bearer <key>` (the first of "
           "`Authorization` and `X-API-Key` that is present is used).", "Bearer " + SECRET),
    hparam("X-API-Key", "The API key to check, bare.", SECRET),
    hparam("X-Forwarded-Method", "The original request's method (checked against "
           "`endpoint_allowlist`).", "GET"),
    hparam("X-Original-Method", "The original request's method, when `X-Forwarded-Method` is "
           "absent.", "GET"),
    hparam("X-Forwarded-Uri", "The original request's target (path and query).",
           "/v1/products/42?expand=price"),
    hparam("X-Original-URI", "The original request's target, when `X-Forwarded-Uri` is absent "
           "(nginx `auth_request`).", "/v1/products/42?expand=price"),
    hparam("X-Real-IP", "The client's address (checked against `ip_allowlist`); preferred over "
           "`X-Forwarded-For`.", "203.0.113.7"),
    hparam("X-Forwarded-For", "Without `X-Real-IP`, the client's address is the right-most "
           "entry: the one the gateway itself added. Earlier entries are client-supplied and "
           "ignored.", "198.51.100.2, 203.0.113.7"),
    hparam("Referer", "The original request's referrer (checked against `referrer_allowlist`).",
           "https://app.example.com/cart"),
    hparam("X-Keyward-Required-Scopes", "Scopes the gateway demands for this route, comma or "
           "space separated; the key must hold all of them.", "orders:read,orders:write"),
    hparam("X-Keyward-Required-Environment", "The environment the key must be of.", "live"),
]

# ---------------------------------------------------------------- paths
COMMON_AUTH = ["401", "403", "500", "503"]
RESP_NAMES = {"400": "BadRequest", "401": "Unauthorized", "403": "Forbidden", "404": "NotFound",
              "409": "Conflict", "413": "PayloadTooLarge", "415": "UnsupportedMediaType",
              "422": "Unprocessable", "431": "RequestHeaderFieldsTooLarge",
              "500": "InternalError", "503": "Unavailable"}


def ok(desc, schema_name, status="200", example=None):
    media = {"schema": S(schema_name)}
    if example is not None:
        media["example"] = example
    return status, {"description": desc, "headers": dict(CC),
                    "content": {"application/json": media}}


def op(op_id, tag, summary, description, success, errors, params=None, body=None,
       body_required=True, security=None):
    responses_obj = {}
    for status, resp in success:
        responses_obj[status] = resp
    for code in sorted(errors):
        responses_obj[code] = R(RESP_NAMES[code])
    o = {"operationId": op_id, "tags": [tag], "summary": summary, "description": description}
    if params:
        o["parameters"] = params
    if body:
        o["requestBody"] = {
            "required": body_required,
            "description": "JSON (`Content-Type: application/json`, or none). Unknown fields "
                           "answer 400 `invalid_request`; at most 64 KiB.",
            "content": {"application/json": {"schema": S(body)}}}
    o["responses"] = responses_obj
    if security is not None:
        o["security"] = security
    return o


P = lambda name: REF("parameters", name)
BODY_ERRS = ["400", "413", "415"]
ROOT_ONLY = (" Root key only; a self-service key answers 403 `insufficient_scope`.")
SELF_SERVICE = (" A root key, or a self-service key (scope `keys:manage`) for its own workspace "
                "and environment; objects elsewhere answer 404.")

paths = {}
paths["/v1/workspaces"] = {
    "post": op("createWorkspace", "workspaces", "Create a workspace",
               "Creates a workspace, the tenant that keys belong to. Writes a "
               "`workspace.create` audit entry." + ROOT_ONLY,
               [ok("The new workspace.", "Workspace", "201", WORKSPACE_EXAMPLE)],
               BODY_ERRS + COMMON_AUTH, body="CreateWorkspaceRequest"),
    "get": op("listWorkspaces", "workspaces", "List workspaces",
              "Lists workspaces, newest first, a page at a time." + ROOT_ONLY,
              [ok("A page of workspaces.", "WorkspaceList")],
              ["400"] + COMMON_AUTH, params=[P("SearchQuery"), P("Cursor"), P("Limit")]),
}
paths["/v1/workspaces/{id}"] = {
    "parameters": [P("WorkspaceIdPath")],
    "get": op("getWorkspace", "workspaces", "Get a workspace",
              "Reads one workspace with its key limit and active key count. Root key only "
              "(a self-service key answers 403 `insufficient_scope`), or a portal session with "
              "`keys:read` for its own workspace.",
              [ok("The workspace.", "Workspace", example=WORKSPACE_EXAMPLE)],
              ["404"] + COMMON_AUTH),
    "patch": op("updateWorkspace", "workspaces", "Update a workspace",
                "Renames a workspace or changes its limit of active keys (null: back to the "
                "deployment default). Writes a `workspace.update` audit entry." + ROOT_ONLY,
                [ok("The updated workspace.", "Workspace", example=WORKSPACE_EXAMPLE)],
                BODY_ERRS + ["404"] + COMMON_AUTH, body="UpdateWorkspaceRequest"),
}
paths["/v1/api-keys"] = {
    "post": op("createApiKey", "api-keys", "Create an API key",
               "Creates a key and returns it with its secret `key`, which is shown this once "
               "and never again. Past the workspace's limit of active keys answers 409 "
               "`key_limit_reached`. Writes a `key.create` audit entry." + SELF_SERVICE +
               " A self-service caller granting scopes its key does not hold gets 403.",
               [ok("The new key and, this once, its secret.", "CreatedApiKey", "201",
                   CREATED_EXAMPLE)],
               BODY_ERRS + ["404", "409"] + COMMON_AUTH, body="CreateApiKeyRequest"),
    "get": op("listApiKeys", "api-keys", "List API keys",
              "Lists keys, newest first, a page at a time; never with secrets. Filters "
              "combine." + SELF_SERVICE + " A self-service caller sees only the keys of its own "
              "workspace and environment.",
              [ok("A page of keys.", "ApiKeyList")],
              ["400"] + COMMON_AUTH,
              params=[P("WorkspaceIdQuery"), P("EnvironmentQuery"), P("StatusQuery"),
                      P("Cursor"), P("Limit")]),
}
paths["/v1/api-keys/{id}"] = {
    "parameters": [P("ApiKeyIdPath")],
    "get": op("getApiKey", "api-keys", "Get an API key",
              "Reads one key (never its secret)." + SELF_SERVICE,
              [ok("The key.", "ApiKey", example=API_KEY_EXAMPLE)],
              ["404"] + COMMON_AUTH),
    "patch": op("updateApiKey", "api-keys", "Update an API key",
                "Changes a key's name, scopes, restrictions, rate limit, meta, expiry or "
                "enabled state; `rate_limit` or `expires_at` null clears them. A revoked key "
                "answers 409 `key_revoked`. Takes effect for verification at once. Writes a "
                "`key.update` audit entry." + SELF_SERVICE,
                [ok("The updated key.", "ApiKey", example=API_KEY_EXAMPLE)],
                BODY_ERRS + ["404", "409"] + COMMON_AUTH, body="UpdateApiKeyRequest"),
    "delete": op("revokeApiKey", "api-keys", "Revoke an API key",
                 "Revokes a key now and for good; verification answers `revoked` from then on. "
                 "Repeating it answers the same (the first revocation's time). Writes a "
                 "`key.revoke` audit entry the first time. The body is optional." +
                 SELF_SERVICE,
                 [ok("The key is revoked.", "RevokedKey",
                     example={"id": KEY_ID, "status": "revoked", "revoked_at": T0})],
                 BODY_ERRS + ["404"] + COMMON_AUTH, body="RevokeApiKeyRequest",
                 body_required=False),
}
paths["/v1/api-keys/{id}/rotate"] = {
    "parameters": [P("ApiKeyIdPath")],
    "post": op("rotateApiKey", "api-keys", "Rotate an API key",
               "Creates a new key with the old one's name, scopes, restrictions, rate limit, "
               "meta, enabled state and expiry, and lets the old key expire after "
               "`grace_seconds`; both share one rate-limit budget. A grace may take the "
               "workspace one over its limit, never further (409 `key_limit_reached`; a grace of "
               "0 replaces the key in its slot). A revoked key answers 409 `key_revoked`; an "
               "expired key, a key rotated before (naming its replacement) and a key whose own "
               "predecessor is still in its grace (naming it) answer 409 `conflict`. A managing "
               "key must hold the old key's scopes, and the new key stays within its bounds. Writes a `key.rotate` audit entry. The body is optional." +
               SELF_SERVICE,
               [ok("The new key with its secret, this once, and the old key's expiry.",
                   "RotatedApiKey", "201", ROTATED_EXAMPLE)],
               BODY_ERRS + ["404", "409"] + COMMON_AUTH, body="RotateApiKeyRequest",
               body_required=False),
}
paths["/v1/keys/verify"] = {
    "post": op("verifyApiKey", "verification", "Verify an API key",
               "Checks a key and, optionally, the request it came with, in this order: missing, "
               "malformed, invalid, revoked, expired, disabled, wrong_environment, "
               "ip_not_allowed, referrer_not_allowed, endpoint_not_allowed, insufficient_scope, "
               "rate_limited. Always 200 with the outcome in `code`, whatever it is." + ROOT_ONLY,
               [ok("The verification, valid or not.", "VerifyResponse",
                   example=schemas["VerifyResponse"]["examples"][0])],
               BODY_ERRS + COMMON_AUTH, body="VerifyRequest"),
}
gw_200_headers = dict(CC)
gw_200_headers.update({n: H(n) for n in ("X-Keyward-Key-Id", "X-Keyward-Workspace-Id",
                                         "X-Keyward-Environment", "X-Keyward-Scopes")})
gw_200_headers.update(RL_HEADERS)
paths["/v1/auth"] = {
    "get": {
        "operationId": "authorizeRequest", "tags": ["verification"],
        "summary": "Gateway check (forward auth)",
        "description": (
            "Gateway mode, for nginx `auth_request`, Caddy `forward_auth`, Traefik ForwardAuth "
            "and Envoy `ext_authz` (HTTP). The gateway forwards the client's headers; keyward "
            "reads the API key from `Authorization: Bearer` or `X-API-Key`; from a peer in "
            "`trusted_proxies` (default loopback) only, the original request from "
            "`X-Original-Method`/`X-Forwarded-Method` and `X-Original-URI`/`X-Forwarded-Uri` "
            "(which must agree when both are sent: 400 otherwise) and the client from the "
            "right-most `X-Forwarded-For` entry that is not a trusted proxy and/or `X-Real-IP` "
            "(which must agree, and be addresses: 400 otherwise); from any other peer the "
            "request's own method, target and address. A key with an endpoint allow-list "
            "matches only a canonical path (no dot or empty segments, no encoded slashes, dots "
            "or unreserved characters, no backslash or `;`). The referrer comes from "
            "`Referer`, and the gateway's "
            "demands from `X-Keyward-Required-Scopes` and `X-Keyward-Required-Environment`. "
            "The checks run as for `POST /v1/keys/verify`. 200 lets the request through with "
            "the key's identity in `X-Keyward-*` headers (and `RateLimit-*` when a limit "
            "applies); a refusal answers 401, 403 or 429 with the verification code as the "
            "JSON error. Needs no root key: the API key being checked is the credential. "
            "Any method is accepted (without `X-Forwarded-Method` or `X-Original-Method` the "
            "request's own method is the original method), and for Envoy `ext_authz` the "
            "original path may instead be appended: `/v1/auth/<original path>?<query>`."),
        "security": [],
        "parameters": gateway_params,
        "responses": {
            "200": {"description": "The key verified: let the request through. The headers "
                                   "carry its identity; `RateLimit-*` only when a rate limit "
                                   "applies. The body carries nothing a gateway needs.",
                    "headers": gw_200_headers},
            "400": R("GatewayBadRequest"),
            "401": R("GatewayUnauthorized"),
            "403": R("GatewayForbidden"),
            "429": R("GatewayTooManyRequests"),
            "431": R("RequestHeaderFieldsTooLarge"),
            "500": R("InternalError"),
            "503": R("Unavailable"),
        },
    },
}
auth_with_path = copy.deepcopy(paths["/v1/auth"]["get"])
auth_with_path["operationId"] = "authorizeRequestWithPath"
auth_with_path["summary"] = "Gateway check with the original path appended (Envoy ext_authz)"
auth_with_path["description"] = (
    "The same check as `GET /v1/auth`, for gateways that append the original request to the "
    "check's path (Envoy `ext_authz` HTTP with `path_prefix: /v1/auth`): "
    "`/v1/auth/<original path>?<original query>` checks `/<original path>?<original query>` "
    "unless `X-Forwarded-Uri` or `X-Original-URI` names another. Any method is accepted and "
    "taken as the original request's method.")
auth_with_path["parameters"] = [{
    "name": "path", "in": "path", "required": True,
    "description": "The original request path, without its leading slash.",
    "schema": {"type": "string"}, "example": "v1/products/B09HN3Q81F"}] + auth_with_path["parameters"]
paths["/v1/auth/{path}"] = {"get": auth_with_path}
schemas["UsageBucket"] = {
    "type": "object", "additionalProperties": False,
    "required": ["start", "valid", "refused", "total", "by_code"],
    "properties": {
        "start": S("Timestamp"),
        "valid": {"type": "integer", "minimum": 0,
                  "description": "Successful verifications: the billable ones."},
        "refused": {"type": "integer", "minimum": 0,
                    "description": "Verifications of known keys that were refused (revoked, "
                                   "expired, rate limited, ...). Never billable."},
        "total": {"type": "integer", "minimum": 0},
        "by_code": {"type": "object", "additionalProperties": {"type": "integer"},
                    "description": "Counts per verification code."},
    },
}
schemas["UsageReport"] = {
    "type": "object", "additionalProperties": False,
    "required": ["workspace_id", "key_id", "granularity", "from", "to", "retention_days",
                 "valid", "total", "data"],
    "properties": {
        "workspace_id": S("WorkspaceId"),
        "key_id": {"type": ["string", "null"]},
        "granularity": {"type": "string", "enum": ["minute", "hour", "day"]},
        "from": S("Timestamp"),
        "to": S("Timestamp"),
        "retention_days": {"type": "integer",
                           "description": "How long usage is kept, revoked keys' included."},
        "valid": {"type": "integer"},
        "total": {"type": "integer"},
        "data": {"type": "array", "items": S("UsageBucket"),
                 "description": "Buckets in ascending order; buckets with no verification "
                                "are left out."},
    },
    "examples": [{"workspace_id": WS_ID, "key_id": None, "granularity": "hour",
                  "from": "2026-01-01T00:00:00Z", "to": "2026-01-02T00:00:00Z",
                  "retention_days": 90, "valid": 12, "total": 13,
                  "data": [{"start": "2026-01-01T10:00:00Z", "valid": 12, "refused": 1,
                            "total": 13, "by_code": {"valid": 12, "rate_limited": 1}}]}],
}
paths["/v1/usage"] = {
    "get": op("getUsage", "audit", "Usage over time",
              "Verification counts over time for a workspace's keys together, or for one key "
              "(`key_id`): per minute, hour or day (UTC buckets), split into billable `valid` "
              "answers and refusals, with counts per code. Usage of revoked keys stays "
              "queryable for `usage_retention_days`. At most 1500 buckets per call. Defaults: "
              "granularity hour, `to` now, `from` one bucket span back (an hour of minutes, a "
              "day of hours, 30 days)." + SELF_SERVICE,
              [ok("The usage report.", "UsageReport")],
              ["400", "404"] + COMMON_AUTH,
              params=[
                  {"name": "workspace_id", "in": "query", "required": False,
                   "description": "The workspace; required unless key_id is given.",
                   "schema": {"type": "string"}},
                  {"name": "key_id", "in": "query", "required": False,
                   "description": "Only this key.", "schema": {"type": "string"}},
                  {"name": "from", "in": "query", "required": False,
                   "description": "RFC 3339; rounded down to a bucket.",
                   "schema": {"type": "string", "format": "date-time"}},
                  {"name": "to", "in": "query", "required": False,
                   "description": "RFC 3339; rounded up to a bucket.",
                   "schema": {"type": "string", "format": "date-time"}},
                  {"name": "granularity", "in": "query", "required": False,
                   "schema": {"type": "string", "enum": ["minute", "hour", "day"],
                              "default": "hour"}},
              ]),
}
paths["/v1/audit-log"] = {
    "get": op("listAuditLog", "audit", "List audit entries",
              "Lists audit entries, newest first, a page at a time: who did what, when and from "
              "where. Entries never hold a secret." + ROOT_ONLY,
              [ok("A page of audit entries.", "AuditEntryList")],
              ["400"] + COMMON_AUTH,
              params=[P("WorkspaceIdQuery"), P("TargetQuery"), P("ActorQuery"),
                      P("ActionQuery"), P("Cursor"), P("Limit")]),
}
SESSION_HEADER = hparam("X-Keyward-Session", "`portal` or `console`: the page's session "
                        "cookie (`kw_portal` / `kw_console`) is the credential.", "portal")
SESSION_NOTE = (" Called by the pages with `X-Keyward-Session` and the session cookie; a change "
                "also needs `Origin` of this deployment and `X-CSRF-Token`.")
paths["/v1/portal-sessions"] = {
    "post": op("createPortalSession", "sessions", "Create a portal link",
               "Makes a one-time link to the hosted API-keys page of one workspace (and, with "
               "`environment`, one environment), with the permissions given. Redirect the "
               "customer's browser to `url`: opening it once, within `expires_at`, starts a "
               "browser session (a `HttpOnly`, `SameSite=Strict` cookie, 24 h by default) that "
               "reaches only that workspace; other objects answer 404. Writes a "
               "`portal_session.create` audit entry; changes made on the page are audited as "
               "the session's `actor`." + ROOT_ONLY,
               [ok("The link, with its one-time `url`.", "CreatedPortalSession", "201",
                   dict(PS_EXAMPLE, url="https://keys.example.com/portal?code=kw_code_..."))],
               BODY_ERRS + ["404"] + COMMON_AUTH, body="CreatePortalSessionRequest"),
}
paths["/v1/portal-sessions/{id}"] = {
    "parameters": [P("PortalSessionIdPath")],
    "get": op("getPortalSession", "sessions", "Get a portal link",
              "Reads a portal session: whether its link was opened, expired or ended." +
              ROOT_ONLY,
              [ok("The portal session.", "PortalSession", example=PS_EXAMPLE)],
              ["404"] + COMMON_AUTH),
    "delete": op("endPortalSession", "sessions", "Withdraw a portal link",
                 "Ends a portal session: an unused link stops working, and every browser "
                 "session made from it answers 401 `session_expired` from now on. Writes a "
                 "`portal_session.end` audit entry." + ROOT_ONLY,
                 [ok("The ended portal session.", "PortalSession", example=PS_EXAMPLE)],
                 ["404"] + COMMON_AUTH),
}
paths["/v1/console-sessions"] = {
    "post": op("createConsoleSession", "sessions", "Sign in to the console",
               "Exchanges the root key in `Authorization` for a console session cookie "
               "(`kw_console`, `HttpOnly`, `SameSite=Strict`); the page keeps no key. The "
               "request must carry this deployment's `Origin`, so another site cannot sign a "
               "visitor in (403 `forbidden`). The session acts as the root key and ends when "
               "the root key is revoked. Writes a `console.sign_in` audit entry.",
               [ok("The console session.", "ConsoleSession", "201")], COMMON_AUTH),
}
paths["/v1/session"] = {
    "get": op("getSession", "sessions", "The page's session",
              "What the page's browser session may do, with its CSRF token. 401 "
              "`session_expired` (with the portal's `return_url`) once it expired, was signed "
              "out or withdrawn; 401 `unauthorized` without one." + SESSION_NOTE,
              [ok("The session.", "BrowserSession")], ["400"] + COMMON_AUTH,
              params=[SESSION_HEADER], security=[{"sessionCookie": []}]),
    "delete": op("endSession", "sessions", "Sign out",
                 "Ends the page's browser session and clears its cookie. Writes a "
                 "`session.sign_out` audit entry." + SESSION_NOTE,
                 [("204", {"description": "Signed out."})], ["400"] + COMMON_AUTH,
                 params=[SESSION_HEADER], security=[{"sessionCookie": []}]),
}


def page(op_id, summary, description):
    return {"get": {
        "operationId": op_id, "tags": ["pages"], "summary": summary, "description": description,
        "security": [],
        "responses": {"200": {"description": "The page.",
                              "content": {"text/html": {"schema": {"type": "string"}}}}}}}


paths["/portal"] = page(
    "portalPage", "The customer portal",
    "The hosted API-keys page of one workspace. With `?code=<one-time code>` (the `url` of a "
    "portal session) it starts the browser session and answers 303 to `/portal`; a used or "
    "expired code answers 410 with a link back to `return_url`, an unknown one 404.")
paths["/console"] = page("consolePage", "The operator console",
                         "Sign in with a root key; workspaces, keys, usage and the audit log.")
paths["/"] = page("rootPage", "To the console", "Answers 303 to `/console`.")
paths["/assets/{file}"] = page(
    "webAsset", "A file of the pages",
    "Scripts and styles of the pages, with hashed names: `Cache-Control: public, "
    "max-age=31536000, immutable` and an `ETag` (`If-None-Match` answers 304).")
paths["/assets/{file}"]["parameters"] = [{"name": "file", "in": "path", "required": True,
                                          "schema": {"type": "string"}}]

paths["/healthz"] = {
    "get": op("getHealth", "operations", "Liveness",
              "Answers 200 while the process serves HTTP; checks nothing else. No credential.",
              [ok("Alive.", "HealthStatus", example={"status": "ok"})], [], security=[]),
}
paths["/readyz"] = {
    "get": op("getReadiness", "operations", "Readiness",
              "Answers 200 when keyward can serve requests and take changes, 503 while it cannot (a load balancer should stop sending it writes): `storage_full` while the disk is full, `storage_unavailable` while storage is unreachable, read-only, deleted, failing with I/O errors or unreadable, or while the server is stopping. The message names the cause; the log and `/metrics` (`keyward_storage_fault{fault=...}`) say more. No credential.",
              [ok("Ready to serve.", "ReadyStatus", example={"status": "ready"})], ["503"],
              security=[]),
}
METRICS_EXAMPLE = (
    "# HELP keyward_verifications_total Verifications by outcome.\n"
    "# TYPE keyward_verifications_total counter\n"
    "keyward_verifications_total{code=\"valid\"} 1027\n"
    "keyward_verifications_total{code=\"invalid\"} 3\n")
paths["/metrics"] = {
    "get": {
        "operationId": "getMetrics", "tags": ["operations"], "summary": "Prometheus metrics",
        "description": "Metrics in the Prometheus text exposition format "
                       "(`text/plain; version=0.0.4`). Never a secret. No credential; expose it "
                       "only where Prometheus can reach it.",
        "security": [],
        "responses": {
            "200": {"description": "The metrics.", "headers": dict(CC),
                    "content": {"text/plain": {"schema": {"type": "string"}}}},
        },
    },
}
paths["/openapi.json"] = {
    "get": {
        "operationId": "getOpenApiDocument", "tags": ["operations"],
        "summary": "This OpenAPI document",
        "description": "The machine-readable description of keyward's HTTP API: this document. "
                       "No credential.",
        "security": [],
        "responses": {
            "200": {"description": "The OpenAPI 3.1 document.", "headers": dict(CC),
                    "content": {"application/json": {"schema": {
                        "type": "object", "required": ["openapi", "info", "paths"],
                        "properties": {"openapi": {"type": "string", "examples": ["3.1.0"]}}}}}},
        },
    },
}

# ---------------------------------------------------------------- document
DESCRIPTION = """\
keyward is a self-hostable service that issues, stores and verifies API keys for your own \
API: workspaces (tenants) hold keys, each key has an environment (`live`, `test`, ...), \
scopes, optional IP / referrer / endpoint allow-lists, a rate limit, free-form `meta` and an \
optional expiry. Keys look like `asa_live_Tq0x4k9Pd8MnV2b7XcQ1wE5rT8yU3iO6pA9sD0fG`: a product \
prefix, the environment, and 40 base62 characters ending in a CRC32 checksum. keyward stores \
only their SHA-256; the secret is shown once, when the key is created or rotated. Every change \
is written to an audit log.

Your API checks a key with `POST /v1/keys/verify`, or your gateway does it with `GET /v1/auth` \
(nginx `auth_request`, Caddy `forward_auth`, Envoy `ext_authz`).

## Authentication
`Authorization: Bearer <token>`, where the token is
- a **root key** (`kw_root_...`), made with `keyward root-keys create` or printed once on the \
first start: it may call every route; or
- an **API key with the scope `keys:manage`** (self-service): it may call the `/v1/api-keys` \
routes for its own workspace and environment only. Objects elsewhere answer 404; granting \
scopes its key does not hold answers 403 `insufficient_scope`; workspace, audit-log and \
verify routes answer 403 `insufficient_scope`. The key must itself verify (not revoked, \
expired or disabled, within its IP and referrer restrictions), else 401.

The hosted pages use a **browser session** instead: a cookie named by the header \
`X-Keyward-Session: portal` or `console` (see `sessionCookie`). A portal session, made from a \
one-time link (`POST /v1/portal-sessions`), reaches one workspace with its permissions; a \
console session, signed in with a root key, acts as that key. A change from a browser session \
needs this deployment's `Origin` and the session's `X-CSRF-Token` (else 403 `forbidden`); an \
ended session answers 401 `session_expired`.

No credential or a bad one answers 401 `unauthorized` with `WWW-Authenticate: Bearer`. \
`/healthz`, `/readyz`, `/metrics`, `/openapi.json` and `/v1/auth` need no credential \
(`/v1/auth` checks the API key it is handed).

## Conventions
JSON in and out, UTF-8, `snake_case`. Request bodies must be JSON (`Content-Type: \
application/json`, or none; another type answers 415), at most 64 KiB (413), nested at most \
32 deep; unknown fields answer 400 `invalid_request`, so a typo such as `scope` for `scopes` \
is caught. Times are RFC 3339 UTC strings (`2025-01-15T10:30:00Z`); unset values are `null`. \
Ids carry a type prefix: `ws_`, `key_`, `rk_`, `evt_`, `ps_`. Every response carries \
`Cache-Control: no-store`, but for the pages' hashed files (`/assets/...`). A request that fails never changes stored state.

## Errors
`{"error": "<code>", "message": "<for a person>"}`: 400 `invalid_json` / `invalid_request`; \
401 `unauthorized`; 403 `insufficient_scope`; 404 `not_found` (also for objects of another \
workspace); 405 `method_not_allowed` (with `Allow`); 409 `key_limit_reached`, `key_revoked`, \
`conflict`; 413 `payload_too_large`; 415 `unsupported_media_type`; 422 `unprocessable`; 431 \
`invalid_request` (headers over 16 KiB); 500 `internal` (never with internals); 503 \
`storage_full` (no space left: changes refused, revocations still work), `storage_unavailable` (the database unreachable, its directory read-only or deleted, an I/O error, an unreadable file; or stopping). In gateway mode the refusing verification \
codes are the errors (401, 403, 429).

## Pagination
Lists answer `{"data": [...], "next_cursor": "..." | null}`, newest first. `limit` is 1-1000 \
(default 50); a larger one answers 400, never a silently shorter page. Pass `next_cursor` \
back as `cursor` until it is `null`.
"""

doc = {
    "openapi": "3.1.0",
    "info": {
        "title": "keyward",
        "version": "0.1.0",
        "summary": "Self-hostable API-key service: issue, verify, rotate and revoke API keys.",
        "description": DESCRIPTION,
    },
    "servers": [{"url": "http://127.0.0.1:8080", "description": "keyward's default listen "
                                                                "address"}],
    "tags": [
        {"name": "workspaces", "description": "Tenants that own keys and their key limits."},
        {"name": "api-keys", "description": "Create, list, read, change, revoke and rotate API "
                                            "keys."},
        {"name": "verification", "description": "Check a key: by API call or from a gateway."},
        {"name": "audit", "description": "Who changed what, when, from where."},
        {"name": "sessions", "description": "Portal links for customers, console sign-in, and "
                                            "the browser session of a page."},
        {"name": "pages", "description": "The hosted portal and console (HTML)."},
        {"name": "operations", "description": "Health, readiness, metrics and this document."},
    ],
    "security": [{"bearerAuth": []}, {"sessionCookie": []}],
    "paths": paths,
    "components": {
        "securitySchemes": {
            "bearerAuth": {
                "type": "http", "scheme": "bearer",
                "bearerFormat": "kw_root_... root key, or an API key with scope keys:manage",
                "description": "A root key (`kw_root_...`) may call every route. An API key "
                               "carrying the scope `keys:manage` may manage the keys of its own "
                               "workspace and environment (the `/v1/api-keys` routes) and "
                               "nothing else.",
            },
            "sessionCookie": {
                "type": "apiKey", "in": "cookie", "name": "kw_portal",
                "description": "A browser session of the portal (`kw_portal`) or the console "
                               "(`kw_console`), named by `X-Keyward-Session`. A console "
                               "session acts as its root key; a portal session as its "
                               "workspace, on the routes its permissions open: `keys:read` "
                               "(list and read keys, read the workspace), `keys:create`, "
                               "`keys:rotate`, `keys:revoke`, `usage:read`. Changes need this "
                               "deployment's `Origin` and the session's `X-CSRF-Token`.",
            },
        },
        "schemas": schemas,
        "parameters": parameters,
        "headers": headers,
        "responses": responses,
    },
}

text = json.dumps(doc, indent=2, ensure_ascii=True) + "\n"
assert ')OPENAPI"' not in text
with open(sys.argv[1], "w") as f:
    f.write(text)

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
AUDIT_ACTIONS = ["plan.create", "plan.update", "workspace.create", "workspace.update",
                 "workspace.credits_low", "workspace.credits_exhausted", "key.create",
                 "key.update", "key.revoke", "key.rotate", "key.import", "key.export",
                 "key.leak_report", "webhook_endpoint.create", "webhook_endpoint.update",
                 "webhook_endpoint.delete", "webhook_endpoint.roll_secret",
                 "webhook_endpoint.disable", "webhook_delivery.retry",
                 "root_key.create", "root_key.revoke",
                 "portal_session.create", "portal_session.open", "portal_session.end",
                 "console.sign_in", "session.sign_out"]
PORTAL_PERMISSIONS = ["keys:read", "keys:create", "keys:rotate", "keys:revoke", "usage:read"]

WS_ID = "ws_3kTq9VxLm2Rb8NcP4dQz"
KEY_ID = "key_7HbN2xQp9LrT4vWc1ZsY"
KEY_ID2 = "key_Vd5Gk8Jm1Xq3Pr7Lt2Hw"
RK_ID = "rk_9FqW2eRt6YuI1oPa3SdF"
EVT_ID = "evt_4LmN8bVc2XzQ7wEr5TyU"
PS_ID = "ps_2WqZ7nRb4XkT9mLc3VdP"
WE_ID = "we_5KpQ8nVx2RtL7mZc4WbY"
WHD_ID = "whd_3HnB6vQx9LpT2wRc8ZkM"
MSG_ID = "msg_8TyU2iOp4AsD6fGh1JkL"
WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
EVENT_TYPES = ["api_key.created", "api_key.updated", "api_key.rotated", "api_key.revoked",
               "api_key.expiring", "api_key.expired", "api_key.unused", "api_key.rotation_due",
               "api_key.leaked", "workspace.key_limit_reached", "workspace.credits_low",
               "workspace.credits_exhausted", "webhook_endpoint.disabled"]
PLAN_ID = "plan_8RtY3uKp5WmZ2xQv7NbL"
SECRET = "asa_live_Tq0x4k9Pd8MnV2b7XcQ1wE5rT8yU3iO6pA9sD0fG"
SHORT = "asa_live_Tq0x4k9Pd8Mn"
SECRET2 = "asa_live_Hx7Yp2Lk9Wq4Nb6Vc1Rt5Mz8Qd3Fs0Ga7Je2Kb9w"
SHORT2 = "asa_live_Hx7Yp2Lk9Wq4"
for i in (WS_ID, KEY_ID, KEY_ID2, RK_ID, EVT_ID, PS_ID, PLAN_ID, WE_ID, WHD_ID, MSG_ID):
    assert len(i.split("_", 1)[1]) == 20, i
for k in (SECRET, SECRET2):
    assert len(k.split("_")[2]) == 40, k
T0 = "2025-01-15T10:30:00Z"
# T0's calendar month (UTC), the credit period of a workspace without a billing anchor day.
MONTH_START, MONTH_END = "2025-01-01T00:00:00Z", "2025-02-01T00:00:00Z"
SECONDS_TO_MONTH_END = 1431000  # from T0 to MONTH_END
MAX_CREDITS = 1000000000000  # monthly_credits, credits.remaining, credits.refill.amount
MAX_COST = 1000000  # a request's cost (kMaxRequestCost)

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
        "`quota_exceeded` (the request costs more credits than the key's own credits or its "
        "workspace's monthly allowance have left; nothing is spent). Only `valid` spends "
        "credits."),
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
        "own restrictions changed; a managing key or portal session set a key's credits; a "
        "managing key with credits of its own created a key), `conflict` 409 also for changing a "
        "plan defined in the configuration. Gateway mode (`GET /v1/auth`) also "
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

# ---------------------------------------------------------------- plans and credits
schemas["PlanId"] = {
    "type": "string", "pattern": "^plan_[A-Za-z0-9_-]+$",
    "description": "A plan id: `plan_` and 20 base62 characters for a plan made through the "
                   "API, `plan_<name>` for one defined in the configuration (`[plans.<name>]`).",
    "examples": [PLAN_ID, "plan_pro"],
}
schemas["CostRules"] = {
    "type": "object", "maxProperties": 100,
    "propertyNames": {"minLength": 1},
    "additionalProperties": {"type": "integer", "minimum": 0, "maximum": MAX_COST},
    "description": "What requests cost, in credits: up to 100 rules, each an endpoint pattern "
                   "(`METHODS PATH` or a bare path, as in `endpoint_allowlist`) and a whole "
                   "number of credits, 0-1000000. A request costs the highest cost of the rules "
                   "it matches, else 1. A path that is not canonical (or none, as when `POST "
                   "/v1/keys/verify` is sent without `path`) costs the highest cost of all the "
                   "rules, so a request never gets cheaper by being spelled oddly. The caller's "
                   "own cost (`cost` of verify, `X-Keyward-Cost` of the gateway) wins over the "
                   "rules. Writing `costs` replaces every rule; `{}` removes them.",
    "examples": [{"GET /v1/search": 5, "GET /v1/products/*": 1}],
}
PLAN_EXAMPLE = {"id": PLAN_ID, "name": "Pro", "monthly_credits": 250000,
                "rate_limit": {"limit": 100, "period_seconds": 60}, "max_active_keys": 20,
                "costs": {"GET /v1/search": 5, "GET /v1/products/*": 1}, "source": "api",
                "created_at": T0, "updated_at": T0}
CONFIG_PLAN_EXAMPLE = {"id": "plan_free", "name": "Free", "monthly_credits": 1000,
                       "rate_limit": {"limit": 5, "period_seconds": 1}, "max_active_keys": 2,
                       "costs": {}, "source": "config", "created_at": T0, "updated_at": T0}
schemas["Plan"] = {
    "type": "object",
    "description": "What a workspace buys: a monthly allowance of credits, a rate limit for its "
                   "keys, a limit of active keys, and what its requests cost. A workspace's own "
                   "allowance, rate limit and key limit win over its plan's, which win over the "
                   "deployment's; what requests cost comes from the plan only. A change to a "
                   "plan reaches the next request of every workspace on it, on every node.",
    "required": ["id", "name", "monthly_credits", "rate_limit", "max_active_keys", "costs",
                 "source", "created_at", "updated_at"],
    "properties": {
        "id": S("PlanId"),
        "name": S("Name"),
        "monthly_credits": {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_CREDITS,
                            "description": "Credits each environment of a workspace on this plan "
                                           "may spend per billing period (a month); null: no "
                                           "allowance, requests are not limited by credits.",
                            "examples": [250000, None]},
        "rate_limit": {"oneOf": [S("RateLimit"), {"type": "null"}],
                       "description": "The rate limit of each key that has none of its own, or "
                                      "null (the deployment's default, if any, applies)."},
        "max_active_keys": {"type": ["integer", "null"], "minimum": 1, "maximum": 100000,
                            "description": "The limit of active keys of a workspace on this plan, "
                                           "or null for the deployment default.",
                            "examples": [20, None]},
        "costs": S("CostRules"),
        "source": {"type": "string", "enum": ["config", "api"],
                   "description": "`config`: defined in the configuration (`[plans]`) and "
                                  "changed there only (`PATCH` answers 409 `conflict`); `api`: "
                                  "made with `POST /v1/plans`.",
                   "examples": ["api"]},
        "created_at": S("Timestamp"),
        "updated_at": S("Timestamp"),
    },
    "examples": [PLAN_EXAMPLE, CONFIG_PLAN_EXAMPLE],
}
schemas["PlanList"] = {
    "type": "object", "required": ["data", "next_cursor"],
    "description": "Every plan, in order of id, in one page.",
    "properties": {
        "data": {"type": "array", "items": S("Plan")},
        "next_cursor": {"type": "null", "description": "Always null: there is one page."},
    },
    "examples": [{"data": [PLAN_EXAMPLE, CONFIG_PLAN_EXAMPLE], "next_cursor": None}],
}
schemas["CreatePlanRequest"] = {
    "type": "object", "additionalProperties": False, "required": ["name"],
    "properties": {
        "name": S("Name"),
        "monthly_credits": {"type": "integer", "minimum": 0, "maximum": MAX_CREDITS,
                            "description": "Credits per environment per month, 0-10^12; "
                                           "omitted: no allowance.",
                            "examples": [250000]},
        "rate_limit": {"oneOf": [S("RateLimit"), {"type": "null"}],
                       "description": "The rate limit of keys without their own; omitted or "
                                      "null: none (the deployment default applies)."},
        "max_active_keys": {"type": "integer", "minimum": 1, "maximum": 100000,
                            "description": "The limit of active keys, 1-100000; omitted: the "
                                           "deployment default.",
                            "examples": [20]},
        "costs": S("CostRules"),
    },
    "examples": [{"name": "Pro", "monthly_credits": 250000,
                  "rate_limit": {"limit": 100, "period_seconds": 60}, "max_active_keys": 20,
                  "costs": {"GET /v1/search": 5, "GET /v1/products/*": 1}}],
}
schemas["UpdatePlanRequest"] = {
    "type": "object", "additionalProperties": False,
    "description": "Only the fields present change; null clears a value (no allowance; the "
                   "deployment's rate limit or key limit). `costs` replaces every rule.",
    "properties": {
        "name": S("Name"),
        "monthly_credits": {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_CREDITS,
                            "description": "A new allowance, or null for none.",
                            "examples": [500000, None]},
        "rate_limit": {"oneOf": [S("RateLimit"), {"type": "null"}],
                       "description": "A new rate limit for keys without their own, or null."},
        "max_active_keys": {"type": ["integer", "null"], "minimum": 1, "maximum": 100000,
                            "description": "A new limit of active keys, or null.",
                            "examples": [50, None]},
        "costs": S("CostRules"),
    },
    "examples": [{"monthly_credits": 500000}, {"costs": {"GET /v1/search": 10}}],
}
schemas["CreditBalance"] = {
    "type": "object", "required": ["limit", "remaining", "reset"],
    "description": "A credit balance: what it allows in its period, what is left, and when it "
                   "renews. Exact on one node; with several nodes, `remaining` leaves out what "
                   "other nodes have leased and not yet spent.",
    "properties": {
        "limit": {"type": "integer", "minimum": 0,
                  "description": "What the balance allows in its period.",
                  "examples": [250000]},
        "remaining": {"type": "integer", "minimum": 0, "description": "Credits left now.",
                      "examples": [248119]},
        "reset": {"$ref": "#/components/schemas/NullableTimestamp",
                  "description": "When the balance renews (the next period starts), or null "
                                 "when it never does (key credits without a refill)."},
    },
    "examples": [{"limit": 250000, "remaining": 248119, "reset": MONTH_END}],
}
ALLOWANCE_EXAMPLE = {
    "period_start": MONTH_START, "period_end": MONTH_END,
    "environments": {
        "live": {"limit": 250000, "remaining": 248119, "spent": 1881, "reset": MONTH_END},
        "test": {"limit": 250000, "remaining": 250000, "spent": 0, "reset": MONTH_END}},
}
schemas["WorkspaceCredits"] = {
    "type": ["object", "null"],
    "required": ["period_start", "period_end", "environments"],
    "description": "The workspace's monthly allowance in its current billing period, per "
                   "environment (each environment has an allowance of its own, so test traffic "
                   "never spends live credits); null when the workspace has no allowance "
                   "(`monthly_credits` null).",
    "properties": {
        "period_start": {"$ref": "#/components/schemas/Timestamp",
                         "description": "00:00 UTC on the 1st of the month, or on the "
                                        "workspace's `billing_anchor_day` (a shorter month: its "
                                        "last day)."},
        "period_end": {"$ref": "#/components/schemas/Timestamp",
                       "description": "When the next period starts and the allowance renews."},
        "environments": {
            "type": "object",
            "description": "One entry per environment of the deployment (only the caller's "
                           "for a caller limited to one).",
            "additionalProperties": {
                "allOf": [S("CreditBalance"), {
                    "type": "object", "required": ["spent"],
                    "properties": {"spent": {
                        "type": "integer", "minimum": 0,
                        "description": "`limit` minus `remaining`. With several nodes it "
                                       "includes what other nodes have leased and not yet "
                                       "spent."}}}]}},
    },
    "examples": [ALLOWANCE_EXAMPLE, None],
}
schemas["KeyCreditsRefill"] = {
    "type": "object", "additionalProperties": False, "required": ["amount", "interval"],
    "description": "Sets the key's balance back to `amount` at the start of every UTC day, or "
                   "every month on `day`. What was left is not carried over.",
    "properties": {
        "amount": {"type": "integer", "minimum": 1, "maximum": MAX_CREDITS,
                   "description": "The balance after each refill, 1-10^12.",
                   "examples": [1000]},
        "interval": {"type": "string", "enum": ["daily", "monthly"],
                     "description": "`daily`: at 00:00 UTC; `monthly`: at 00:00 UTC on `day`.",
                     "examples": ["monthly"]},
        "day": {"type": "integer", "minimum": 1, "maximum": 31, "default": 1,
                "description": "Monthly only (a daily refill with `day` is refused): the day of "
                               "the month, 1-31; a shorter month refills on its last day. "
                               "Omitted: 1.",
                "examples": [1]},
    },
    "examples": [{"amount": 1000, "interval": "monthly", "day": 1},
                 {"amount": 100, "interval": "daily"}],
}
schemas["KeyCreditsRequest"] = {
    "type": ["object", "null"], "additionalProperties": False, "required": ["remaining"],
    "description": "The key's own credits, which its requests spend as well as its "
                   "workspace's allowance: a balance of `remaining` from now, refilled or not. "
                   "Setting them starts a new balance (what the old one had left is gone); null "
                   "removes them. Root key only: a managing key or a portal session that sends "
                   "them gets 403 `forbidden`.",
    "properties": {
        "remaining": {"type": "integer", "minimum": 0, "maximum": MAX_CREDITS,
                      "description": "The balance from now until the first refill (for ever "
                                     "without one), 0-10^12.",
                      "examples": [1000]},
        "refill": {"oneOf": [S("KeyCreditsRefill"), {"type": "null"}],
                   "description": "How the balance is renewed; omitted or null: never."},
    },
    "examples": [{"remaining": 1000, "refill": {"amount": 1000, "interval": "monthly", "day": 1}},
                 {"remaining": 500}],
}
KEY_CREDITS_EXAMPLE = {"limit": 1000, "remaining": 958, "reset": MONTH_END,
                       "refill": {"amount": 1000, "interval": "monthly", "day": 1}}
schemas["KeyCredits"] = {
    "type": ["object", "null"], "required": ["limit", "remaining", "reset", "refill"],
    "description": "The key's own credits and what they have left, or null when it has none "
                   "(it spends only its workspace's allowance). Keys of one rotation lineage "
                   "share one balance.",
    "properties": {
        "limit": {"type": "integer", "minimum": 0,
                  "description": "What the balance allows in its period: `remaining` as it was "
                                 "set, until the first refill; then the refill's `amount`.",
                  "examples": [1000]},
        "remaining": {"type": "integer", "minimum": 0, "description": "Credits left now.",
                      "examples": [958]},
        "reset": {"$ref": "#/components/schemas/NullableTimestamp",
                  "description": "The next refill, or null without one."},
        "refill": {"oneOf": [{
            "type": "object", "required": ["amount", "interval"],
            "properties": {
                "amount": {"type": "integer", "minimum": 1},
                "interval": {"type": "string", "enum": ["daily", "monthly"]},
                "day": {"type": "integer", "minimum": 1, "maximum": 31,
                        "description": "Monthly refills only."}}}, {"type": "null"}],
            "description": "The refill as set, or null."},
    },
    "examples": [KEY_CREDITS_EXAMPLE, None],
}

WORKSPACE_EXAMPLE = {"id": WS_ID, "name": "Acme Corp", "max_active_keys": 20,
                     "max_active_keys_override": None, "active_keys": 3, "created_at": T0,
                     "plan_id": PLAN_ID, "monthly_credits": 250000,
                     "monthly_credits_override": None,
                     "rate_limit": {"limit": 100, "period_seconds": 60},
                     "rate_limit_override": None, "billing_anchor_day": None,
                     "rotate_after_days": 90, "rotate_after_days_override": None,
                     "credits": ALLOWANCE_EXAMPLE}
schemas["Workspace"] = {
    "type": "object",
    "description": "A tenant: keys belong to exactly one workspace. Its limits are its own "
                   "values where it has them (`..._override`), else its plan's, else the "
                   "deployment's.",
    "required": ["id", "name", "max_active_keys", "max_active_keys_override", "active_keys",
                 "created_at", "plan_id", "monthly_credits", "monthly_credits_override",
                 "rate_limit", "rate_limit_override", "billing_anchor_day", "rotate_after_days",
                 "rotate_after_days_override", "credits"],
    "properties": {
        "id": S("WorkspaceId"),
        "name": S("Name"),
        "max_active_keys": {"type": "integer", "minimum": 1,
                            "description": "The limit of active keys in force: the workspace's "
                                           "own setting, else its plan's, else the deployment "
                                           "default (`[keys] max_active_per_workspace`).",
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
        "plan_id": {"oneOf": [S("PlanId"), {"type": "null"}],
                    "description": "The workspace's plan, or null for none."},
        "monthly_credits": {"type": ["integer", "null"], "minimum": 0,
                            "description": "The allowance in force: credits each environment "
                                           "may spend per billing period, the workspace's own "
                                           "or else its plan's; null: no allowance.",
                            "examples": [250000, None]},
        "monthly_credits_override": {"type": ["integer", "null"], "minimum": 0,
                                     "maximum": MAX_CREDITS,
                                     "description": "The workspace's own allowance, or null "
                                                    "when its plan's applies.",
                                     "examples": [None, 1000000]},
        "rate_limit": {"oneOf": [S("RateLimit"), {"type": "null"}],
                       "description": "The rate limit in force for its keys that have none of "
                                      "their own: the workspace's own, else its plan's, else "
                                      "the deployment default; null: none. A key's own "
                                      "`rate_limit` wins over it."},
        "rate_limit_override": {"oneOf": [S("RateLimit"), {"type": "null"}],
                                "description": "The workspace's own rate limit, or null."},
        "billing_anchor_day": {"type": ["integer", "null"], "minimum": 1, "maximum": 31,
                               "description": "The day of the month its billing period starts "
                                              "(00:00 UTC; a month shorter than it starts on "
                                              "its last day), or null for the calendar month.",
                               "examples": [None, 15]},
        "rotate_after_days": {"type": ["integer", "null"], "minimum": 1, "maximum": 3650,
                              "description": "The rotation policy in force: its keys are "
                                             "`rotation_due` this many days after they were "
                                             "made. The workspace's own, else the deployment's "
                                             "(`[keys] rotate_after_days`); null: none.",
                              "examples": [90, None]},
        "rotate_after_days_override": {"type": ["integer", "null"], "minimum": 1,
                                       "maximum": 3650,
                                       "description": "The workspace's own rotation policy, or "
                                                      "null when the deployment's applies.",
                                       "examples": [None, 30]},
        "credits": S("WorkspaceCredits"),
    },
    "examples": [WORKSPACE_EXAMPLE],
}
API_KEY_EXAMPLE = {
    "id": KEY_ID, "short_prefix": SHORT, "workspace_id": WS_ID, "environment": "live",
    "name": "checkout service", "status": "active", "rotation_due": False, "enabled": True,
    "scopes": ["orders:read", "orders:write"], "ip_allowlist": ["10.0.0.0/8"],
    "referrer_allowlist": [], "endpoint_allowlist": ["GET /v1/products/*"],
    "rate_limit": {"limit": 100, "period_seconds": 60}, "credits": None,
    "meta": {"customer": "acme"}, "created_at": T0, "created_by": RK_ID, "expires_at": None,
    "last_used_at": None, "revoked_at": None, "revoked_reason": None, "rotated_from": None,
    "requests_24h": 0, "requests_30d": 0,
}
schemas["ApiKey"] = {
    "type": "object",
    "description": "An API key as stored. Never holds the secret: keyward keeps only its "
                   "SHA-256.",
    "required": ["id", "short_prefix", "workspace_id", "environment", "name", "status",
                 "rotation_due", "enabled", "scopes", "ip_allowlist", "referrer_allowlist", "endpoint_allowlist",
                 "rate_limit", "credits", "meta", "created_at", "created_by", "expires_at",
                 "last_used_at", "revoked_at", "revoked_reason", "rotated_from", "requests_24h",
                 "requests_30d"],
    "properties": {
        "id": S("ApiKeyId"),
        "short_prefix": {"type": "string",
                         "description": "The key's product and environment prefix plus its "
                                        "first 12 body characters: enough to recognise a key in "
                                        "lists and logs, useless to authenticate with. An "
                                        "imported key of a legacy format shows its prefix and "
                                        "`short_prefix_length` characters; one imported by hash "
                                        "without a `short_prefix` shows an empty string.",
                         "examples": [SHORT]},
        "workspace_id": S("WorkspaceId"),
        "environment": S("Environment"),
        "name": S("Name"),
        "status": S("KeyStatus"),
        "rotation_due": {"type": "boolean",
                         "description": "True when the key is `active` and at least its "
                                        "workspace's `rotate_after_days` old (created_at + "
                                        "days <= now); false otherwise, and always without a "
                                        "rotation policy. Advice only: a due key keeps "
                                        "working until it is rotated or revoked. A rotated-in "
                                        "replacement counts from its own `created_at`.",
                         "examples": [False]},
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
                       "description": "The key's own rate limit, or null (its workspace's "
                                      "`rate_limit` in force, if any, applies)."},
        "credits": S("KeyCredits"),
        "meta": S("Meta"),
        "created_at": S("Timestamp"),
        "created_by": {"type": "string",
                       "description": "Who created the key: a root key id (`rk_...`), an API "
                                      "key id (`key_...`, self-service) or `cli`.",
                       "examples": [RK_ID]},
        "expires_at": {"$ref": "#/components/schemas/NullableTimestamp",
                       "description": "When the key stops working, or null for never."},
        "last_used_at": {"$ref": "#/components/schemas/NullableTimestamp",
                         "description": "When the key last verified successfully, to the second, or null. Written within a second of the use while 2,000 keys or fewer wait on the node; beyond that within a minute, or (keys in use / 2,000) seconds when more (about 8 minutes with a million keys in use)."},
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
    "examples": [API_KEY_EXAMPLE, dict(API_KEY_EXAMPLE, credits=KEY_CREDITS_EXAMPLE)],
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
                   "restrictions, rate limit, credits, meta and enabled state), its secret this "
                   "once, and when the old key stops working. The new key shares the old key's "
                   "credit balance, as it shares its rate-limit budget.",
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
                                 "made on the portal), `cli`, `config` (a plan of the "
                                 "configuration stored at start) or `keyward` (a workspace's "
                                 "spending crossed 80 % or 100 % of its allowance, recorded "
                                 "once per period and environment).",
                  "examples": [RK_ID]},
        "action": S("AuditAction"),
        "target": {"type": "string", "description": "The id of the object acted on.",
                   "examples": [KEY_ID]},
        "workspace_id": {"type": ["string", "null"],
                         "description": "The workspace concerned; null (or empty) for "
                                        "deployment-wide actions such as root keys and plans.",
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


IMPORT_HEX = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
schemas["ImportHash"] = {
    "type": "object", "additionalProperties": False,
    "required": ["algorithm", "encoding", "value"],
    "description": "The SHA-256 of the whole key as presented (prefix included), as the old "
                   "system stored it.",
    "properties": {
        "algorithm": {"type": "string", "enum": ["sha256"]},
        "encoding": {"type": "string", "enum": ["hex", "base64"],
                     "description": "`hex`: 64 digits, either case. `base64`: standard or "
                                    "URL-safe alphabet, padding optional."},
        "value": {"type": "string", "examples": [IMPORT_HEX]},
    },
}
schemas["ImportKeyRow"] = {
    "type": "object", "additionalProperties": False,
    "required": ["workspace_id", "environment"],
    "description": "One key to import. Exactly one of `hash` and `key`. A `key` (plaintext) "
                   "is hashed on arrival and never stored, logged or answered; it must have "
                   "this deployment's format or a `[[keys.legacy]]` one of the row's "
                   "environment. This is also the shape `GET /v1/api-keys/export` gives.",
    "properties": {
        "id": dict(S("ApiKeyId"), description="Keep this id (for a key exported from another "
                                              "keyward); omitted: a new one."),
        "workspace_id": S("WorkspaceId"),
        "environment": S("Environment"),
        "hash": S("ImportHash"),
        "key": {"type": "string", "description": "The key itself.",
                "examples": ["amsr_live_k3m7x9p2q4r8s1t5v0w6y"]},
        "short_prefix": {"type": "string", "maxLength": 48,
                         "description": "What lists show of a key imported by hash (never the "
                                        "whole key); taken from the key itself when `key` is "
                                        "given.", "examples": ["amsr_live_k3m7x9p2q4r8"]},
        "name": dict(S("Name"), description="Default: `Imported key`."),
        "scopes": S("Scopes"),
        "ip_allowlist": S("IpAllowlist"),
        "referrer_allowlist": S("ReferrerAllowlist"),
        "endpoint_allowlist": S("EndpointAllowlist"),
        "rate_limit": S("RateLimit"),
        "meta": S("Meta"),
        "created_at": dict(S("NullableTimestamp"), description="Default: now. Not in the future."),
        "expires_at": dict(S("NullableTimestamp"), description="May have passed: the key then "
                                                               "answers `expired`."),
        "last_used_at": dict(S("NullableTimestamp"), description="Not in the future."),
        "revoked_at": dict(S("NullableTimestamp"), description="Set: the key is imported "
                                                               "revoked, for good."),
        "disabled": {"type": "boolean", "default": False},
    },
}
schemas["ImportApiKeysRequest"] = {
    "type": "object", "additionalProperties": False, "required": ["keys"],
    "properties": {
        "keys": {"type": "array", "minItems": 1, "maxItems": 1000,
                 "items": {"type": "object"},
                 "description": "1 to 1000 rows (`ImportKeyRow`); a row that is not one is "
                                "rejected by its index, the others go on. The body may be up "
                                "to 8 MiB."},
        "dry_run": {"type": "boolean", "default": False,
                    "description": "Check every row, conflicts and limits included, and write "
                                   "nothing."},
    },
}
IMPORT_ROW_ERRORS = ["invalid_row", "invalid_hash", "invalid_short_prefix", "unknown_environment",
                     "unknown_key_format", "environment_mismatch", "hash_conflict", "id_conflict",
                     "workspace_not_found"]
schemas["ImportRowResult"] = {
    "type": "object", "required": ["index", "status"],
    "properties": {
        "index": {"type": "integer", "minimum": 0, "description": "The row's place in `keys`."},
        "status": {"type": "string", "enum": ["imported", "unchanged", "rejected"],
                   "description": "`unchanged`: the hash already is this key (same workspace "
                                  "and environment); nothing was written."},
        "id": dict(S("ApiKeyId"), description="The key; for `hash_conflict`, the key that "
                                              "already has the hash."),
        "short_prefix": {"type": "string"},
        "error": {"type": "string", "enum": IMPORT_ROW_ERRORS,
                  "description": "Why a row was rejected. `hash_conflict`: the hash is already "
                                 "a key of another workspace or environment, and is never "
                                 "merged."},
        "message": {"type": "string", "description": "What is wrong; never the key."},
    },
}
schemas["ImportApiKeysResult"] = {
    "type": "object",
    "required": ["dry_run", "batch_id", "imported", "unchanged", "rejected", "results",
                 "over_limit"],
    "properties": {
        "dry_run": {"type": "boolean"},
        "batch_id": {"type": "string", "pattern": "^imp_[A-Za-z0-9]+$",
                     "description": "Names the batch in the `key.import` audit entries."},
        "imported": {"type": "integer"}, "unchanged": {"type": "integer"},
        "rejected": {"type": "integer"},
        "results": {"type": "array", "items": S("ImportRowResult"),
                    "description": "One per row, in order."},
        "over_limit": {
            "type": "array",
            "description": "Workspaces holding more active keys than their limit after the "
                           "import. They keep every key; creating one there answers 409 "
                           "`key_limit_reached` until enough are revoked or expire.",
            "items": {"type": "object",
                      "required": ["workspace_id", "active_keys", "max_active_keys"],
                      "properties": {"workspace_id": S("WorkspaceId"),
                                     "active_keys": {"type": "integer"},
                                     "max_active_keys": {"type": "integer"}}}},
    },
    "examples": [{"dry_run": False, "batch_id": "imp_2ZbV0cXW1k3bNq8", "imported": 1,
                  "unchanged": 0, "rejected": 1,
                  "results": [{"index": 0, "status": "imported", "id": KEY_ID,
                               "short_prefix": "amsr_live_k3m7x9p2q4r8"},
                              {"index": 1, "status": "rejected", "error": "invalid_hash",
                               "message": "hash.value is not hex"}],
                  "over_limit": []}],
}
schemas["ExportedApiKeyList"] = {
    "type": "object", "required": ["data", "next_cursor"],
    "description": "A page of keys as import rows (`ImportKeyRow`, always with `id` and `hash` "
                   "in hex): what `POST /v1/api-keys/import` takes back, here or in another "
                   "keyward.",
    "properties": {
        "data": {"type": "array", "items": S("ImportKeyRow")},
        "next_cursor": {"type": ["string", "null"]},
    },
}

schemas["WorkspaceList"] = list_schema("Workspace", "A page of workspaces.", WORKSPACE_EXAMPLE)
schemas["ApiKeyList"] = list_schema("ApiKey", "A page of API keys (never with secrets).",
                                    API_KEY_EXAMPLE)
schemas["AuditEntryList"] = list_schema("AuditEntry", "A page of audit entries.", AUDIT_EXAMPLE)

# Request bodies.
schemas["CreateWorkspaceRequest"] = {
    "type": "object", "additionalProperties": False, "required": ["name"],
    "description": "An unknown `plan_id` answers 400 `invalid_request`.",
    "properties": {
        "name": S("Name"),
        "max_active_keys": {"type": "integer", "minimum": 1, "maximum": 100000,
                            "description": "This workspace's limit of active keys (1-100000); "
                                           "omitted: its plan's, else the deployment default.",
                            "examples": [50]},
        "plan_id": {"oneOf": [S("PlanId"), {"type": "null"}],
                    "description": "The workspace's plan. Omitted: the configuration's default "
                                   "plan (`[plans] default`), if any; null: no plan."},
        "monthly_credits": {"type": "integer", "minimum": 0, "maximum": MAX_CREDITS,
                            "description": "Its own allowance, credits per environment per "
                                           "billing period, 0-10^12; omitted: its plan's.",
                            "examples": [1000000]},
        "rate_limit": {"oneOf": [S("RateLimit"), {"type": "null"}],
                       "description": "Its own rate limit for keys without one; omitted or "
                                      "null: its plan's, else the deployment default."},
        "billing_anchor_day": {"type": "integer", "minimum": 1, "maximum": 31,
                               "description": "The day of the month its billing period starts, "
                                              "1-31; omitted: the calendar month.",
                               "examples": [15]},
        "rotate_after_days": {"type": "integer", "minimum": 1, "maximum": 3650,
                              "description": "Its own rotation policy: its keys are "
                                             "`rotation_due` this many days (1-3650) after they "
                                             "were made. Omitted: the deployment's "
                                             "(`[keys] rotate_after_days`), if any.",
                              "examples": [30]},
    },
    "examples": [{"name": "Acme Corp"}, {"name": "Acme Corp", "max_active_keys": 50},
                 {"name": "Acme Corp", "plan_id": PLAN_ID, "billing_anchor_day": 15}],
}
schemas["UpdateWorkspaceRequest"] = {
    "type": "object", "additionalProperties": False,
    "description": "Only the fields present change; null clears the workspace's own value, so "
                   "its plan's (else the deployment's) applies. An unknown `plan_id` answers "
                   "400 `invalid_request`. A change reaches the next request on every node.",
    "properties": {
        "name": S("Name"),
        "max_active_keys": {"type": ["integer", "null"], "minimum": 1, "maximum": 100000,
                            "description": "A new limit of active keys (1-100000), or null to "
                                           "go back to its plan's, else the deployment default.",
                            "examples": [100, None]},
        "plan_id": {"oneOf": [S("PlanId"), {"type": "null"}],
                    "description": "A new plan, or null for no plan (not the default plan)."},
        "monthly_credits": {"type": ["integer", "null"], "minimum": 0, "maximum": MAX_CREDITS,
                            "description": "A new allowance of its own (0-10^12), or null for "
                                           "its plan's.",
                            "examples": [1000000, None]},
        "rate_limit": {"oneOf": [S("RateLimit"), {"type": "null"}],
                       "description": "A new rate limit of its own, or null for its plan's."},
        "billing_anchor_day": {"type": ["integer", "null"], "minimum": 1, "maximum": 31,
                               "description": "A new anchor day (1-31), or null for the "
                                              "calendar month. The current period is reckoned "
                                              "from the new day at once; when that moves its "
                                              "start, it is a new balance, and what was spent "
                                              "before the change does not count against it.",
                               "examples": [15, None]},
        "rotate_after_days": {"type": ["integer", "null"], "minimum": 1, "maximum": 3650,
                              "description": "A new rotation policy of its own (1-3650 days), "
                                             "or null for the deployment's. Advice only: it "
                                             "changes `rotation_due`, never verification.",
                              "examples": [30, None]},
    },
    "examples": [{"name": "Acme Corporation"}, {"max_active_keys": None},
                 {"plan_id": PLAN_ID, "monthly_credits": None}],
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
                                      "Omitted or null: never, or, under a maximum key "
                                      "lifetime (`[keys] max_key_lifetime_days`), the latest "
                                      "allowed (now + that many days); a later one answers "
                                      "400 `invalid_request` naming the limit and the latest "
                                      "allowed time.",
                       "examples": ["2026-01-01T00:00:00Z"]},
        "ip_allowlist": S("IpAllowlist"),
        "referrer_allowlist": S("ReferrerAllowlist"),
        "endpoint_allowlist": S("EndpointAllowlist"),
        "rate_limit": {"$ref": "#/components/schemas/RateLimit",
                       "description": "The key's own rate limit; omitted: its workspace's in "
                                      "force (its own, its plan's or the deployment default), "
                                      "if any."},
        "credits": {"$ref": "#/components/schemas/KeyCreditsRequest",
                    "description": "The key's own credits; omitted or null: none. Root key "
                                   "only (403 `forbidden` otherwise)."},
        "meta": S("Meta"),
    },
    "examples": [{"workspace_id": WS_ID, "environment": "live", "name": "checkout service",
                  "scopes": ["orders:read", "orders:write"],
                  "ip_allowlist": ["10.0.0.0/8"],
                  "endpoint_allowlist": ["GET /v1/products/*"],
                  "rate_limit": {"limit": 100, "period_seconds": 60},
                  "meta": {"customer": "acme"}},
                 {"workspace_id": WS_ID, "environment": "live", "name": "trial",
                  "credits": {"remaining": 1000,
                              "refill": {"amount": 1000, "interval": "monthly", "day": 1}}}],
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
        "credits": {"$ref": "#/components/schemas/KeyCreditsRequest",
                    "description": "New credits, a new balance from now; null removes them. "
                                   "Root key only: a managing key or portal session sending "
                                   "`credits`, null included, gets 403 `forbidden`."},
        "meta": {"$ref": "#/components/schemas/Meta", "description": "Replaces the meta object."},
        "enabled": {"type": "boolean",
                    "description": "false disables the key (verification answers `disabled`), "
                                   "true enables it again.",
                    "examples": [False]},
        "expires_at": {"type": ["string", "null"], "format": "date-time",
                       "description": "A new expiry in the future, or null to clear it (never "
                                      "expires). Under a maximum key lifetime (`[keys] "
                                      "max_key_lifetime_days`), null or a time later than "
                                      "`created_at` + that many days answers 400 "
                                      "`invalid_request` naming the latest allowed time.",
                       "examples": ["2026-01-01T00:00:00Z", None]},
    },
    "examples": [{"scopes": ["orders:read"], "rate_limit": None}, {"enabled": False},
                 {"credits": {"remaining": 5000}}, {"credits": None}],
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
                                      "earlier one than the old key's. Under a maximum key "
                                      "lifetime (`[keys] max_key_lifetime_days`) the new key "
                                      "lives at most that many days from now: none (asked or "
                                      "inherited) becomes that, a later inherited expiry is "
                                      "brought forward to it, and a later one asked for "
                                      "answers 400 `invalid_request`.",
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
        "cost": {"type": "integer", "minimum": 0, "maximum": MAX_COST,
                 "description": "What the request costs in credits, 0-1000000. Omitted: the "
                                "cost of the workspace plan's rule for `method` and `path` (a "
                                "missing or non-canonical `path` costs the highest rule), else "
                                "1. 0 checks the key without spending, and passes even when no "
                                "credits are left. Spent only when the answer is `valid`.",
                 "examples": [5]},
    },
    "examples": [{"key": SECRET, "environment": "live", "ip": "203.0.113.7", "method": "GET",
                  "path": "/v1/products/42", "scopes": ["orders:read"]},
                 {"key": SECRET, "method": "GET", "path": "/v1/search?q=lamp", "cost": 5}],
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
        "credits": {
            "type": "object",
            "description": "What the credit balances the request spends from have left after "
                           "it: present when the checks reached credits (the answer is `valid` "
                           "or `quota_exceeded`) and the key has credits of its own (`key`) or "
                           "its workspace an allowance (`workspace`).",
            "properties": {
                "workspace": {"$ref": "#/components/schemas/CreditBalance",
                              "description": "The allowance of the key's workspace and "
                                             "environment in its billing period."},
                "key": {"$ref": "#/components/schemas/CreditBalance",
                        "description": "The key's own credits (shared by its rotation "
                                       "lineage)."},
            }},
        "cost": {"type": "integer", "minimum": 0, "maximum": MAX_COST,
                 "description": "The credits this request was charged: its cost when `valid`, "
                                "else 0. Present whenever the key was found.",
                 "examples": [1]},
    },
    "examples": [
        {"valid": True, "code": "valid", "key_id": KEY_ID, "workspace_id": WS_ID,
         "environment": "live", "name": "checkout service",
         "scopes": ["orders:read", "orders:write"], "meta": {"customer": "acme"},
         "expires_at": None, "ratelimit": {"limit": 100, "remaining": 99, "reset": 1},
         "credits": {"workspace": {"limit": 250000, "remaining": 248119, "reset": MONTH_END}},
         "cost": 1},
        {"valid": False, "code": "invalid", "message": "no such key"},
        {"valid": False, "code": "quota_exceeded",
         "message": "the workspace's monthly credits are used up (3 left, this request costs "
                    "5); they renew at " + MONTH_END,
         "key_id": KEY_ID, "workspace_id": WS_ID, "environment": "live",
         "name": "checkout service", "scopes": ["orders:read", "orders:write"],
         "meta": {"customer": "acme"}, "expires_at": None,
         "ratelimit": {"limit": 100, "remaining": 98, "reset": 2},
         "credits": {"workspace": {"limit": 250000, "remaining": 3, "reset": MONTH_END}},
         "cost": 0},
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
    "Retry-After": int_header("Seconds until the request may be tried again: for "
                              "`rate_limited`, until the rate limit admits it; for "
                              "`quota_exceeded`, until the balance that could not pay renews "
                              "(the later, when both could not). Absent when it never renews "
                              "(key credits without a refill).", 1),
    "RateLimit-Policy": {
        "description": "The limits that apply to the key, as a structured-field list "
                       "(draft-ietf-httpapi-ratelimit-headers), one member each: `requests` "
                       "(the rate limit: `q` requests per `w` seconds), `credits` (the "
                       "workspace's monthly allowance of its environment: `q` credits in a "
                       "period of `w` seconds) and `key_credits` (the key's own credits: `q` "
                       "credits, `w` the length of their current period, absent when they "
                       "never renew). A member is present only when its limit applies and the "
                       "checks reached it; the header is absent when none does.",
        "schema": {"type": "string",
                   "examples": ["\"requests\";q=100;w=60, \"credits\";q=10000;w=2678400, "
                                "\"key_credits\";q=1000"]}},
    "RateLimit": {
        "description": "What is left of each policy of `RateLimit-Policy`, in the same order: "
                       "`r` remaining (requests, or credits) and `t` seconds until it is all "
                       "back (the rate-limit bucket full again, or the credit period over; "
                       "absent for credits that never renew).",
        "schema": {"type": "string",
                   "examples": ["\"requests\";r=42;t=18, \"credits\";r=9000;t=86400"]}},
    "RateLimit-Limit": int_header("Requests the key may make per period (the rate limit "
                                  "only, as earlier drafts had it; credits are in "
                                  "`RateLimit-Policy`).", 100),
    "RateLimit-Remaining": int_header("Requests the key has left now.", 99),
    "RateLimit-Reset": int_header("Seconds until the key's bucket is full again.", 1),
    "Transfer-Encoding": {"description": "`chunked`: the answer is streamed as it is read.",
                          "schema": {"type": "string", "const": "chunked"}},
    "X-Keyward-Key-Id": {"description": "The verified key's id.",
                         "schema": {"type": "string", "examples": [KEY_ID]}},
    "X-Keyward-Workspace-Id": {"description": "The verified key's workspace.",
                               "schema": {"type": "string", "examples": [WS_ID]}},
    "X-Keyward-Environment": {"description": "The verified key's environment.",
                              "schema": {"type": "string", "examples": ["live"]}},
    "X-Keyward-Scopes": {"description": "The verified key's scopes, comma separated (empty "
                                        "when it has none).",
                         "schema": {"type": "string", "examples": ["orders:read,orders:write"]}},
    "X-Keyward-Error": {"description": "Only when the gateway asked with "
                                       "`X-Keyward-Error-Header: 1`: the refusal's JSON body "
                                       "again (ASCII only), for a gateway that passes on the "
                                       "status but not the body (nginx `auth_request`). A "
                                       "request refused before the check (a header sent twice "
                                       "with different values) has none.",
                        "schema": {"type": "string",
                                   "examples": ["{\"error\":\"rate_limited\",\"message\":"
                                                "\"rate limit exceeded; retry after 1 s\"}"]}},
}
H = lambda name: REF("headers", name)
CC = {"Cache-Control": H("Cache-Control")}
RL_HEADERS = {n: H(n) for n in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset",
                               "RateLimit-Policy", "RateLimit")}


# ---------------------------------------------------------------- responses
def error_schema(codes):
    if codes is None:
        return S("Error")
    return {"allOf": [S("Error"), {"properties": {"error": {"enum": codes}}}]}


def err_response(desc, codes, examples, extra_headers=None):
    hdrs = dict(CC)
    hdrs.update(extra_headers or {})
    media = {"schema": error_schema(codes)}
    # (code, message), or (example name, code, message) for several of one code.
    media["examples"] = {}
    for e in examples:
        name, code, msg = e if len(e) == 3 else (e[0], e[0], e[1])
        media["examples"][name] = {"value": {"error": code, "message": msg}}
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
        "`keys:manage`) gets this on plan, workspace, audit-log and verify routes, and when it "
        "grants scopes it does not hold itself. `forbidden`: a self-service key asked for a key less "
        "restricted than itself (an IP, referrer or endpoint allow-list outside its own, a later "
        "expiry or none, a higher rate limit), tried to change its own scopes, restrictions, "
        "rate limit, expiry or enabled state, or to enable a key it did not disable; the "
        "message names the bound. Also `forbidden`: a managing key or a portal session sent a "
        "key's `credits` (root keys only), a managing key with credits of its own tried to "
        "create a key, or a portal session called a route its permissions do not open (plans, "
        "workspace changes, ...).",
        ["insufficient_scope", "forbidden"],
        [("insufficient_scope", "this key may not grant scope \"*\""),
         ("forbidden", "ip_allowlist must stay within the ip_allowlist of the calling key " +
          KEY_ID),
         ("forbidden_credits", "forbidden",
          "only a root key sets a key's credits: they are what the operator sells")]),
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
    "PlanConflict": err_response(
        "The plan is defined in the configuration (`source: \"config\"`): `conflict`. Change "
        "it in `[plans]` and restart; nothing was changed.",
        ["conflict"],
        [("conflict", "plan plan_pro is defined in the configuration ([plans]); change it "
          "there")]),
    "PlanBadRequest": err_response(
        "The request is not acceptable: `invalid_json`, or `invalid_request` (a field missing, "
        "of the wrong type, unknown or out of range: a `name` that is empty, over 200 bytes or "
        "holds a control character; `monthly_credits` outside 0-10^12; `max_active_keys` "
        "outside 1-100000; a `rate_limit` outside its bounds; more than 100 `costs`, one that "
        "is not an endpoint pattern, or a cost that is not a whole number from 0 to 1000000; or "
        "the body holds a key of this deployment, which is never stored). Nothing was changed.",
        ["invalid_json", "invalid_request"],
        [("invalid_json", "request body is not valid JSON"),
         ("invalid_request", "costs: the cost of \"GET /v1/search\" must be between 0 and "
          "1000000"),
         ("monthly_credits", "invalid_request",
          "monthly_credits must be between 0 and 1000000000000"),
         ("too_many_costs", "invalid_request", "costs has more than 100 rules")]),
    "ApiKeyBadRequest": err_response(
        "The request is not acceptable: `invalid_json`, or `invalid_request` (a field missing, "
        "of the wrong type, unknown or out of range; an `expires_at` past the deployment's "
        "maximum key lifetime, `[keys] max_key_lifetime_days`, naming the latest allowed time; "
        "or the body holds a key of this deployment, which is never stored). Nothing was "
        "changed.",
        ["invalid_json", "invalid_request"],
        [("invalid_json", "request body is not valid JSON"),
         ("invalid_request", "expires_at must be in the future"),
         ("max_key_lifetime_days", "invalid_request",
          "expires_at must be no later than 2025-04-15T09:30:00Z: keys live at most 90 days on "
          "this deployment ([keys] max_key_lifetime_days)")]),
    "WorkspaceBadRequest": err_response(
        "The request is not acceptable: `invalid_json`, or `invalid_request` (a field missing, "
        "of the wrong type, unknown or out of range, or a `plan_id` that names no plan; or the "
        "body holds a key of this deployment, which is never stored). Nothing was changed.",
        ["invalid_json", "invalid_request"],
        [("invalid_json", "request body is not valid JSON"),
         ("invalid_request", "no plan plan_nope"),
         ("billing_anchor_day", "invalid_request",
          "billing_anchor_day must be between 1 and 31")]),
    "UsageExportBadRequest": err_response(
        "A query parameter is not acceptable: `invalid_request` (an unknown parameter, `format` "
        "other than `csv` or `json`, an unknown `environment`, `from` or `to` neither a day "
        "like `2026-11-01` nor an RFC 3339 time, `from` not before `to`, or no `workspace_id` "
        "with a root key).",
        ["invalid_request"],
        [("invalid_request", "format must be csv or json"),
         ("bad_from", "invalid_request",
          "from must be a day like 2026-11-01 or an RFC 3339 time")]),
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
        "Storage cannot take this request, or the server is stopping. `storage_full`: no space is left for keyward's data; changes are refused until space is freed, but revoking a key or a root key and ending a session still work. `storage_unavailable`: the database cannot be reached, or its data directory became read-only or was deleted, the disk reported an I/O error, or the database file cannot be read; the message names which. Nothing of the refused request was stored. Retry later; keys already checked keep verifying meanwhile, and keyward recovers by itself when the cause goes away. Leasing credits is a write: once a node has spent the credits it holds, verifications that need credits (a key with credits of its own, a workspace with an allowance) answer this too.",
        ["storage_full", "storage_unavailable"],
        [("storage_full", "storage is full: no space is left for keyward's data. Revocations still work; other changes are refused until space is freed"),
         ("storage_unavailable", "storage is unavailable: keyward's data directory has become read-only. Changes are refused until it is writable again; keys already checked keep verifying")]),
    "GatewayBadRequest": err_response(
        "Forwarded headers from a trusted proxy that disagree (two methods, two URIs, "
        "`X-Real-IP` against `X-Forwarded-For`, a header repeated with different values) or "
        "that are not addresses, or an `X-Keyward-Cost` that is not a whole number from 0 to "
        "1000000: `invalid_request`. The request must not reach the back end.",
        ["invalid_request"],
        [("invalid_request", "X-Original-URI and X-Forwarded-Uri disagree; a gateway sends one "
          "of them, and a client must not be able to add the other"),
         ("bad_cost", "invalid_request",
          "X-Keyward-Cost must be a whole number of credits from 0 to 1000000")],
        {"X-Keyward-Error": H("X-Keyward-Error")}),
    "GatewayUnauthorized": err_response(
        "The credential does not authenticate: one of `" + " ".join(GW_401) + "`.",
        GW_401, [("missing", "no API key in Authorization or X-API-Key"),
                 ("revoked", "key is revoked")],
        {"WWW-Authenticate": H("WWW-Authenticate"), "X-Keyward-Error": H("X-Keyward-Error")}),
    "GatewayForbidden": err_response(
        "The key is good but may not make this request: one of `" + " ".join(GW_403) + "`.",
        GW_403, [("endpoint_not_allowed", "key may not call POST /v1/orders"),
                 ("insufficient_scope", "key lacks scope orders:write")],
        {"X-Keyward-Error": H("X-Keyward-Error")}),
    "GatewayTooManyRequests": err_response(
        "The key is over its rate limit (`rate_limited`), or the request costs more credits "
        "than the key's own credits or its workspace's monthly allowance have left "
        "(`quota_exceeded`; nothing is spent). `Retry-After` says when to try again: the rate "
        "limit's wait, or the seconds until the credits that ran out renew (absent when they "
        "never do). `RateLimit-Policy` and `RateLimit` carry every limit that applies; for "
        "example, with the allowance used up:\n\n"
        "```\nHTTP/1.1 429 Too Many Requests\nRetry-After: " + str(SECONDS_TO_MONTH_END) +
        "\nRateLimit-Policy: \"requests\";q=100;w=60, \"credits\";q=250000;w=2678400\n"
        "RateLimit: \"requests\";r=98;t=2, \"credits\";r=3;t=" + str(SECONDS_TO_MONTH_END) +
        "\nRateLimit-Limit: 100\nRateLimit-Remaining: 98\nRateLimit-Reset: 2\n"
        "Content-Type: application/json\n\n"
        "{\"error\":\"quota_exceeded\",\"message\":\"the workspace's monthly credits are used "
        "up (3 left, this request costs 5); they renew at " + MONTH_END + "\"}\n```",
        GW_429, [("rate_limited", "rate limit exceeded; retry after 1 s"),
                 ("quota_exceeded", "the workspace's monthly credits are used up (3 left, this "
                  "request costs 5); they renew at " + MONTH_END),
                 ("quota_exceeded_key", "quota_exceeded",
                  "this API key's credits are used up (0 left, this request costs 1)")],
        dict({"Retry-After": H("Retry-After"), "X-Keyward-Error": H("X-Keyward-Error")},
             **RL_HEADERS)),
}
R = lambda name: REF("responses", name)

# ---------------------------------------------------------------- parameters
# ---------------------------------------------------------------- webhooks and leaks
schemas["WebhookEventType"] = {
    "type": "string", "enum": EVENT_TYPES,
    "description": "What happened. `api_key.created`, `.updated`, `.rotated`, `.revoked`: a "
                   "change through the API or a page. `api_key.expiring`: 7 days and 1 day "
                   "before `expires_at` (a rotation's grace ends this way too). "
                   "`api_key.expired`, `api_key.unused` (`[webhooks] unused_days` without a "
                   "use) and `api_key.rotation_due` (older than the rotation policy allows): "
                   "once per key and cause. `api_key.leaked`: reported as leaked (`POST "
                   "/v1/leaks`, GitHub secret scanning). `workspace.key_limit_reached`, "
                   "`workspace.credits_low` (80 %), `workspace.credits_exhausted` (100 %). "
                   "`webhook_endpoint.disabled`: keyward disabled an endpoint (410, or every "
                   "retry failed).",
    "examples": ["api_key.revoked"],
}
schemas["WebhookEvent"] = {
    "type": "object", "required": ["type", "timestamp", "data"],
    "description": "The body of every delivery, signed by the Standard Webhooks scheme: "
                   "`webhook-id` (the event's `msg_...` id, the same on every retry and every "
                   "endpoint), `webhook-timestamp` (Unix seconds of the attempt) and "
                   "`webhook-signature` (`v1,` + base64 HMAC-SHA256 of `id.timestamp.body` "
                   "with the secret's decoded bytes; two signatures, space-separated, while a "
                   "rolled secret overlaps). `data` holds ids and short prefixes, never a secret.",
    "properties": {
        "type": S("WebhookEventType"),
        "timestamp": S("Timestamp"),
        "data": {"type": "object",
                 "description": "About a key: `key_id`, `workspace_id`, `short_prefix`, "
                                "`environment`, `actor` and the event's own fields (`reason`; "
                                "`new_key_id`, `new_short_prefix`, `grace_seconds`; `changed`; "
                                "`expires_at`, `within_days`; `source`, `url`, `action`)."},
    },
    "examples": [{"type": "api_key.revoked", "timestamp": T0,
                  "data": {"key_id": KEY_ID, "workspace_id": WS_ID, "short_prefix": SHORT,
                           "environment": "live", "actor": RK_ID, "reason": "leaked"}}],
}
WEBHOOK_ENDPOINT_EXAMPLE = {
    "id": WE_ID, "object": "webhook_endpoint", "workspace_id": None, "environment": None,
    "url": "https://hooks.example.com/keyward", "events": [], "description": "Security team",
    "enabled": True, "disabled_reason": None, "previous_secret_expires_at": None,
    "created_at": T0, "updated_at": T0}
schemas["WebhookEndpoint"] = {
    "type": "object",
    "required": ["id", "object", "workspace_id", "environment", "url", "events", "description",
                 "enabled",
                 "disabled_reason", "previous_secret_expires_at", "created_at", "updated_at"],
    "description": "A receiver of events: the operator's (`workspace_id` null: every "
                   "workspace's events and the deployment's own) or one workspace's.",
    "properties": {
        "id": {"type": "string", "pattern": "^we_[A-Za-z0-9]+$", "examples": [WE_ID]},
        "object": {"type": "string", "const": "webhook_endpoint"},
        "workspace_id": dict(S("WorkspaceId"), type=["string", "null"]),
        "environment": {"type": ["string", "null"],
                        "description": "Only events about keys of this environment (and events "
                                       "about none, such as credits); null: every environment. "
                                       "A managing key's endpoints are of its own environment."},
        "url": {"type": "string", "format": "uri", "maxLength": 2048},
        "events": {"type": "array", "items": S("WebhookEventType"),
                   "description": "The event types it receives; empty: all."},
        "description": {"type": "string", "maxLength": 500},
        "enabled": {"type": "boolean"},
        "disabled_reason": {"type": ["string", "null"], "enum": ["gone", "failing", None],
                            "description": "Why keyward disabled it: `gone` (the receiver "
                                           "answered 410), `failing` (every retry of a "
                                           "delivery failed). Null otherwise."},
        "previous_secret_expires_at": dict(S("Timestamp"), type=["string", "null"],
                                           description="Until when the secret before the last "
                                                       "roll still signs too."),
        "created_at": S("Timestamp"),
        "updated_at": S("Timestamp"),
    },
    "examples": [WEBHOOK_ENDPOINT_EXAMPLE],
}
schemas["WebhookEndpointWithSecret"] = {
    "allOf": [S("WebhookEndpoint"), {
        "type": "object", "required": ["secret"],
        "properties": {"secret": {"type": "string", "pattern": "^whsec_[A-Za-z0-9+/=]+$",
                                  "description": "The signing secret, shown this once.",
                                  "examples": [WHSEC]}}}],
}
schemas["WebhookEndpointList"] = list_schema("WebhookEndpoint", "Endpoints, oldest first.",
                                             WEBHOOK_ENDPOINT_EXAMPLE)
schemas["WebhookEndpointList"]["properties"]["data"]["description"] = "Every endpoint asked for."
schemas["CreateWebhookEndpointRequest"] = {
    "type": "object", "additionalProperties": False, "required": ["url"],
    "properties": {
        "url": {"type": "string", "maxLength": 2048,
                "description": "`https://` (or `http://`), no user name or password. An address "
                               "in a loopback, private, link-local or reserved range, or a name "
                               "resolving to one, answers 400 unless `[webhooks] "
                               "allow_private_targets = true`.",
                "examples": ["https://hooks.example.com/keyward"]},
        "events": {"type": "array", "items": S("WebhookEventType"), "uniqueItems": True,
                   "description": "Left out or empty: every type."},
        "description": {"type": "string", "maxLength": 500},
        "enabled": {"type": "boolean", "default": True},
        "environment": dict(S("Environment"),
                            description="Only events of keys of this environment; left out: "
                                        "all (a managing key: always its own)."),
        "workspace_id": dict(S("WorkspaceId"),
                             description="The workspace whose events it receives; left out: the "
                                         "operator's endpoint (root keys only). A managing key's "
                                         "endpoints are always its own workspace's."),
    },
}
schemas["UpdateWebhookEndpointRequest"] = {
    "type": "object", "additionalProperties": False,
    "properties": {k: schemas["CreateWebhookEndpointRequest"]["properties"][k]
                   for k in ("url", "events", "description")} | {
        "enabled": {"type": "boolean", "description": "`true` re-enables an endpoint keyward "
                                                      "disabled; failed deliveries stay failed "
                                                      "(retry them one by one)."}},
}
schemas["RollWebhookSecretRequest"] = {
    "type": "object", "additionalProperties": False,
    "properties": {"overlap_seconds": {"type": "integer", "minimum": 0, "maximum": 604800,
                                       "default": 86400,
                                       "description": "How long the old secret keeps signing "
                                                      "beside the new one (0: not at all)."}},
}
schemas["DeletedWebhookEndpoint"] = {
    "type": "object", "required": ["id", "object", "deleted"],
    "properties": {"id": {"type": "string", "examples": [WE_ID]},
                   "object": {"type": "string", "const": "webhook_endpoint"},
                   "deleted": {"type": "boolean", "const": True}},
}
WEBHOOK_DELIVERY_EXAMPLE = {
    "id": WHD_ID, "object": "webhook_delivery", "endpoint_id": WE_ID, "event_id": MSG_ID,
    "event_type": "api_key.revoked", "status": "delivered", "attempts": 1,
    "next_attempt_at": None, "last_attempt_at": T0, "response_status": 204, "latency_ms": 38,
    "error": None, "manual": False, "created_at": T0}
schemas["WebhookDelivery"] = {
    "type": "object",
    "required": list(WEBHOOK_DELIVERY_EXAMPLE.keys()),
    "description": "One event on its way to one endpoint. Attempt 1 goes at once; after a "
                   "failure (not 2xx, a timeout of `[webhooks] timeout_seconds`, no connection) "
                   "the next follows after 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h and "
                   "24 h, each ±10 %, and never before a 429's or 503's `Retry-After`. A 410, or "
                   "the tenth failure, disables the endpoint.",
    "properties": {
        "id": {"type": "string", "pattern": "^whd_[A-Za-z0-9]+$", "examples": [WHD_ID]},
        "object": {"type": "string", "const": "webhook_delivery"},
        "endpoint_id": {"type": "string", "examples": [WE_ID]},
        "event_id": {"type": "string", "pattern": "^msg_[A-Za-z0-9]+$",
                     "description": "The `webhook-id` the receiver sees.", "examples": [MSG_ID]},
        "event_type": S("WebhookEventType"),
        "status": {"type": "string", "enum": ["pending", "delivered", "failed"]},
        "attempts": {"type": "integer", "minimum": 0},
        "next_attempt_at": dict(S("Timestamp"), type=["string", "null"],
                                description="When a pending delivery is tried next."),
        "last_attempt_at": dict(S("Timestamp"), type=["string", "null"]),
        "response_status": {"type": ["integer", "null"],
                            "description": "The HTTP status of the last attempt that got one."},
        "latency_ms": {"type": ["integer", "null"]},
        "error": {"type": ["string", "null"],
                  "description": "Why the last attempt failed: `HTTP 500`, `timeout`, "
                                 "`connect: ...`, `refused: ... is a private address`."},
        "manual": {"type": "boolean",
                   "description": "Sent again by hand: one attempt, whose failure disables "
                                  "nothing."},
        "created_at": S("Timestamp"),
    },
    "examples": [WEBHOOK_DELIVERY_EXAMPLE],
}
schemas["WebhookDeliveryList"] = list_schema("WebhookDelivery", "Deliveries, newest first.",
                                             WEBHOOK_DELIVERY_EXAMPLE)
schemas["ReportLeaksRequest"] = {
    "type": "object", "additionalProperties": False, "required": ["keys"],
    "properties": {
        "keys": {"type": "array", "minItems": 1, "maxItems": 1000,
                 "items": {"type": "string", "maxLength": 1024},
                 "description": "Strings found in public that may be keys of this deployment."},
        "source": {"type": "string", "maxLength": 2048, "examples": ["paste bin"]},
        "url": {"type": "string", "maxLength": 2048,
                "examples": ["https://gist.example.com/abc"]},
    },
}
schemas["LeakResult"] = {
    "type": "object", "required": ["short_prefix", "label", "action"],
    "properties": {
        "short_prefix": {"type": ["string", "null"],
                         "description": "Null when the string has no shape of this deployment's "
                                        "keys: it is not quoted at all."},
        "label": {"type": "string", "enum": ["true_positive", "false_positive"],
                  "description": "`true_positive`: a key this deployment issued or imported "
                                 "(format, checksum and hash all hold)."},
        "action": {"type": "string", "enum": ["revoked", "notified", "none"],
                   "description": "`revoked` (`[leaks] action = \"revoke\"`, the default), "
                                  "`notified` (`\"notify\"`), or `none`: see `reason`."},
        "key_id": S("ApiKeyId"),
        "reason": {"type": "string",
                   "enum": ["not_a_key", "unknown_key", "already_revoked", "expired",
                            "already_reported"]},
    },
}
schemas["ReportLeaksResult"] = {
    "type": "object", "required": ["results"],
    "properties": {"results": {"type": "array", "items": S("LeakResult"),
                               "description": "One per string, in order; never the key."}},
    "examples": [{"results": [{"short_prefix": SHORT, "label": "true_positive",
                               "action": "revoked", "key_id": KEY_ID}]}],
}
schemas["GithubSecretScanningRequest"] = {
    "type": "array", "minItems": 1, "maxItems": 1000,
    "description": "GitHub's secret-scanning partner alert.",
    "items": {"type": "object", "required": ["token"],
              "properties": {"token": {"type": "string"}, "type": {"type": "string"},
                             "url": {"type": "string"}, "source": {"type": "string"}}},
}
schemas["GithubSecretScanningResult"] = {
    "type": "array",
    "description": "GitHub's feedback shape: one entry per token, in order.",
    "items": {"type": "object", "required": ["token_hash", "token_type", "label"],
              "properties": {
                  "token_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$",
                                 "description": "SHA-256 of the token, hex."},
                  "token_type": {"type": "string"},
                  "label": {"type": "string", "enum": ["true_positive", "false_positive"]}}},
}


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
    "RotationDueQuery": {"name": "rotation_due", "in": "query", "required": False,
                         "description": "`true`: only keys with `rotation_due` true now "
                                        "(active, and older than their workspace's rotation "
                                        "policy). Any other value answers 400.",
                         "schema": {"type": "string", "enum": ["true"]}},
    "PlanIdPath": {"name": "id", "in": "path", "required": True,
                   "description": "The plan id.", "schema": S("PlanId")},
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
    "WebhookEndpointIdPath": {"name": "id", "in": "path", "required": True,
                              "description": "The webhook endpoint id.",
                              "schema": {"type": "string", "examples": [WE_ID]}},
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
    hparam("X-Keyward-Error-Header", "`1`: a refusal (400, 401, 403, 429) carries its JSON "
           "body in `X-Keyward-Error` as well, for a gateway that passes on the status but not "
           "the body (nginx `auth_request`; deploy/nginx/keyward.conf). Anything else: no "
           "`X-Keyward-Error`.", "1"),
    {"name": "X-Keyward-Cost", "in": "header", "required": False,
     "description": "What the request costs in credits, a whole number from 0 to 1000000 "
                    "(anything else answers 400 `invalid_request`); it wins over the plan's "
                    "cost rules. Absent: the cost of the plan's rule for the original method "
                    "and path, else 1. 0 checks the key without spending. A client can send "
                    "this header too: configure the gateway to set it or clear it on every "
                    "request, as for `X-Keyward-Required-Scopes`.",
     "schema": {"type": "integer", "minimum": 0, "maximum": MAX_COST, "examples": [5]}},
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
    # "404", or ("400", "PlanBadRequest") for a response of the operation's own.
    for e in sorted(errors, key=lambda e: e if isinstance(e, str) else e[0]):
        status, name = (e, RESP_NAMES[e]) if isinstance(e, str) else e
        responses_obj[status] = R(name)
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
PLAN_BODY_ERRS = [("400", "PlanBadRequest"), "413", "415"]
WORKSPACE_BODY_ERRS = [("400", "WorkspaceBadRequest"), "413", "415"]
KEY_BODY_ERRS = [("400", "ApiKeyBadRequest"), "413", "415"]
paths["/v1/plans"] = {
    "post": op("createPlan", "plans", "Create a plan",
               "Creates a plan: a monthly allowance of credits, a rate limit for keys without "
               "their own, a limit of active keys and what requests cost, each optional. Put "
               "workspaces on it with their `plan_id`. Plans cannot be deleted. Writes a "
               "`plan.create` audit entry." + ROOT_ONLY,
               [ok("The new plan.", "Plan", "201", PLAN_EXAMPLE)],
               PLAN_BODY_ERRS + COMMON_AUTH, body="CreatePlanRequest"),
    "get": op("listPlans", "plans", "List plans",
              "Lists every plan, those of the configuration (`source: \"config\"`) and those "
              "made through the API, in order of id, in one page (`next_cursor` is always "
              "null; no query parameter is accepted)." + ROOT_ONLY,
              [ok("Every plan.", "PlanList")], ["400"] + COMMON_AUTH),
}
paths["/v1/plans/{id}"] = {
    "parameters": [P("PlanIdPath")],
    "get": op("getPlan", "plans", "Get a plan", "Reads one plan." + ROOT_ONLY,
              [ok("The plan.", "Plan", example=PLAN_EXAMPLE)], ["404"] + COMMON_AUTH),
    "patch": op("updatePlan", "plans", "Update a plan",
                "Changes a plan made through the API; only the fields present change, null "
                "clears a value and `costs` replaces every rule. The change reaches the next "
                "request of every workspace on the plan, on every node. A plan defined in the "
                "configuration (`source: \"config\"`) answers 409 `conflict`: change it in "
                "`[plans]`. Writes a `plan.update` audit entry." + ROOT_ONLY,
                [ok("The updated plan.", "Plan", example=dict(PLAN_EXAMPLE,
                                                              monthly_credits=500000))],
                PLAN_BODY_ERRS + ["404", ("409", "PlanConflict")] + COMMON_AUTH,
                body="UpdatePlanRequest"),
}
paths["/v1/workspaces"] = {
    "post": op("createWorkspace", "workspaces", "Create a workspace",
               "Creates a workspace, the tenant that keys belong to, on the plan given (by "
               "default the configuration's default plan) with any values of its own. An "
               "unknown `plan_id` answers 400 `invalid_request`. Writes a `workspace.create` "
               "audit entry." + ROOT_ONLY,
               [ok("The new workspace.", "Workspace", "201", WORKSPACE_EXAMPLE)],
               WORKSPACE_BODY_ERRS + COMMON_AUTH, body="CreateWorkspaceRequest"),
    "get": op("listWorkspaces", "workspaces", "List workspaces",
              "Lists workspaces, newest first, a page at a time." + ROOT_ONLY,
              [ok("A page of workspaces.", "WorkspaceList")],
              ["400"] + COMMON_AUTH, params=[P("SearchQuery"), P("Cursor"), P("Limit")]),
}
paths["/v1/workspaces/{id}"] = {
    "parameters": [P("WorkspaceIdPath")],
    "get": op("getWorkspace", "workspaces", "Get a workspace",
              "Reads one workspace with its plan, its limits in force and its own values, its "
              "active key count, and what its allowance has left this billing period "
              "(`credits`). Root key only (a self-service key answers 403 "
              "`insufficient_scope`), or a portal session with `keys:read` for its own "
              "workspace (`credits` then shows only the session's environment, when it has "
              "one).",
              [ok("The workspace.", "Workspace", example=WORKSPACE_EXAMPLE)],
              ["404"] + COMMON_AUTH),
    "patch": op("updateWorkspace", "workspaces", "Update a workspace",
                "Renames a workspace, moves it to another plan (or none), or changes its own "
                "limit of active keys, allowance, rate limit, billing anchor day or rotation "
                "policy (null: back to its plan's, else the deployment's). An unknown `plan_id` answers 400 "
                "`invalid_request`. Takes effect on the next request on every node. Writes a "
                "`workspace.update` audit entry." + ROOT_ONLY,
                [ok("The updated workspace.", "Workspace", example=WORKSPACE_EXAMPLE)],
                WORKSPACE_BODY_ERRS + ["404"] + COMMON_AUTH, body="UpdateWorkspaceRequest"),
}
paths["/v1/api-keys"] = {
    "post": op("createApiKey", "api-keys", "Create an API key",
               "Creates a key and returns it with its secret `key`, which is shown this once "
               "and never again. Past the workspace's limit of active keys answers 409 "
               "`key_limit_reached`. Writes a `key.create` audit entry." + SELF_SERVICE +
               " A self-service caller granting scopes its key does not hold gets 403. Only a "
               "root key sets `credits` (403 `forbidden` otherwise), and a managing key with "
               "credits of its own cannot create keys (403 `forbidden`).",
               [ok("The new key and, this once, its secret.", "CreatedApiKey", "201",
                   CREATED_EXAMPLE)],
               KEY_BODY_ERRS + ["404", "409"] + COMMON_AUTH, body="CreateApiKeyRequest"),
    "get": op("listApiKeys", "api-keys", "List API keys",
              "Lists keys, newest first, a page at a time; never with secrets. Filters "
              "combine." + SELF_SERVICE + " A self-service caller sees only the keys of its own "
              "workspace and environment.",
              [ok("A page of keys.", "ApiKeyList")],
              ["400"] + COMMON_AUTH,
              params=[P("WorkspaceIdQuery"), P("EnvironmentQuery"), P("StatusQuery"),
                      P("RotationDueQuery"), P("Cursor"), P("Limit")]),
}
paths["/v1/api-keys/import"] = {
    "post": op("importApiKeys", "api-keys", "Import API keys made elsewhere",
               "Imports up to 1000 keys an operator's old system issued, by their SHA-256 or "
               "by the key itself, so that customers keep their keys. Each row is answered "
               "`imported`, `unchanged` or `rejected` with its index and a reason; the rows "
               "that pass are written in one transaction. Idempotent by hash: a rerun answers "
               "`unchanged` with the same ids. A hash that is already another workspace's or "
               "environment's key is rejected, never merged. Key limits do not stop an import: "
               "`over_limit` names the workspaces past theirs. Imported keys join the change "
               "log, so every node verifies them at once. Writes a `key.import` audit entry per "
               "workspace the batch reached." + ROOT_ONLY,
               [ok("What became of each row.", "ImportApiKeysResult")],
               BODY_ERRS + COMMON_AUTH, body="ImportApiKeysRequest"),
}
paths["/v1/api-keys/export"] = {
    "get": op("exportApiKeys", "api-keys", "Export every key's hash and metadata",
              "Pages through the keys, newest first, each as an import row with its SHA-256: "
              "an operator can always take its keys elsewhere. Revoked keys are left out "
              "unless `include_revoked=true` (they then carry `revoked_at`, and import "
              "revoked). Credits balances are not part of it. The first page writes a "
              "`key.export` audit entry." + ROOT_ONLY,
              [ok("A page of keys as import rows.", "ExportedApiKeyList")],
              ["400"] + COMMON_AUTH,
              params=[P("WorkspaceIdQuery"), P("EnvironmentQuery"),
                      {"name": "include_revoked", "in": "query", "required": False,
                       "description": "`true`: revoked keys too.",
                       "schema": {"type": "string", "enum": ["true", "false"]}},
                      P("Cursor"), P("Limit")]),
}
paths["/v1/api-keys/{id}"] = {
    "parameters": [P("ApiKeyIdPath")],
    "get": op("getApiKey", "api-keys", "Get an API key",
              "Reads one key (never its secret)." + SELF_SERVICE,
              [ok("The key.", "ApiKey", example=API_KEY_EXAMPLE)],
              ["404"] + COMMON_AUTH),
    "patch": op("updateApiKey", "api-keys", "Update an API key",
                "Changes a key's name, scopes, restrictions, rate limit, credits, meta, expiry "
                "or enabled state; `rate_limit`, `credits` or `expires_at` null clears them. "
                "Setting `credits` starts a new balance from now. Only a root key sends "
                "`credits` (403 `forbidden` otherwise). A revoked key "
                "answers 409 `key_revoked`. Takes effect for verification at once. Writes a "
                "`key.update` audit entry." + SELF_SERVICE,
                [ok("The updated key.", "ApiKey", example=API_KEY_EXAMPLE)],
                KEY_BODY_ERRS + ["404", "409"] + COMMON_AUTH, body="UpdateApiKeyRequest"),
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
               "credits, meta, enabled state and expiry, and lets the old key expire after "
               "`grace_seconds`; both share one rate-limit budget and one credit balance. A "
               "grace may take the workspace one over its limit, never further (409 `key_limit_reached`; a grace of "
               "0 replaces the key in its slot). A revoked key answers 409 `key_revoked`; an "
               "expired key, a key rotated before (naming its replacement) and a key whose own "
               "predecessor is still in its grace (naming it) answer 409 `conflict`. A managing "
               "key must hold the old key's scopes, and the new key stays within its bounds. Writes a `key.rotate` audit entry. The body is optional." +
               SELF_SERVICE,
               [ok("The new key with its secret, this once, and the old key's expiry.",
                   "RotatedApiKey", "201", ROTATED_EXAMPLE)],
               KEY_BODY_ERRS + ["404", "409"] + COMMON_AUTH, body="RotateApiKeyRequest",
               body_required=False),
}
paths["/v1/keys/verify"] = {
    "post": op("verifyApiKey", "verification", "Verify an API key",
               "Checks a key and, optionally, the request it came with, in this order: missing, "
               "malformed, invalid, revoked, expired, disabled, wrong_environment, "
               "ip_not_allowed, referrer_not_allowed, endpoint_not_allowed, insufficient_scope, "
               "rate_limited, quota_exceeded. Always 200 with the outcome in `code`, whatever it "
               "is. A valid request spends its `cost` from the key's own credits and its "
               "workspace's allowance (of the key's environment) together, or from neither: "
               "when one cannot pay, the answer is `quota_exceeded` and nothing is spent. "
               "Refusals are free. When credits are needed and cannot be leased from storage, "
               "503 `storage_unavailable`." + ROOT_ONLY,
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
            "demands from `X-Keyward-Required-Scopes` and `X-Keyward-Required-Environment`, "
            "and the request's cost in credits from `X-Keyward-Cost` (else the plan's cost "
            "rules for the original method and path, else 1). "
            "The checks run as for `POST /v1/keys/verify`, credits last. 200 lets the request "
            "through with the key's identity in `X-Keyward-*` headers; a refusal answers 401, "
            "403 or 429 with the verification code as the JSON error. Whenever a limit applies "
            "and the checks reached it (on 200 and 429; a 503 while credits cannot be leased "
            "carries the rate limit's only), the answer carries `RateLimit-Policy` and "
            "`RateLimit` (policies `requests`, `credits`, `key_credits`) and, for the rate "
            "limit, the older `RateLimit-Limit`, "
            "`RateLimit-Remaining` and `RateLimit-Reset`. Needs no root key: the API key "
            "being checked is the credential. "
            "Any method is accepted (without `X-Forwarded-Method` or `X-Original-Method` the "
            "request's own method is the original method), and for Envoy `ext_authz` the "
            "original path may instead be appended: `/v1/auth/<original path>?<query>`."),
        "security": [],
        "parameters": gateway_params,
        "responses": {
            "200": {"description": "The key verified (and its credits, if any, were spent): "
                                   "let the request through. The headers carry its identity; "
                                   "`RateLimit-Policy` and `RateLimit` only when a rate limit "
                                   "or credits apply, `RateLimit-Limit`, `-Remaining` and "
                                   "`-Reset` only for a rate limit. The body carries nothing a "
                                   "gateway needs.",
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
    "required": ["start", "valid", "refused", "total", "credits", "by_code"],
    "properties": {
        "start": S("Timestamp"),
        "valid": {"type": "integer", "minimum": 0,
                  "description": "Successful verifications: the billable ones."},
        "refused": {"type": "integer", "minimum": 0,
                    "description": "Verifications of known keys that were refused (revoked, "
                                   "expired, rate limited, ...). Never billable."},
        "total": {"type": "integer", "minimum": 0},
        "credits": {"type": "integer", "minimum": 0,
                    "description": "Credits spent: the cost of the `valid` verifications."},
        "by_code": {"type": "object", "additionalProperties": {"type": "integer"},
                    "description": "Counts per verification code."},
    },
}
schemas["UsageReport"] = {
    "type": "object", "additionalProperties": False,
    "required": ["workspace_id", "key_id", "environment", "granularity", "from", "to",
                 "retention_days", "valid", "total", "credits", "allowance", "data"],
    "properties": {
        "workspace_id": S("WorkspaceId"),
        "key_id": {"type": ["string", "null"]},
        "environment": {"type": ["string", "null"],
                        "description": "The environment counted, or null for every one."},
        "granularity": {"type": "string", "enum": ["minute", "hour", "day", "month"]},
        "from": S("Timestamp"),
        "to": S("Timestamp"),
        "retention_days": {"type": "integer",
                           "description": "How long usage is kept, revoked keys' included."},
        "valid": {"type": "integer"},
        "total": {"type": "integer"},
        "credits": {"type": "integer", "minimum": 0,
                    "description": "Credits spent over the whole span."},
        "allowance": {"$ref": "#/components/schemas/WorkspaceCredits",
                      "description": "The workspace's allowance in its current billing period "
                                     "(whatever `from` and `to` are), for `environment` (or the "
                                     "key's, with `key_id`), else for every environment; null "
                                     "when it has none."},
        "data": {"type": "array", "items": S("UsageBucket"),
                 "description": "Buckets in ascending order; buckets with no verification "
                                "are left out."},
    },
    "examples": [{"workspace_id": WS_ID, "key_id": None, "environment": None,
                  "granularity": "hour",
                  "from": "2026-01-01T00:00:00Z", "to": "2026-01-02T00:00:00Z",
                  "retention_days": 90, "valid": 12, "total": 13, "credits": 20,
                  "allowance": None,
                  "data": [{"start": "2026-01-01T10:00:00Z", "valid": 12, "refused": 1,
                            "total": 13, "credits": 20,
                            "by_code": {"valid": 12, "rate_limited": 1}}]},
                 {"workspace_id": WS_ID, "key_id": None, "environment": "live",
                  "granularity": "month",
                  "from": "2024-02-01T00:00:00Z", "to": MONTH_END,
                  "retention_days": 90, "valid": 1700, "total": 1712, "credits": 1881,
                  "allowance": dict(ALLOWANCE_EXAMPLE, environments={
                      "live": ALLOWANCE_EXAMPLE["environments"]["live"]}),
                  "data": [{"start": MONTH_START, "valid": 1700, "refused": 12,
                            "total": 1712, "credits": 1881,
                            "by_code": {"valid": 1700, "quota_exceeded": 12}}]}],
}
USAGE_WHO = (" A root key; a self-service key (scope `keys:manage`) for its own workspace and "
             "environment; or a portal session with `usage:read` for its own workspace (and "
             "environment, when it has one). Objects elsewhere answer 404.")
paths["/v1/usage"] = {
    "get": op("getUsage", "usage", "Usage over time",
              "Verification counts and credits spent over time for a workspace's keys "
              "together, or for one key (`key_id`), of every environment or one "
              "(`environment`): per minute, hour, day or calendar month (UTC buckets), split "
              "into billable `valid` answers and refusals, with counts per code and the credits "
              "spent, and the workspace's allowance in its current billing period "
              "(`allowance`). Usage of revoked keys stays queryable for "
              "`usage_retention_days`. At most 1500 buckets per call (for months, 1500 days: "
              "months are read by day). Defaults: granularity hour, `to` now, `from` one bucket "
              "span back (an hour of minutes, a day of hours, 30 days, 12 months)." + USAGE_WHO,
              [ok("The usage report.", "UsageReport")],
              ["400", "404"] + COMMON_AUTH,
              params=[
                  {"name": "workspace_id", "in": "query", "required": False,
                   "description": "The workspace; required unless key_id is given.",
                   "schema": {"type": "string"}},
                  {"name": "key_id", "in": "query", "required": False,
                   "description": "Only this key.", "schema": {"type": "string"}},
                  {"name": "environment", "in": "query", "required": False,
                   "description": "Only keys of this environment; one the deployment does not "
                                  "have answers 400. A caller limited to one environment gets "
                                  "its own (another answers 404).",
                   "schema": S("Environment")},
                  {"name": "from", "in": "query", "required": False,
                   "description": "RFC 3339; rounded down to a bucket (for months, to the 1st "
                                  "of its month, UTC).",
                   "schema": {"type": "string", "format": "date-time"}},
                  {"name": "to", "in": "query", "required": False,
                   "description": "RFC 3339; rounded up to a bucket (for months, to the 1st of "
                                  "the next month unless it is one).",
                   "schema": {"type": "string", "format": "date-time"}},
                  {"name": "granularity", "in": "query", "required": False,
                   "description": "The bucket: `minute`, `hour`, `day`, or `month` (a calendar "
                                  "month, UTC, whatever the workspace's billing anchor day).",
                   "schema": {"type": "string", "enum": ["minute", "hour", "day", "month"],
                              "default": "hour"}},
              ]),
}
# The CSV columns as src/server/routes/usage_export.cc writes them: after `credits`, one
# column per refusal code, in VerificationCode order (`valid` is its own column).
EXPORT_CODE_COLUMNS = [c for c in VERIFY_CODES if c != "valid"]
EXPORT_CSV_HEADER = ",".join(["day", "workspace_id", "key_id", "environment", "valid", "refused",
                              "credits"] + EXPORT_CODE_COLUMNS)


def export_csv_row(day, key_id, env, counts, credits):
    valid = counts.get("valid", 0)
    refused = sum(n for c, n in counts.items() if c != "valid")
    return ",".join([day, WS_ID, key_id, env, str(valid), str(refused), str(credits)] +
                    [str(counts.get(c, 0)) for c in EXPORT_CODE_COLUMNS])


EXPORT_ROWS = [("2026-11-01", KEY_ID, "live", {"valid": 1520, "rate_limited": 3}, 1710),
               ("2026-11-01", KEY_ID2, "test", {"valid": 12}, 12),
               ("2026-11-02", KEY_ID, "live", {"valid": 1311, "quota_exceeded": 2}, 1402)]
EXPORT_CSV_EXAMPLE = "\n".join([EXPORT_CSV_HEADER] +
                               [export_csv_row(*r) for r in EXPORT_ROWS]) + "\n"
EXPORT_JSON_EXAMPLE = {
    "workspace_id": WS_ID, "from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z",
    "rows": [{"day": d, "key_id": k, "environment": e, "valid": c.get("valid", 0),
              "refused": sum(n for code, n in c.items() if code != "valid"), "credits": cr,
              "by_code": {code: n for code, n in c.items() if code != "valid"}}
             for d, k, e, c, cr in EXPORT_ROWS]}
schemas["UsageExportRow"] = {
    "type": "object", "additionalProperties": False,
    "required": ["day", "key_id", "environment", "valid", "refused", "credits", "by_code"],
    "description": "One key's usage on one day (UTC).",
    "properties": {
        "day": {"type": "string", "format": "date", "examples": ["2026-11-01"]},
        "key_id": S("ApiKeyId"),
        "environment": {"type": "string",
                        "description": "The key's environment; empty when the key is gone.",
                        "examples": ["live"]},
        "valid": {"type": "integer", "minimum": 0,
                  "description": "Successful verifications: the billable ones."},
        "refused": {"type": "integer", "minimum": 0,
                    "description": "Verifications of the key that were refused."},
        "credits": {"type": "integer", "minimum": 0, "description": "Credits spent."},
        "by_code": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 1},
                    "description": "Refusals per verification code; codes with none are left "
                                   "out, and `valid` is not repeated here."},
    },
}
schemas["UsageExport"] = {
    "type": "object", "additionalProperties": False,
    "required": ["workspace_id", "from", "to", "rows"],
    "description": "A workspace's usage per key per day, in order of day then key id, every "
                   "row of the span (no cap and no pages).",
    "properties": {
        "workspace_id": S("WorkspaceId"),
        "from": {"$ref": "#/components/schemas/Timestamp",
                 "description": "The first day exported, 00:00 UTC."},
        "to": {"$ref": "#/components/schemas/Timestamp",
               "description": "The end of the last day exported, 00:00 UTC (exclusive)."},
        "rows": {"type": "array", "items": S("UsageExportRow"),
                 "description": "Days and keys with no verification are left out."},
    },
    "examples": [EXPORT_JSON_EXAMPLE],
}
paths["/v1/usage/export"] = {
    "get": {
        "operationId": "exportUsage", "tags": ["usage"],
        "summary": "Export usage for billing",
        "description": (
            "A workspace's usage per key per day (UTC) over a span, every row of it with no "
            "cap, as CSV (`format=csv`, the default) or JSON (`format=json`), for billing. "
            "The answer is streamed (`Transfer-Encoding: chunked`) while keyward reads the "
            "store a page at a time, so an export of any size takes little memory. Rows are "
            "read while the answer is being sent, so a failure then (a storage error, the "
            "server stopping, the client not reading) cannot become an error status: the "
            "transfer breaks, ending without the final chunk (or, before any byte was sent, "
            "with the connection closed and no answer), and the client sees it incomplete. To "
            "an HTTP/1.0 client the body is not chunked and ends with the connection, which is "
            "reset when the transfer breaks. Never take a broken transfer for the whole "
            "export. `from` and `to` take a day "
            "(`2026-11-01`) or an RFC 3339 time and are widened to whole UTC days; `to` is "
            "exclusive. Defaults: `from` the 1st of the current calendar month (UTC), `to` the "
            "1st of the next; with only `to`, `from` is the 1st of `to`'s month.\n\n"
            "CSV (`text/csv; charset=utf-8`): a header line, then one line per day and key: "
            "`" + EXPORT_CSV_HEADER + "`. After `credits` come the counts per refusal "
            "code, in the order of `VerificationCode`. JSON "
            "(`application/json`): `{\"workspace_id\", \"from\", \"to\", \"rows\": [...]}`, "
            "`by_code` holding the refusals only." + USAGE_WHO),
        "parameters": [
            {"name": "workspace_id", "in": "query", "required": False,
             "description": "The workspace; required with a root key. A self-service key or "
                            "portal session may leave it out and gets its own.",
             "schema": S("WorkspaceId")},
            {"name": "from", "in": "query", "required": False,
             "description": "The first day: `2026-11-01` or an RFC 3339 time (rounded down to "
                            "its day). Default: the 1st of the current month.",
             "schema": {"type": "string", "examples": ["2026-11-01"]}},
            {"name": "to", "in": "query", "required": False,
             "description": "The end, exclusive: `2026-12-01` or an RFC 3339 time (rounded up "
                            "to a day). Default: the 1st of the next month.",
             "schema": {"type": "string", "examples": ["2026-12-01"]}},
            {"name": "format", "in": "query", "required": False,
             "schema": {"type": "string", "enum": ["csv", "json"], "default": "csv"}},
            {"name": "environment", "in": "query", "required": False,
             "description": "Only keys of this environment. A caller limited to one "
                            "environment gets its own (another answers 404).",
             "schema": S("Environment")},
        ],
        "responses": {
            "200": {"description": "The export, streamed.",
                    "headers": dict(CC, **{"Transfer-Encoding": H("Transfer-Encoding")}),
                    "content": {
                        "text/csv": {"schema": {"type": "string"},
                                     "example": EXPORT_CSV_EXAMPLE},
                        "application/json": {"schema": S("UsageExport"),
                                             "example": EXPORT_JSON_EXAMPLE}}},
            "400": R("UsageExportBadRequest"),
            "401": R("Unauthorized"),
            "403": R("Forbidden"),
            "404": R("NotFound"),
            "500": R("InternalError"),
            "503": R("Unavailable"),
        },
    },
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

MANAGE_WEBHOOKS = (" A root key, or a managing key (scope `keys:manage`) for its own "
                   "workspace's endpoints; others answer 404.")
paths["/v1/webhook-endpoints"] = {
    "post": op("createWebhookEndpoint", "webhooks", "Create a webhook endpoint",
               "Saves a receiver and answers its signing secret `whsec_...`, shown this once. "
               "Events raised after it was made reach it. At most `[webhooks] max_endpoints` "
               "(20) per owner: past it answers 409. Writes a `webhook_endpoint.create` audit "
               "entry (with the URL's host, never its path)." + MANAGE_WEBHOOKS,
               [ok("The endpoint and, this once, its secret.", "WebhookEndpointWithSecret",
                   "201", dict(WEBHOOK_ENDPOINT_EXAMPLE, secret=WHSEC))],
               BODY_ERRS + ["404", "409"] + COMMON_AUTH, body="CreateWebhookEndpointRequest"),
    "get": op("listWebhookEndpoints", "webhooks", "List webhook endpoints",
              "A root key sees every endpoint, or with `workspace_id` one workspace's "
              "(`workspace_id=` empty: the operator's own); a managing key its workspace's. "
              "One page; never the secrets.",
              [ok("The endpoints.", "WebhookEndpointList")], ["400", "404"] + COMMON_AUTH,
              params=[P("WorkspaceIdQuery")]),
}
paths["/v1/webhook-endpoints/{id}"] = {
    "parameters": [P("WebhookEndpointIdPath")],
    "get": op("getWebhookEndpoint", "webhooks", "Get a webhook endpoint",
              "Reads one endpoint (never its secret)." + MANAGE_WEBHOOKS,
              [ok("The endpoint.", "WebhookEndpoint", example=WEBHOOK_ENDPOINT_EXAMPLE)],
              ["404"] + COMMON_AUTH),
    "patch": op("updateWebhookEndpoint", "webhooks", "Update a webhook endpoint",
                "Changes the URL (checked as on create), the events, the description, or "
                "enables or disables it. Writes a `webhook_endpoint.update` audit entry." +
                MANAGE_WEBHOOKS,
                [ok("The endpoint.", "WebhookEndpoint", example=WEBHOOK_ENDPOINT_EXAMPLE)],
                BODY_ERRS + ["404", "409"] + COMMON_AUTH, body="UpdateWebhookEndpointRequest"),
    "delete": op("deleteWebhookEndpoint", "webhooks", "Delete a webhook endpoint",
                 "Deletes it with its deliveries; pending ones are never sent. Writes a "
                 "`webhook_endpoint.delete` audit entry." + MANAGE_WEBHOOKS,
                 [ok("Deleted.", "DeletedWebhookEndpoint")], ["404"] + COMMON_AUTH),
}
paths["/v1/webhook-endpoints/{id}/roll-secret"] = {
    "parameters": [P("WebhookEndpointIdPath")],
    "post": op("rollWebhookEndpointSecret", "webhooks", "Roll an endpoint's signing secret",
               "Makes a new secret, answered this once. For `overlap_seconds` (default a day) "
               "deliveries carry two signatures, the new secret's and the old one's, so the "
               "receiver can switch without losing one. Writes a "
               "`webhook_endpoint.roll_secret` audit entry." + MANAGE_WEBHOOKS,
               [ok("The endpoint and its new secret.", "WebhookEndpointWithSecret")],
               BODY_ERRS + ["404", "409"] + COMMON_AUTH, body="RollWebhookSecretRequest",
               body_required=False),
}
paths["/v1/webhook-endpoints/{id}/deliveries"] = {
    "parameters": [P("WebhookEndpointIdPath")],
    "get": op("listWebhookDeliveries", "webhooks", "List an endpoint's deliveries",
              "Newest first, a page at a time: status, attempts, the last response status, "
              "latency and error. Kept 30 days." + MANAGE_WEBHOOKS,
              [ok("A page of deliveries.", "WebhookDeliveryList")], ["400", "404"] + COMMON_AUTH,
              params=[P("Cursor"), P("Limit")]),
}
paths["/v1/webhook-endpoints/{id}/deliveries/{delivery_id}/retry"] = {
    "parameters": [P("WebhookEndpointIdPath"),
                   {"name": "delivery_id", "in": "path", "required": True,
                    "description": "The delivery id.",
                    "schema": {"type": "string", "examples": [WHD_ID]}}],
    "post": op("retryWebhookDelivery", "webhooks", "Send a delivery again",
               "Queues one more attempt of a delivered or failed delivery, now, with the same "
               "`webhook-id` and body. A pending one, or one of a disabled endpoint, answers "
               "409. Writes a `webhook_delivery.retry` audit entry." + MANAGE_WEBHOOKS,
               [ok("The delivery, pending.", "WebhookDelivery", "202")],
               ["404", "409"] + COMMON_AUTH),
}
paths["/v1/leaks"] = {
    "post": op("reportLeaks", "leaks", "Report leaked keys",
               "Checks each string as a key of this deployment (format, checksum, then hash) "
               "and acts on those it issued as `[leaks] action` says: `revoke` (default) "
               "revokes an active key with reason `leaked`; `notify` only tells. Either way "
               "the key's workspace endpoints and the operator's receive `api_key.leaked`, and "
               "an audit entry records the source and URL. A second report of the same key "
               "changes nothing and says so (`action: none`). The answer never holds a key." +
               ROOT_ONLY,
               [ok("One result per string.", "ReportLeaksResult")],
               BODY_ERRS + COMMON_AUTH, body="ReportLeaksRequest"),
}
paths["/v1/secret-scanning/github"] = {
    "post": op("githubSecretScanning", "leaks", "GitHub secret-scanning alerts",
               "GitHub's secret-scanning partner endpoint. No key: the request is "
               "authenticated by `Github-Public-Key-Identifier` and "
               "`Github-Public-Key-Signature` (base64 DER ECDSA P-256 over the raw body with "
               "SHA-256), checked against `[[leaks.github_keys]]`; an unsigned request, an "
               "unknown key identifier or a signature that does not verify answers 401. Each "
               "token is handled as `POST /v1/leaks` handles a key (source `github:<source>`).",
               [ok("GitHub's feedback shape.", "GithubSecretScanningResult")],
               BODY_ERRS + ["401", "500", "503"], body="GithubSecretScanningRequest",
               params=[hparam("Github-Public-Key-Identifier", "Which of GitHub's keys signed.",
                              "bcb53661c06b4728e59d897fb6165d5c9cda0fd9cdf9d09ead458168deb7518c"),
                       hparam("Github-Public-Key-Signature", "The signature, base64.",
                              "MEQCIQDaMKqrGnE27S0kgMrEK0eYBmyG0LeZismAEz/BgZyt7AIfXt9fErtRS4XaeSt/AO1RtBY66YcAdjxji410VQV4xg==")],
               security=[]),
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
optional expiry, and optionally credits of its own. A workspace may be on a **plan** (a \
monthly allowance of credits, a rate limit, a key limit, and what each endpoint costs) and may \
have its own allowance, rate limit and key limit instead of the plan's. Keys look like \
`asa_live_Tq0x4k9Pd8MnV2b7XcQ1wE5rT8yU3iO6pA9sD0fG`: a product prefix, the environment, and 40 base62 characters ending in a CRC32 checksum. keyward stores \
only their SHA-256; the secret is shown once, when the key is created or rotated. Every change \
is written to an audit log.

Your API checks a key with `POST /v1/keys/verify`, or your gateway does it with `GET /v1/auth` \
(nginx `auth_request`, Caddy `forward_auth`, Envoy `ext_authz`). A valid request spends its cost \
in credits from the key's own credits and its workspace's monthly allowance, where they apply; \
when they cannot pay, the answer is `quota_exceeded`. Refusals are free.

## Authentication
`Authorization: Bearer <token>`, where the token is
- a **root key** (`kw_root_...`), made with `keyward root-keys create` or printed once on the \
first start: it may call every route; or
- an **API key with the scope `keys:manage`** (self-service): it may call the `/v1/api-keys` \
routes and read usage (`/v1/usage`, `/v1/usage/export`), for its own workspace and \
environment only. Objects elsewhere answer 404; granting scopes its key does not hold answers \
403 `insufficient_scope`; setting a key's credits answers 403 `forbidden`; plan, workspace, \
audit-log and verify routes answer 403 `insufficient_scope`. The key must itself verify (not \
revoked, expired or disabled, within its IP and referrer restrictions), else 401.

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
Ids carry a type prefix: `ws_`, `key_`, `rk_`, `evt_`, `ps_`, `plan_`. Every response carries \
`Cache-Control: no-store`, but for the pages' hashed files (`/assets/...`). A request that fails never changes stored state.

## Errors
`{"error": "<code>", "message": "<for a person>"}`: 400 `invalid_json` / `invalid_request`; \
401 `unauthorized`; 403 `insufficient_scope`, `forbidden`; 404 `not_found` (also for objects of \
another workspace); 405 `method_not_allowed` (with `Allow`); 409 `key_limit_reached`, \
`key_revoked`, `conflict` (also for a plan defined in the configuration); 413 \
`payload_too_large`; 415 `unsupported_media_type`; 422 `unprocessable`; 431 \
`invalid_request` (headers over 16 KiB); 500 `internal` (never with internals); 503 \
`storage_full` (no space left: changes refused, revocations still work), `storage_unavailable` (the database unreachable, its directory read-only or deleted, an I/O error, an unreadable file; or stopping). In gateway mode the refusing verification \
codes are the errors (401, 403, 429).

## Pagination
Lists answer `{"data": [...], "next_cursor": "..." | null}`, newest first (plans: every plan \
in order of id, in one page). `limit` is 1-1000 \
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
        {"name": "plans", "description": "What workspaces buy: monthly credits, rate limits, key "
                                       "limits and what requests cost."},
        {"name": "workspaces", "description": "Tenants that own keys, their plan and their own "
                                            "limits."},
        {"name": "api-keys", "description": "Create, list, read, change, revoke and rotate API "
                                            "keys."},
        {"name": "verification", "description": "Check a key: by API call or from a gateway."},
        {"name": "usage", "description": "Verifications and credits over time, and the "
                                       "export for billing."},
        {"name": "audit", "description": "Who changed what, when, from where."},
        {"name": "webhooks", "description": "Signed events (Standard Webhooks) about keys, "
                                            "workspaces and endpoints, from a durable outbox."},
        {"name": "leaks", "description": "Keys found in public: reported, revoked, told."},
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
                               "workspace and environment (the `/v1/api-keys` routes) and read "
                               "their usage, and nothing else.",
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

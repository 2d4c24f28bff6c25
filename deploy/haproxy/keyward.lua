-- keyward.lua: asks keyward (GET /v1/auth) about each request, for
-- haproxy.cfg's "http-request lua.keyward_auth". A 200 lets the request on
-- with what keyward verified in X-Keyward-Key-Id, -Workspace-Id, -Environment
-- and -Scopes; a refusal is answered as keyward answered it; no answer is a
-- 503 in keyward's error shape.

-- haproxy.cfg's "listen keyward" socket (the host in the URL is only a name).
local KEYWARD_URL = "http://keyward/v1/auth"
local KEYWARD_DST = "abns@keyward-auth"
local TIMEOUT_MS = 5000

-- What the client says that keyward reads: its credentials and referrer.
-- Every copy goes, so that keyward refuses two that disagree.
local PASSED = { "authorization", "x-api-key", "referer" }
local IDENTITY = { "X-Keyward-Key-Id", "X-Keyward-Workspace-Id", "X-Keyward-Environment", "X-Keyward-Scopes" }
local REPLAYED = { "content-type", "www-authenticate", "retry-after", "ratelimit", "ratelimit-policy",
                   "ratelimit-limit", "ratelimit-remaining", "ratelimit-reset", "cache-control" }
local UNAVAILABLE = '{"error":"unavailable","message":"the API key service cannot be reached; try again shortly"}'

-- HAProxy's header tables list values from index 0.
local function values(t)
  local out = {}
  if t == nil then return out end
  if type(t) ~= "table" then return { t } end
  local i = 0
  if t[0] == nil then i = 1 end
  while t[i] ~= nil do
    out[#out + 1] = t[i]
    i = i + 1
  end
  return out
end

local function refuse(txn, status, body, headers)
  local reply = txn:reply({ status = status, body = body })
  reply:add_header("content-type", "application/json")
  reply:add_header("cache-control", "no-store")
  for _, name in ipairs(REPLAYED) do
    if name ~= "content-type" and name ~= "cache-control" then
      for _, v in ipairs(values(headers and headers[name])) do reply:add_header(name, v) end
    end
  end
  txn:done(reply)
end

core.register_action("keyward_auth", { "http-req" }, function(txn)
  local client = txn.http:req_get_headers()
  -- The request as the client made it, and where it came from: set here,
  -- whatever the client sent (haproxy.cfg drops its X-Keyward-* headers;
  -- nothing else of its request reaches keyward).
  local headers = {
    ["x-original-method"] = { txn.sf:method() },
    ["x-original-uri"] = { txn.sf:url() },
    ["x-forwarded-for"] = { txn.sf:src() },
  }
  for _, name in ipairs(PASSED) do
    local v = values(client[name])
    if #v > 0 then headers[name] = v end
  end
  -- What a request needs or costs is yours to say, e.g.:
  -- headers["x-keyward-required-scopes"] = { "orders:read" }

  local ok, res = pcall(function()
    return core.httpclient():get({ url = KEYWARD_URL, dst = KEYWARD_DST, headers = headers, timeout = TIMEOUT_MS })
  end)
  local status = ok and res and tonumber(res.status) or 0
  if status >= 200 and status < 300 then
    for _, name in ipairs(IDENTITY) do
      local v = values(res.headers and res.headers[string.lower(name)])[1]
      if v ~= nil then txn.http:req_set_header(name, v) else txn.http:req_del_header(name) end
    end
    return
  end
  if status == 400 or status == 401 or status == 403 or status == 429 then
    return refuse(txn, status, res.body or "", res.headers)
  end
  -- No answer (keyward down or slow), or one that is not a verdict: fail closed.
  refuse(txn, 503, UNAVAILABLE, nil)
end)

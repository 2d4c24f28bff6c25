-- wrk script: GET /v1/auth with keys read from KEYS_FILE.
-- MODE=random picks a key at random per request; MODE=sweep walks the file
-- once, each thread its own stride, to warm the cache with every key.
local keys = {}
local mode = os.getenv("MODE") or "random"
local counter, stride = 0, 1

function setup(thread)
  thread:set("offset", #(_G.thread_ids or {}))
  _G.thread_ids = _G.thread_ids or {}
  table.insert(_G.thread_ids, thread)
end

function init(args)
  for line in io.lines(os.getenv("KEYS_FILE")) do keys[#keys + 1] = line end
  math.randomseed(os.time() + (offset or 0))
  counter = offset or 0
  stride = tonumber(os.getenv("THREADS") or "1")
end

function request()
  local key
  if mode == "sweep" then
    counter = counter + stride
    key = keys[(counter - 1) % #keys + 1]
  else
    key = keys[math.random(#keys)]
  end
  return wrk.format("GET", "/v1/auth", { ["Authorization"] = "Bearer " .. key })
end

-- The benchmark's requests and answer check for wrk (bench/load.ts runs it):
--   wrk -t1 -c50 -d10s --latency -s bench/wrk.lua http://127.0.0.1:PORT/introspect -- BODIES AUTHORIZATION OFFSET [THREADS]
-- BODIES: a file of request bodies (`token=<urlencoded token>`), one a line, cycled through.
-- AUTHORIZATION: the whole Authorization header value (`Basic ...`).
-- OFFSET: where in BODIES to start, so that successive rounds of a distinct set go on where
-- the last stopped instead of replaying the start of the set; thread i of THREADS starts
-- i/THREADS of the way further on.
-- Every answer must be 200 with a body starting `{"active":true`; done() prints one JSON line.

-- setup() and done() run in wrk's main Lua state; init(), request() and response() in each
-- thread's own state, whose globals are read back with thread:get() (wrk's SCRIPTING).
local threads = {}

function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

local requests = {}
local count = 0
local next_request = 1
inactive = 0
first_inactive = nil

function init(args)
  -- args[0] is the URL; the script's own arguments follow "--".
  local file, authorization = args[1], args[2]
  local offset, thread_count = tonumber(args[3] or "0"), tonumber(args[4] or "1")
  if not file or not authorization then
    error("usage: wrk ... -s wrk.lua URL -- BODIES AUTHORIZATION [OFFSET] [THREADS]")
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Authorization"] = authorization
  -- Pre-formatted once: building each request in request() would cost the load generator
  -- time that belongs to the server.
  for body in io.lines(file) do
    if body ~= "" then
      count = count + 1
      requests[count] = wrk.format(nil, nil, nil, body)
    end
  end
  if count == 0 then error("no request bodies in " .. file) end
  next_request = (offset + math.floor(index * count / thread_count)) % count + 1
end

function request()
  local r = requests[next_request]
  next_request = next_request == count and 1 or next_request + 1
  return r
end

function response(status, headers, body)
  if status ~= 200 or body:sub(1, 14) ~= '{"active":true' then
    inactive = inactive + 1
    if first_inactive == nil then first_inactive = status .. " " .. body:sub(1, 120) end
  end
end

local function json_string(s)
  if s == nil then return "null" end
  return '"' .. s:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' end
    if c == "\\" then return "\\\\" end
    return string.format("\\u%04x", c:byte())
  end) .. '"'
end

-- Milliseconds, to autocannon's precision (wrk measures microseconds).
local function ms(us) return math.floor(us / 10 + 0.5) / 100 end

function done(summary, latency, _)
  local total_inactive, first = 0, nil
  for _, thread in ipairs(threads) do
    total_inactive = total_inactive + (thread:get("inactive") or 0)
    first = first or thread:get("first_inactive")
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration":%.3f,"rps":%.1f,"p50":%s,"p99":%s,"mean":%s,'
      .. '"connect":%d,"read":%d,"write":%d,"timeout":%d,"non2xx":%d,"inactive":%d,"firstInactive":%s}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    ms(latency:percentile(50)), ms(latency:percentile(99)), ms(latency.mean),
    e.connect, e.read, e.write, e.timeout, e.status, total_inactive, json_string(first)))
end

-- wrk script for bench/load.sh: requests the paths of a URL list file (one
-- per line, relative to the URL given to wrk) in turn, each thread from its
-- own starting point, counts every answer that is not 200, and prints one
-- machine-readable RESULT line.
--
--   wrk -t2 -c32 -d30s --latency -s bench/load.lua http://127.0.0.1:PORT -- paths.txt

local threads = {}
local paths = {}
local next_i = 1
non200 = 0

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  local file = args[1]
  if file == nil then
    error("load.lua: give the URL list file after --")
  end
  local f = assert(io.open(file, "r"))
  for line in f:lines() do
    if #line > 0 then
      paths[#paths + 1] = line
    end
  end
  f:close()
  if #paths == 0 then
    error("load.lua: no paths in " .. file)
  end
  -- spread the threads over the list
  next_i = ((tid or 0) * 7919) % #paths + 1
end

function request()
  local p = paths[next_i]
  next_i = next_i % #paths + 1
  return wrk.format("GET", p)
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
  end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(threads) do
    bad = bad + (t:get("non200") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d non200=%d connect=%d read=%d write=%d timeout=%d status=%d bytes=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.max,
    bad, e.connect, e.read, e.write, e.timeout, e.status, summary.bytes))
end

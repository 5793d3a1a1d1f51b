-- wrk script for the benchmark: replays a prepared list of requests.
--
-- wrk ... -s bench/load.lua URL -- TARGETS MODE THREADS MAX_PER_THREAD
--
-- TARGETS is a tab-separated file written by bench/run.py:
--   H <name> <value>        a header sent with every request
--   R <method> <path> [body] a request; a body is sent as JSON
-- MODE "cycle" replays the list until the time is up; "once" sends each
-- request once (a DELETE can succeed only once) and stops the thread when
-- its share is used up. Either way a thread stops after MAX_PER_THREAD
-- requests, so the load is bounded in count as well as in time.
-- done() prints one line, "BENCH_RESULT {json}", for bench/run.py to read.

local threads = {}
local thread_count = 0

function setup(thread)
   thread_count = thread_count + 1
   thread:set("thread_index", thread_count - 1)
   table.insert(threads, thread)
end

local function split(line)
   local fields = {}
   for field in (line .. "\t"):gmatch("([^\t]*)\t") do
      table.insert(fields, field)
   end
   return fields
end

function init(args)
   local path, threads_total = args[1], tonumber(args[3])
   mode = args[2]
   max_requests = tonumber(args[4])
   requests, sent, exhausted, statuses = {}, 0, false, {}

   local headers, lines = {}, {}
   for line in io.lines(path) do
      local f = split(line)
      if f[1] == "H" then
         headers[f[2]] = f[3]
      elseif f[1] == "R" then
         table.insert(lines, f)
      end
   end

   -- Each thread takes every threads_total-th request: in "once" mode no
   -- two threads send the same DELETE.
   for i = thread_index + 1, #lines, threads_total do
      local f = lines[i]
      local h = {}
      for k, v in pairs(headers) do h[k] = v end
      local body = f[4]
      if body == "" then body = nil end
      if body then h["Content-Type"] = "application/json" end
      table.insert(requests, wrk.format(f[2], f[3], h, body))
   end
   position = 0
   filler = wrk.format("GET", "/health", {}, nil)
end

function request()
   local used_up = mode == "once" and sent >= #requests
   if sent >= max_requests or used_up or #requests == 0 then
      exhausted = true
      wrk.thread:stop()
      return filler
   end
   sent = sent + 1
   position = position % #requests + 1
   return requests[position]
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

local function json_object(t)
   local parts = {}
   for k, v in pairs(t) do
      table.insert(parts, string.format('"%s": %s', tostring(k), tostring(v)))
   end
   return "{" .. table.concat(parts, ", ") .. "}"
end

function done(summary, latency, _)
   local all_statuses, any_exhausted = {}, false
   for _, thread in ipairs(threads) do
      for code, n in pairs(thread:get("statuses")) do
         all_statuses[code] = (all_statuses[code] or 0) + n
      end
      any_exhausted = any_exhausted or thread:get("exhausted")
   end
   local e = summary.errors
   local result = {
      requests = summary.requests,
      duration_us = summary.duration,
      p50_us = latency:percentile(50.0),
      p90_us = latency:percentile(90.0),
      p99_us = latency:percentile(99.0),
      max_us = latency.max,
      mean_us = string.format("%.1f", latency.mean),
      socket_errors = e.connect + e.read + e.write + e.timeout,
      exhausted = tostring(any_exhausted),
      statuses = json_object(all_statuses),
   }
   io.write("BENCH_RESULT ", json_object(result), "\n")
end

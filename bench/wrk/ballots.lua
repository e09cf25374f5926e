-- wrk script of `pingyi bench ballots` (bench/ballots.py writes its input and reads its output).
--
-- With PINGYI_BENCH_DIR set: thread i (numbered in setup) reads slice_<i> there, one prepared
-- ballot per line ("<path> <urlencoded body>"), and POSTs each exactly once; sent_<i> marks
-- the slice sent. When every answer of its slice is in, the thread touches done_<i> and stops
-- (the Python side then interrupts wrk, whose main thread would otherwise sleep out -d).
--
-- A connection that finds the slice used up must not sit idle on the app: a sync gunicorn
-- worker that accepted it would wait for its request until the worker timeout, and the last
-- ballots with it. From the last link on, the thread's new connections go to a parking port
-- (PINGYI_BENCH_PARK: a listener that never accepts) and every request is IDLE: gunicorn
-- answers that bad request line itself (400, connection closed, the app never sees it), wrk
-- reconnects, to the parking port; there the bytes are never read. Those 400s are not counted.
-- Through nginx (--hosts, --nginx) nginx answers that line itself, with its own 400 page that
-- does not echo it: a 400 signed "nginx" is one of these too (a ballot nginx found malformed
-- would never be received, and counts as unanswered).
-- Without it: wrk's own GET of the URL (the static page), with the same counting.
-- Either way done() writes wrk's summary, the status codes and sent/received as one JSON
-- object to PINGYI_BENCH_OUT.

local dir = os.getenv("PINGYI_BENCH_DIR")
local threads = {}

codes, sent, received = {}, 0, 0 -- per thread; read by done() through thread:get
local queue, total, verifying, park = {}, 0, false, nil
local IDLE = "PINGYI-BENCH-IDLE\r\n\r\n"

function setup(thread)
   thread:set("id", #threads)
   threads[#threads + 1] = thread
end

local function touch(name)
   local f = assert(io.open(dir .. "/" .. name .. "_" .. id, "w"))
   f:close()
end

function init(args)
   if not dir then
      return
   end
   local headers = {["Content-Type"] = "application/x-www-form-urlencoded"}
   for line in io.lines(dir .. "/slice_" .. id) do
      local path, body = line:match("^(%S+) (%S*)$")
      queue[#queue + 1] = wrk.format("POST", path, headers, body)
   end
   total = #queue
   park = wrk.lookup("127.0.0.1", os.getenv("PINGYI_BENCH_PARK"))[1]
   -- wrk builds thread 0's first request once more to check its format, and never sends it
   verifying = id == 0
   if total == 0 then
      wrk.thread.addr = park
      touch("sent")
      touch("done")
   end
end

if dir then
   function request()
      if verifying then
         verifying = false
         return queue[1] or wrk.format("GET", "/")
      end
      if sent == total then
         return IDLE
      end
      sent = sent + 1
      if sent == total then
         wrk.thread.addr = park
         touch("sent")
      end
      return queue[sent]
   end
end

function response(status, headers, body)
   if status == 400 and (body:find("PINGYI-BENCH-IDLE", 1, true) or body:find("<center>nginx</center>", 1, true)) then
      return
   end
   codes[status] = (codes[status] or 0) + 1
   received = received + 1
   if dir and received == total then
      touch("done")
      wrk.thread:stop()
   end
end

function done(summary, latency, requests)
   local status, n_sent, n_received = {}, 0, 0
   for _, t in ipairs(threads) do
      for code, n in pairs(t:get("codes")) do
         status[code] = (status[code] or 0) + n
      end
      n_sent = n_sent + t:get("sent")
      n_received = n_received + t:get("received")
   end
   local parts = {}
   for code, n in pairs(status) do
      parts[#parts + 1] = string.format('"%d": %d', code, n)
   end
   local e = summary.errors
   local f = assert(io.open(os.getenv("PINGYI_BENCH_OUT"), "w"))
   f:write(string.format(
      '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "sent": %d, "received": %d, ' ..
      '"status": {%s}, "errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d, "status": %d}}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), n_sent, n_received,
      table.concat(parts, ", "), e.connect, e.read, e.write, e.timeout, e.status))
   f:close()
end

-- wrk script: POST /api/v1/acceptances with a fresh body (one per line of BODIES) and a unique
-- Idempotency-Key per request (named for the run, RUN, since a key repeated by a later run would be answered
-- with the earlier run's decision); thread t of T takes bodies t, t+T, t+2T, … so no body is used twice
-- (as long as BODIES has more lines than the run sends; load.sh makes more than the node can take).
local bodies = {}
local counter = 0
local thread_id = 0
local next_id = 0
local threads = {}

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  threads[#threads + 1] = thread
end

function init(args)
  for line in io.lines(os.getenv("BODIES")) do bodies[#bodies + 1] = line end
  thread_id = id
  counter = id
end

function request()
  local body = bodies[(counter % #bodies) + 1]
  counter = counter + tonumber(os.getenv("THREADS") or "2")
  return wrk.format("POST", os.getenv("TARGET") or "/api/v1/acceptances", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("TERMINAL_KEY"),
    ["Idempotency-Key"] = (os.getenv("RUN") or "load") .. "-" .. thread_id .. "-" .. counter,
  }, body)
end

-- With RATE set (requests per second in all), requests go out on a fixed schedule whatever the answers (open loop,
-- as wrk2 does): each of the THREADS threads has a slot every THREADS/RATE seconds, and a connection that is free
-- waits for the next slot. wrk times a request from when it is sent, so that is the latency a user feels only while
-- the schedule holds: a send more than 2 ms after its slot (no connection was free) is counted as late, and done()
-- prints how many there were.
local rate = tonumber(os.getenv("RATE") or "")
if rate then
  local ffi = require("ffi")
  ffi.cdef[[
    typedef struct { long tv_sec; long tv_nsec; } onecard_timespec;
    int clock_gettime(int clock, onecard_timespec *t);
  ]]
  local ts = ffi.new("onecard_timespec")
  local function now_ms()
    ffi.C.clock_gettime(1, ts)  -- CLOCK_MONOTONIC
    return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
  end
  local interval = 1000 * tonumber(os.getenv("THREADS") or "2") / rate
  local next_slot, slots, head, tail = nil, {}, 1, 0
  sent, late = 0, 0

  function delay()
    local now = now_ms()
    next_slot = next_slot or now
    local slot = next_slot
    next_slot = next_slot + interval
    tail = tail + 1
    slots[tail] = slot
    return math.max(0, slot - now)
  end

  local closed_loop_request = request
  function request()
    if head <= tail then
      if now_ms() - slots[head] > 2 then late = late + 1 end
      slots[head] = nil
      head = head + 1
    end
    sent = sent + 1
    return closed_loop_request()
  end

  function done(summary, latency, requests)
    local s, l = 0, 0
    for _, t in ipairs(threads) do
      s = s + t:get("sent")
      l = l + t:get("late")
    end
    io.write(string.format("Paced: %.0f req/s offered, %d sent, %d late\n", rate, s, l))
  end
end

-- wrk script: POST /api/v1/acceptances with a fresh body (one per line of BODIES) and a unique
-- Idempotency-Key per request; thread t of T takes bodies t, t+T, t+2T, … so no body is used twice
-- (as long as BODIES has more lines than the run sends; load.sh makes more than the node can take).
local bodies = {}
local counter = 0
local thread_id = 0
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  for line in io.lines(os.getenv("BODIES")) do bodies[#bodies + 1] = line end
  thread_id = id
  counter = id
end

function request()
  local body = bodies[(counter % #bodies) + 1]
  counter = counter + tonumber(os.getenv("THREADS") or "2")
  return wrk.format("POST", "/api/v1/acceptances", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("TERMINAL_KEY"),
    ["Idempotency-Key"] = "load-" .. thread_id .. "-" .. counter,
  }, body)
end

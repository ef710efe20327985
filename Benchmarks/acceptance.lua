-- wrk script: POST /api/v1/acceptances with a fresh body (one per line of BODIES) and a unique
-- Idempotency-Key per request; each thread starts at its own offset so no body is used twice.
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
  counter = id * 1000000
end

function request()
  counter = counter + 1
  local body = bodies[(counter % #bodies) + 1]
  return wrk.format("POST", "/api/v1/acceptances", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. os.getenv("TERMINAL_KEY"),
    ["Idempotency-Key"] = "load-" .. thread_id .. "-" .. counter,
  }, body)
end

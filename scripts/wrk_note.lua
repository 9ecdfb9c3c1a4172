-- wrk's requests for recording: each one a new SMS note, as bench.py's
-- sms_body makes them, with an interaction id no other request has.
--   wrk -s scripts/wrk_note.lua URL -- KEY NUMBER CONTACTS_FILE TAG USER...
-- CONTACTS_FILE: one `contact_id phone` a line; TAG: unique to the run.

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

function init(args)
  local key = args[1]
  number, tag = args[2], args[4]
  contacts, users = {}, {}
  for line in io.lines(args[3]) do
    local contact, phone = line:match("^(%S+) (%S+)$")
    contacts[#contacts + 1] = { contact, phone }
  end
  for i = 5, #args do
    users[#users + 1] = args[i]
  end
  headers = {
    ["Authorization"] = "Bearer " .. key,
    ["Content-Type"] = "application/json",
  }
  sent = 0
  math.randomseed(id)
end

function request()
  sent = sent + 1
  local contact = contacts[math.random(#contacts)]
  local body = string.format(
    '{"interaction_id":"wrk-%s-%d-%d","user_id":"%s","contact_id":"%s",'
      .. '"to":"%s","from":"%s"}',
    tag, id, sent, users[math.random(#users)], contact[1], contact[2], number
  )
  return wrk.format("POST", "/v1/interactions/sms", headers, body)
end

-- One line the benchmark reads: requests, seconds and those not answered 2xx.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "wrk-result %d %.6f %d\n",
    summary.requests, summary.duration / 1e6,
    e.status + e.connect + e.read + e.write + e.timeout
  ))
end

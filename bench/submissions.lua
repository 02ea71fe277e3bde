-- wrk script for bench/submissions_load.py: each request is a new interview (a fresh uuid), and a
-- share are retries of the previous one (same uuid, same body), as an offline queue sends them.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  token, version, answers, retry_share = args[1], args[2], args[3], tonumber(args[4])
  created, repeated, other, previous = 0, 0, 0, nil
  math.randomseed(os.time() + id * 7919)
end

function request()
  local uuid
  if previous ~= nil and math.random() < retry_share then
    uuid = previous
  else
    counter = counter + 1
    uuid = string.format("wrk-%d-%d-%d", id, counter, math.random(1, 1000000000))
  end
  previous = uuid
  local body = '{"uuid":"' .. uuid .. '","survey":"digital-skills","version":' .. version ..
               ',"answers":' .. answers .. ',"meta":{"language":"vi"}}'
  return wrk.format("POST", "/api/v1/submissions",
                    {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  if status == 201 then created = created + 1
  elseif status == 200 then repeated = repeated + 1
  else other = other + 1 end
end

function done(summary, latency, requests)
  local c, r, o = 0, 0, 0
  for _, thread in ipairs(threads) do
    c = c + thread:get("created"); r = r + thread:get("repeated"); o = o + thread:get("other")
  end
  io.write(string.format("WRK %d %d %d %.3f %.3f %.3f %.3f\n", c, r, o, summary.duration / 1e6,
           latency:percentile(50) / 1e3, latency:percentile(95) / 1e3, latency:percentile(99) / 1e3))
end

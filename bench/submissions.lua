-- wrk script for bench/submissions_load.py. Arguments: the workload file (bench/submissions_load.py's
-- Workload.write: a "V" line per volunteer with its token and how many interviews it stored before, then an
-- "A" line per interview of that volunteer's own), the survey version, when interview 0 began (Unix
-- seconds), the share of retries, wrk's thread count, the ward code list, and "varied" or "same".
-- Each thread sends for its own volunteers in turn (so no two threads share one); each request is the
-- volunteer's next interview with a fresh uuid and paradata as the collection app sends it, or, for a
-- share of them, a retry of the previous request (same uuid, same body), as an offline queue sends
-- after a lost reply. Times follow Workload.body: interview n begins 30 minutes after interview n-1.
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

local function load(path, nthreads)
  local mine, names, tokens, stored, answers = {}, {}, {}, {}, {}
  for line in io.lines(path) do
    local kind, index, rest = line:match("^(%a)\t(%d+)\t(.*)$")
    index = tonumber(index)
    if (index - 1) % nthreads == id - 1 then
      if kind == "V" then
        local name, token, count = rest:match("^([^\t]+)\t([^\t]+)\t(%d+)$")
        table.insert(mine, index)
        names[index], tokens[index], stored[index], answers[index] = name, token, tonumber(count), {}
      else
        table.insert(answers[index], rest)
      end
    end
  end
  return mine, names, tokens, stored, answers
end

function init(args)
  version, base, retry_share = args[2], tonumber(args[3]), tonumber(args[4])
  area_codes, varied = args[6], args[7] == "varied"
  mine, names, tokens, stored, answers = load(args[1], tonumber(args[5]))
  created, repeated, other, previous, turn, counter = 0, 0, 0, nil, 0, 0
  math.randomseed(os.time() + id * 7919)
end

local function iso(seconds)
  return os.date("!%Y-%m-%dT%H:%M:%SZ", seconds)
end

local function interview(v)
  local n = stored[v]
  stored[v] = n + 1
  local started = base + n * 1800
  local ended = started + 900 + (n * 37) % 900
  counter = counter + 1
  local uuid = string.format("wrk-%d-%d-%d", id, counter, math.random(1, 1000000000))
  local pool = answers[v]
  local chosen, turn = pool[n % #pool + 1], math.floor(n / #pool)
  if varied and turn > 0 then  -- as Workload.body: each time round, birth years move on by a year
    chosen = chosen:gsub('"birth_year": (%d+)', function(y)
      return '"birth_year": ' .. (1935 + (tonumber(y) - 1935 + turn) % 74)
    end, 1)
  end
  local body = '{"uuid":"' .. uuid .. '","survey":"digital-skills","version":' .. version ..
               ',"answers":' .. chosen .. ',"area_codes":"' .. area_codes ..
               '","meta":{"started_at":"' .. iso(started) .. '","ended_at":"' .. iso(ended) ..
               '","duration_s":' .. (ended - started) .. ',"channel":"interview","language":"vi","volunteer":"' ..
               names[v] .. '","app_version":"bench","gps_consent":false}}'
  return {["Authorization"] = "Bearer " .. tokens[v], ["Content-Type"] = "application/json"}, body
end

function request()
  if previous == nil or math.random() >= retry_share then
    turn = turn % #mine + 1
    local headers, body = interview(mine[turn])
    previous = {headers, body}
  end
  return wrk.format("POST", "/api/v1/submissions", previous[1], previous[2])
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

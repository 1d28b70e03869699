-- wrk script for bench/faults: a weighted mix of tokens against GET /auth, every answer checked.
--
--   wrk ... -s faults.lua http://127.0.0.1:PORT -- TOKENS_FILE
--
-- TOKENS_FILE (written by faults.py), one tab-separated record a line:
--   target  PATH  KIDHDR  ORDERED
--                       the path requested; KIDHDR 1 when a 200 carries X-Auth-Key-Id (the server's
--                       /auth; the Flask app's 200 does not); ORDERED 1 when one connection always
--                       reaches the same key-set cache (one server process), 0 when successive
--                       requests may reach different ones (gunicorn workers, each with its own)
--   epochs  E1|E2|...   the key sets the server may hold, in the order it can hold them: NONE (no
--                       set cached), "-" (a set without a usable key: the guard answers 503
--                       jwks_unavailable for every token that needs a key) or comma-separated kids
--   entry   KIND  KID  EXPECT  WEIGHT  AUTH
--     KID     the token's kid when the answer depends on it being in the server's set, else "-"
--     EXPECT  the answer when KID is in the set: "ok" (200 whose X-Auth-Key-Id is KID) or a SPEC code
--             (401, or 503 for jwks_unavailable) in the JSON body's "error"
--     AUTH    the Authorization header value ("NONE": no header); for KIND "unknown_kid" the
--             ".payload.signature" tail of a token whose header gets a random kid per request
--
-- Right answer: with one connection per thread, a connection's requests are handled one after the
-- other, and the server's key set only moves forward (one fetch at a time; a set replaces an older
-- one only). So every answer on a connection must be explained by a set at or after the one that
-- explained the previous answer: the smallest such epoch is taken (greedy is exact for this). With
-- ORDERED 0 an answer only has to be explained by one of the run's epochs. For a
-- key-dependent token the set explains the answer when KID is in it and the answer is EXPECT, or KID
-- is not in it and the answer is 401 unknown_key (no_rsa_key); NONE and "-" explain only 503
-- jwks_unavailable for a token that needs a key; header errors (EXPECT with KID "-" and KIND
-- header_*) and algorithm or shape errors are decided before any key set is consulted. An answer
-- that no remaining epoch explains is wrong. Every 5xx must also be documented: 503, a JSON body
-- with the SPEC code, and Retry-After of at least 1 s.

local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

local entries = {}
local total_weight = 0
local epochs = {}
local ep = 1
local current = nil
local path = "/auth"
local kid_header = true
local ordered = true

-- Globals read back by done() through thread:get.
served = 0
wrong = 0
fivexx = 0
fivexx_cached = 0
undocumented = 0
counts = {}
per_epoch = {}
samples = {}
final_epoch = 1

local function split(s, sep)
  local out = {}
  for field in string.gmatch(s .. sep, "(.-)" .. sep) do
    table.insert(out, field)
  end
  return out
end

local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

local function b64url(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = string.byte(s, i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local chars = 2 + (b and 1 or 0) + (c and 1 or 0)
    for j = 1, chars do
      local shift = 18 - 6 * (j - 1)
      local v = math.floor(n / (2 ^ shift)) % 64
      table.insert(out, string.sub(alphabet, v + 1, v + 1))
    end
  end
  return table.concat(out)
end

local function random_kid()
  local out = {}
  for _ = 1, 12 do
    local v = math.random(1, 62)
    table.insert(out, string.sub(alphabet, v, v))
  end
  return "rnd-" .. table.concat(out)
end

function init(args)
  for line in io.lines(args[1]) do
    local f = split(line, "\t")
    if f[1] == "target" then
      path = f[2]
      kid_header = f[3] == "1"
      ordered = f[4] == "1"
    elseif f[1] == "epochs" then
      for _, spec in ipairs(split(f[2], "|")) do
        local epoch = { name = spec, kids = {} }
        if spec == "NONE" then
          epoch.none = true
        elseif spec == "-" then
          epoch.empty = true
        else
          for _, kid in ipairs(split(spec, ",")) do
            epoch.kids[kid] = true
          end
        end
        table.insert(epochs, epoch)
        table.insert(per_epoch, 0)
      end
    elseif f[1] == "entry" then
      local e = { kind = f[2], kid = f[3], expect = f[4], weight = tonumber(f[5]), auth = f[6] }
      total_weight = total_weight + e.weight
      table.insert(entries, e)
    end
  end
  math.randomseed(tid * 7919 + os.time())
end

function request()
  local r = math.random() * total_weight
  local e = entries[#entries]
  for _, candidate in ipairs(entries) do
    r = r - candidate.weight
    if r < 0 then
      e = candidate
      break
    end
  end
  current = e
  local headers = {}
  if e.kind == "unknown_kid" then
    local header = '{"alg":"RS256","typ":"JWT","kid":"' .. random_kid() .. '"}'
    headers["Authorization"] = "Bearer " .. b64url(header) .. e.auth
  elseif e.auth ~= "NONE" then
    headers["Authorization"] = e.auth
  end
  return wrk.format("GET", path, headers)
end

local function matches(expect, kid, status, code, keyid)
  if expect == "ok" then
    return status == 200 and (keyid == kid or not kid_header)
  elseif expect == "jwks_unavailable" then
    return status == 503 and code == expect
  else
    return status == 401 and code == expect
  end
end

local function explains(e, epoch, status, code, keyid)
  -- Header, shape and algorithm errors are decided before any key set is consulted.
  if string.sub(e.kind, 1, 7) == "header_" or (e.kid == "-" and e.kind ~= "unknown_kid") then
    return matches(e.expect, e.kid, status, code, keyid)
  end
  -- Tokens that need a key: a key-dependent kind, or a random unknown kid.
  if epoch.none or (epoch.empty and (e.kid ~= "-" or e.kind == "unknown_kid")) then
    return status == 503 and code == "jwks_unavailable"
  end
  if e.kid == "-" or epoch.kids[e.kid] then
    return matches(e.expect, e.kid, status, code, keyid)
  end
  return status == 401 and code == "unknown_key"
end

function response(status, headers, body)
  local e = current
  if e == nil then
    return
  end
  current = nil
  served = served + 1
  local code = string.match(body or "", '"error":"([%w_]+)"') or ""
  local keyid = headers["x-auth-key-id"] or headers["X-Auth-Key-Id"] or ""
  local answer
  if status == 200 then
    answer = "200 " .. keyid
  else
    answer = status .. " " .. code
  end
  local key = e.kind .. "\t" .. answer
  counts[key] = (counts[key] or 0) + 1
  if status >= 500 then
    fivexx = fivexx + 1
    local ctype = headers["content-type"] or headers["Content-Type"] or ""
    local retry = tonumber(headers["retry-after"] or headers["Retry-After"] or "")
    if status ~= 503 or code == "" or string.find(ctype, "application/json", 1, true) == nil
        or retry == nil or retry < 1 then
      undocumented = undocumented + 1
      if #samples < 20 then
        table.insert(samples, e.kind .. " answered " .. answer .. " without the SPEC body or Retry-After")
      end
    end
  end
  local found = nil
  for i = (ordered and ep or 1), #epochs do
    if explains(e, epochs[i], status, code, keyid) then
      found = i
      break
    end
  end
  if found then
    if ordered or found > ep then
      ep = found
    end
    per_epoch[found] = per_epoch[found] + 1
    if status >= 500 and not (epochs[found].none or epochs[found].empty) then
      fivexx_cached = fivexx_cached + 1
    end
  else
    wrong = wrong + 1
    if status >= 500 and not (epochs[ep].none or epochs[ep].empty) then
      fivexx_cached = fivexx_cached + 1
    end
    if #samples < 20 then
      table.insert(samples, e.kind .. " answered " .. answer .. " after epoch " .. ep .. " (" .. epochs[ep].name .. ")")
    end
  end
  final_epoch = ep
end

function done(summary, latency, requests)
  local total = { served = 0, wrong = 0, fivexx = 0, fivexx_cached = 0, undocumented = 0 }
  local agg, epochs_seen, max_final = {}, {}, 1
  local all_samples = {}
  for _, thread in ipairs(threads) do
    for name, _ in pairs(total) do
      total[name] = total[name] + (thread:get(name) or 0)
    end
    for k, v in pairs(thread:get("counts") or {}) do
      agg[k] = (agg[k] or 0) + v
    end
    for i, v in ipairs(thread:get("per_epoch") or {}) do
      epochs_seen[i] = (epochs_seen[i] or 0) + v
    end
    for _, s in ipairs(thread:get("samples") or {}) do
      table.insert(all_samples, s)
    end
    local fe = thread:get("final_epoch") or 1
    if fe > max_final then
      max_final = fe
    end
  end
  local out = io.stdout
  for name, v in pairs(total) do
    out:write(string.format("@@\t%s\t%d\n", name, v))
  end
  out:write(string.format("@@\tduration_us\t%d\n", summary.duration))
  out:write(string.format("@@\tlatency_p50_us\t%d\n", latency:percentile(50)))
  out:write(string.format("@@\tlatency_p99_us\t%d\n", latency:percentile(99)))
  out:write(string.format("@@\tlatency_max_us\t%d\n", latency.max))
  out:write(string.format("@@\trequests\t%d\n", summary.requests))
  for _, name in ipairs({ "connect", "read", "write", "timeout" }) do
    out:write(string.format("@@\terrors_%s\t%d\n", name, summary.errors[name]))
  end
  out:write(string.format("@@\tfinal_epoch\t%d\n", max_final))
  for i, v in ipairs(epochs_seen) do
    out:write(string.format("@@\tepoch\t%d\t%d\n", i, v))
  end
  for k, v in pairs(agg) do
    out:write(string.format("@@\tcount\t%s\t%d\n", k, v))
  end
  for _, s in ipairs(all_samples) do
    out:write(string.format("@@\tsample\t%s\n", s))
  end
end

-- wrk script for bench/emulator_load.sh: a mix of list, get, create and delete on one zone.
-- Each thread deletes what it created, so the store (and memory) stays flat however long it runs.

local token = os.getenv("CSR_EMULATOR_TOKEN") or "Sn3lZJTBX6kkg7OdcBUAxOO963GEIyGQqnFTOFYY"
local known_id = os.getenv("BENCH_CSR_ID") or "00000000-0000-4000-8000-000000000000"
local base = "/client/v4/zones/benchzone/custom_csrs"
local create_body = '{"country":"US","state":"California","locality":"San Francisco",'
  .. '"organization":"Bench","common_name":"bench.cloudflare-demo.com",'
  .. '"sans":["bench.cloudflare-demo.com","*.bench.cloudflare-demo.com"],"key_type":"p256v1"}'

wrk.headers["Authorization"] = "Bearer " .. token
wrk.headers["Content-Type"] = "application/json"

local pending = {}
local n = 0

request = function()
  n = n + 1
  if #pending > 0 then
    return wrk.format("DELETE", base .. "/" .. table.remove(pending))
  end
  local slot = n % 10
  if slot == 0 then
    return wrk.format("POST", base, nil, create_body)
  elseif slot <= 4 then
    return wrk.format("GET", base .. "?per_page=20")
  else
    return wrk.format("GET", base .. "/" .. known_id)
  end
end

response = function(status, headers, body)
  if status == 201 then
    local id = body:match('"id":"([%x%-]+)"')
    if id then
      table.insert(pending, id)
    end
  end
end

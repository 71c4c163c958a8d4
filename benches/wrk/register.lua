-- wrk script: POST /api/auth/register with a unique username per request.
-- wrk -t1 -c8 -d15s -s benches/wrk/register.lua --latency http://127.0.0.1:18090
-- (one wrk thread: each thread has its own counter, so several could repeat a username)
local counter = 0
local prefix = string.format("w%x", os.time() % 0xfffff)
request = function()
  counter = counter + 1
  local body = string.format(
    '{"username":"%s_%d_%d","password":"correct horse battery","display_name":"Bench"}',
    prefix, math.random(1, 1000000), counter)
  return wrk.format("POST", "/api/auth/register", {["Content-Type"] = "application/json"}, body)
end

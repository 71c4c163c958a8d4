-- wrk script: POST /api/auth/login for one provisioned user (raise the login rate limits).
-- wrk -t1 -c8 -d15s -s benches/wrk/login.lua --latency http://127.0.0.1:18090/api/auth/login
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"username":"load000001","password":"confab-load-password"}'

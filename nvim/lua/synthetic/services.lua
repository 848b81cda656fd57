--- :SyntheticServices: the constructs' services in a scratch buffer, with start,
--- stop, restart and logs. A thin face over the server's synthetic.services.*
--- commands (the same as `synthetic services ... --json`).
local rpc = require("synthetic.rpc")

local M = {}

local BUFNAME = "synthetic://services"

local notify = rpc.notify

local str = rpc.str

--- One service as a line: "construct  name  state  url(s)".
function M.format_service(s)
  local urls = {}
  for _, p in ipairs(type(s.ports) == "table" and s.ports or {}) do
    table.insert(urls, p.url)
  end
  return ("%-30s %-14s %-13s %s"):format(s.construct_id, s.name, s.state, table.concat(urls, " "))
end

--- In a coroutine: set `services_summary` ("api ready :3000, db stopped") on
--- each construct of `constructs` that has services (one status request).
function M.annotate(client, root, constructs)
  local err, result = rpc.call(client, "synthetic.services.status", { root = root })
  if err then
    return
  end
  local by_id = {}
  for _, s in ipairs(result.services or {}) do
    local text = s.name .. " " .. s.state
    for _, p in ipairs(type(s.ports) == "table" and s.ports or {}) do
      text = text .. " :" .. tostring(p.port)
    end
    by_id[s.construct_id] = by_id[s.construct_id] or {}
    table.insert(by_id[s.construct_id], text)
  end
  for _, c in ipairs(constructs) do
    if by_id[c.id] then
      c.services_summary = table.concat(by_id[c.id], ", ")
    end
  end
end

--- Lines for the services of a `show` result (used by :SyntheticList's "Show").
function M.describe(c)
  local lines = {}
  if type(c.services) == "table" and #c.services > 0 then
    table.insert(lines, "")
    table.insert(lines, "services:")
    for _, s in ipairs(c.services) do
      table.insert(lines, "  " .. M.format_service(s))
    end
  end
  if type(c.ports) == "table" and #c.ports > 0 then
    table.insert(lines, "")
    table.insert(lines, "ports:")
    for _, p in ipairs(c.ports) do
      table.insert(lines, ("  %d  %s  %s"):format(p.port, str(p.env), str(p.service)))
    end
  end
  return lines
end

local function render(bufnr, services)
  local lines = { "# Synthetic services  (s start, x stop, r restart, l log, R refresh, q close)", "" }
  for _, s in ipairs(services) do
    table.insert(lines, M.format_service(s))
    if s.state == "failed" and s.error ~= vim.NIL and s.error then
      table.insert(lines, "    " .. vim.split(s.error, "\n", { plain = true })[1])
    end
  end
  if #services == 0 then
    table.insert(lines, "(no services)")
  end
  vim.bo[bufnr].modifiable = true
  vim.api.nvim_buf_set_lines(bufnr, 0, -1, false, lines)
  vim.bo[bufnr].modifiable = false
  vim.b[bufnr].synthetic_services = services
end

--- The service on the cursor's line, or nil.
local function at_cursor(bufnr)
  local line = vim.api.nvim_win_get_cursor(0)[1]
  local text = vim.api.nvim_buf_get_lines(bufnr, line - 1, line, false)[1] or ""
  for _, s in ipairs(vim.b[bufnr].synthetic_services or {}) do
    if text == M.format_service(s) then
      return s
    end
  end
end

--- Open a service's log file in a split that follows it: every second the
--- file is read again (:checktime) and the windows showing it go to its end,
--- until the buffer is closed.
function M.open_log(client, root, s)
  rpc.run(function()
    local err, logs = rpc.call(client, "synthetic.services.logs", { root = root, ref = s.construct_id, service = s.name })
    if err then
      return notify(rpc.error_message(err), vim.log.levels.ERROR)
    end
    vim.cmd("botright split " .. vim.fn.fnameescape(logs.path))
    local buf = vim.api.nvim_get_current_buf()
    vim.bo[buf].readonly = true
    vim.bo[buf].autoread = true
    vim.bo[buf].bufhidden = "wipe"
    vim.cmd("normal! G")
    local timer = (vim.uv or vim.loop).new_timer()
    local function stop()
      if not timer:is_closing() then
        timer:stop()
        timer:close()
      end
    end
    timer:start(1000, 1000, vim.schedule_wrap(function()
      if not vim.api.nvim_buf_is_valid(buf) then
        return stop()
      end
      vim.cmd("checktime " .. buf)
      for _, win in ipairs(vim.fn.win_findbuf(buf)) do
        vim.api.nvim_win_set_cursor(win, { vim.api.nvim_buf_line_count(buf), 0 })
      end
    end))
    vim.api.nvim_create_autocmd("BufWipeout", { buffer = buf, once = true, callback = stop })
  end)
end

--- Run start / stop / restart on one service, then refresh.
function M.act(client, root, action, s, refresh)
  rpc.run(function()
    notify(("%s %s of %s ..."):format(action, s.name, s.construct_id))
    local err = rpc.call(client, "synthetic.services." .. action, { root = root, ref = s.construct_id, service = s.name })
    if err then
      notify(rpc.error_message(err), vim.log.levels.ERROR)
    else
      notify(("%s %s: done"):format(action, s.name))
    end
    if refresh then
      refresh()
    end
  end)
end

--- :SyntheticServices: every construct's services with state and URLs.
function M.open()
  local client, root = require("synthetic").get_client(0)
  if client == nil then
    return notify(root, vim.log.levels.WARN)
  end
  local bufnr = vim.fn.bufnr(BUFNAME)
  if bufnr == -1 then
    bufnr = vim.api.nvim_create_buf(false, true)
    vim.api.nvim_buf_set_name(bufnr, BUFNAME)
    vim.bo[bufnr].bufhidden = "wipe"
  end
  local function refresh()
    rpc.run(function()
      local err, result = rpc.call(client, "synthetic.services.status", { root = root })
      if err then
        return notify(rpc.error_message(err), vim.log.levels.ERROR)
      end
      if vim.api.nvim_buf_is_valid(bufnr) then
        render(bufnr, result.services or {})
      end
    end)
  end
  local function on(key, fn)
    vim.keymap.set("n", key, function()
      local s = at_cursor(bufnr)
      if s then
        fn(s)
      end
    end, { buffer = bufnr, nowait = true })
  end
  on("s", function(s) M.act(client, root, "start", s, refresh) end)
  on("x", function(s) M.act(client, root, "stop", s, refresh) end)
  on("r", function(s) M.act(client, root, "restart", s, refresh) end)
  on("l", function(s) M.open_log(client, root, s) end)
  vim.keymap.set("n", "R", refresh, { buffer = bufnr, nowait = true })
  vim.keymap.set("n", "q", "<cmd>close<cr>", { buffer = bufnr, nowait = true })
  if vim.fn.bufwinid(bufnr) == -1 then
    vim.cmd("botright split")
    vim.api.nvim_win_set_buf(0, bufnr)
  end
  refresh()
end

return M

--- The agent-session commands: :SyntheticSession, :SyntheticSend, :SyntheticAbort,
--- :SyntheticApprove, :SyntheticDeny, :SyntheticLog. Each is a thin face over a
--- server command (`synthetic.session.*`); the OpenCode server's password never
--- passes through the editor (the terminal UI is started by `synthetic session
--- open --run`, which reads it itself).
local rpc = require("synthetic.rpc")

local M = {}

local notify = rpc.notify
local fail = rpc.fail
local present = rpc.present
local client_or_warn = rpc.client_or_warn

--- In a coroutine: the constructs of the repository, or nil (the error told).
local function all_constructs(client, root)
  local err, result = rpc.call(client, "synthetic.construct.list", { root = root, inspect = false })
  if err then
    fail(err)
    return nil
  end
  return result.constructs or {}
end

--- The construct whose worktree is `root` (the current buffer is in it), or nil.
local function construct_here(constructs, root)
  for _, c in ipairs(constructs) do
    if present(c.workspace_path) and vim.fs.normalize(c.workspace_path) == root then
      return c
    end
  end
  return nil
end

--- In a coroutine: the construct to work on. `ref` given: that one (the server
--- resolves it: id, unique id prefix or name). Otherwise the construct whose
--- worktree the current buffer is in, else one picked among those with a session.
--- Returns the ref (an id), or nil when there is none or the pick was cancelled.
function M.target(client, root, ref, prompt, constructs)
  if present(ref) then
    return ref
  end
  constructs = constructs or all_constructs(client, root)
  if constructs == nil then
    return nil
  end
  constructs = vim.tbl_filter(function(c)
    return present(c.opencode_session_id)
  end, constructs)
  local here = construct_here(constructs, root)
  if here then
    return here.id
  end
  local c = require("synthetic.commands").pick(
    constructs,
    prompt,
    "no construct has an agent session (use a template with an `agent`)"
  )
  return c and c.id or nil
end

--- `:SyntheticSend` arguments: the longest run of leading words that is exactly the
--- id or the name of a construct is the ref, the rest the text; else it is all text.
function M.split_send_args(args, constructs)
  local words = vim.split(vim.trim(args or ""), "%s+", { trimempty = true })
  local known = {}
  for _, c in ipairs(constructs or {}) do
    known[c.id] = c.id
    known[c.name] = c.id
  end
  for n = #words, 1, -1 do
    local head = table.concat(words, " ", 1, n)
    if known[head] then
      local text = table.concat(words, " ", n + 1)
      return known[head], text ~= "" and text or nil
    end
  end
  return nil, #words > 0 and table.concat(words, " ") or nil
end

local function one_line(text, max)
  text = vim.trim((present(text) and tostring(text) or ""):gsub("%s+", " "))
  if max and #text > max then
    return text:sub(1, max - 1) .. "…"
  end
  return text
end

local function describe_permission(p)
  local patterns = type(p.patterns) == "table" and table.concat(p.patterns, ", ") or ""
  return ("%s %s"):format(p.permission, patterns)
end

--- What a `synthetic.session.send` result says, as a notification.
local function report_send(result)
  local who = result.construct
  if not result.waited then
    return notify(("sent to %s; the agent is working (you will be told when it needs you or is done)"):format(who))
  end
  if result.state == "awaiting_input" then
    local asks = vim.tbl_map(describe_permission, result.permissions or {})
    return notify(
      ("%s waits for your permission: %s — :SyntheticApprove or :SyntheticDeny"):format(who, table.concat(asks, "; ")),
      vim.log.levels.WARN
    )
  end
  if result.state == "error" then
    return notify(("%s: the turn failed: %s"):format(who, tostring(result.error)), vim.log.levels.ERROR)
  end
  local reply = present(result.reply) and result.reply or "(no text)"
  notify(("%s replied:\n%s"):format(who, reply))
end

-- After a prompt sent without waiting, the construct is followed: each
-- constructsChanged notification re-reads it, and a change of its status is told
-- (waiting for a permission, failed, done). Following stops when the turn ends.
local following = {} -- construct id -> { root, client_id, status, sent_at, seen_busy, ... }
--- How long after a prompt an idle agent may be one whose turn has not begun yet.
M.GRACE_MS = 3000
local follow_group = nil

local function on_change(id, entry)
  if entry.busy then
    entry.again = true
    return
  end
  local client = vim.lsp.get_client_by_id(entry.client_id)
  if client == nil then
    following[id] = nil
    return
  end
  entry.busy = true
  rpc.run(function()
    local err, c = rpc.call(client, "synthetic.construct.show", { root = entry.root, ref = id })
    entry.busy = false
    if err then
      following[id] = nil -- removed, or the server is gone
      return
    end
    if c.status == "active" or c.status == "awaiting_input" then
      entry.seen_busy = true
    end
    -- Right after the prompt, a poll of the OpenCode server may still find the
    -- agent idle (the turn has not begun): that "ready" is not the end of the
    -- turn unless it lasts past a short grace.
    local early = (vim.uv.hrtime() / 1e6 - entry.sent_at) < M.GRACE_MS
    if c.status == "ready" and not entry.seen_busy and early then
      if not entry.recheck then
        entry.recheck = true
        vim.defer_fn(function()
          entry.recheck = false
          if following[id] == entry then
            on_change(id, entry)
          end
        end, M.GRACE_MS + 100 - math.floor(vim.uv.hrtime() / 1e6 - entry.sent_at))
      end
    elseif c.status ~= entry.status then
      entry.status = c.status
      if c.status == "awaiting_input" then
        local perr, listed = rpc.call(client, "synthetic.session.permissions", { root = entry.root, ref = id })
        local asks = perr and {} or vim.tbl_map(describe_permission, listed.pending or {})
        notify(
          ("%s waits for your permission: %s — :SyntheticApprove or :SyntheticDeny"):format(id, table.concat(asks, "; ")),
          vim.log.levels.WARN
        )
      elseif c.status == "error" then
        following[id] = nil
        notify(("%s: the agent's turn failed (:SyntheticLog shows it)"):format(id), vim.log.levels.ERROR)
      elseif c.status ~= "active" then
        following[id] = nil
        notify(("%s: the agent is done (%s)"):format(id, c.status))
      end
    end
    if entry.again and following[id] then
      entry.again = false
      on_change(id, entry)
    end
  end)
end

--- Tell the user when construct `id`'s agent, now working, needs them or ends.
function M.follow(client, root, id)
  following[id] = { root = root, client_id = client.id, status = "active", sent_at = vim.uv.hrtime() / 1e6 }
  if follow_group == nil then
    follow_group = vim.api.nvim_create_augroup("synthetic_session_follow", { clear = true })
    vim.api.nvim_create_autocmd("User", {
      group = follow_group,
      pattern = "SyntheticConstructsChanged",
      callback = function()
        -- Any repository's change: a worktree's server names its own root, not the repository's.
        for fid, entry in pairs(following) do
          on_change(fid, entry)
        end
      end,
    })
  end
end

--- :SyntheticSend[!] [ref] [text]: send a prompt to a construct's agent; with `wait`
--- (the bang), wait for the turn and show the reply.
function M.send(args, wait, on_done)
  rpc.run(function()
    local client, root = client_or_warn()
    if not client then
      return
    end
    local constructs = all_constructs(client, root)
    if constructs == nil then
      return
    end
    -- Any construct may be named (one without a session gets the server's message).
    local ref, text = M.split_send_args(args, constructs)
    ref = M.target(client, root, ref, "Send to which agent?", constructs)
    if ref == nil then
      return
    end
    if not present(text) then
      text = rpc.input({ prompt = ("Prompt for %s: "):format(ref) })
    end
    if text == nil or vim.trim(text) == "" then
      return
    end
    local err, result = rpc.call(client, "synthetic.session.send", { root = root, ref = ref, text = text, wait = wait or false })
    if err then
      return fail(err)
    end
    report_send(result)
    if not result.waited then
      M.follow(client, root, result.construct)
    end
    if on_done then
      on_done(result)
    end
  end)
end

--- :SyntheticAbort [ref]: stop the agent's current turn.
function M.abort(ref)
  rpc.run(function()
    local client, root = client_or_warn()
    if not client then
      return
    end
    ref = M.target(client, root, ref, "Stop which agent?")
    if ref == nil then
      return
    end
    local err, result = rpc.call(client, "synthetic.session.abort", { root = root, ref = ref })
    if err then
      return fail(err)
    end
    if result.aborted then
      notify("stopped the agent of " .. result.construct)
    else
      notify("the agent of " .. result.construct .. " was not working")
    end
  end)
end

--- :SyntheticApprove[!] [ref] / :SyntheticDeny [ref]: answer the agent's pending
--- permission request (picked when there are several). `always` (the bang):
--- approve this kind of request for the rest of the session.
function M.reply(ref, approve, always)
  rpc.run(function()
    local client, root = client_or_warn()
    if not client then
      return
    end
    local verb = approve and "Approve" or "Deny"
    ref = M.target(client, root, ref, verb .. " a permission of which agent?")
    if ref == nil then
      return
    end
    local err, listed = rpc.call(client, "synthetic.session.permissions", { root = root, ref = ref })
    if err then
      return fail(err)
    end
    local pending = listed.pending or {}
    if #pending == 0 then
      return notify(listed.construct .. " has no pending permission request", vim.log.levels.WARN)
    end
    local p = pending[1]
    if #pending > 1 then
      p = rpc.select(pending, {
        prompt = verb .. " which request?",
        kind = "synthetic.permission",
        format_item = describe_permission,
      })
      if p == nil then
        return
      end
    end
    local params = { root = root, ref = ref, permission_id = p.id }
    if approve and always then
      params.always = true
    end
    local rerr, result = rpc.call(client, approve and "synthetic.session.approve" or "synthetic.session.deny", params)
    if rerr then
      return fail(rerr)
    end
    notify(("%s %s for %s (%s)"):format(approve and "approved" or "denied", describe_permission(p), result.construct, result.reply))
  end)
end

--- :SyntheticSession [ref]: OpenCode's terminal UI, attached to the construct's
--- session, in a terminal split. Returns nothing; `on_open(bufnr, result)` is
--- called once the terminal runs.
function M.open(ref, on_open)
  rpc.run(function()
    local client, root = client_or_warn()
    if not client then
      return
    end
    ref = M.target(client, root, ref, "Open which agent session?")
    if ref == nil then
      return
    end
    local err, result = rpc.call(client, "synthetic.session.open", { root = root, ref = ref })
    if err then
      return fail(err)
    end
    local argv = result.terminal_argv
    if type(argv) ~= "table" or #argv == 0 then
      return notify("the server gave no command to run the terminal UI", vim.log.levels.ERROR)
    end
    vim.cmd("botright split")
    local bufnr = vim.api.nvim_create_buf(true, false)
    vim.api.nvim_win_set_buf(0, bufnr)
    local opts = {
      cwd = present(result.directory) and vim.fn.isdirectory(result.directory) == 1 and result.directory or nil,
      on_exit = function(_, code)
        if code ~= 0 and code ~= 129 and code ~= 143 then -- not ended by closing the buffer
          vim.schedule(function()
            notify(("the terminal UI of %s exited with %d"):format(result.construct, code), vim.log.levels.WARN)
          end)
        end
      end,
    }
    local job
    if vim.fn.has("nvim-0.11") == 1 then
      opts.term = true
      job = vim.fn.jobstart(argv, opts)
    else
      job = vim.fn.termopen(argv, opts)
    end
    if job <= 0 then
      vim.api.nvim_buf_delete(bufnr, { force = true })
      return notify("could not start " .. table.concat(argv, " "), vim.log.levels.ERROR)
    end
    vim.b[bufnr].synthetic_session = { root = root, construct = result.construct, session_id = result.session_id }
    if #vim.api.nvim_list_uis() > 0 then
      vim.cmd("startinsert")
    end
    if on_open then
      on_open(bufnr, result)
    end
  end)
end

--- The lines of a `synthetic.session.log` result.
function M.log_lines(result)
  local title = present(result.title) and one_line(result.title) or "(untitled)"
  local lines = { ("# %s (%s, %s)"):format(title, result.construct, result.session_id) }
  for _, m in ipairs(result.messages or {}) do
    table.insert(lines, "")
    table.insert(lines, ("[%s]"):format(tostring(m.role)))
    if present(m.text) then
      vim.list_extend(lines, vim.split(vim.trim(m.text), "\n", { plain = true }))
    end
    for _, t in ipairs(type(m.tools) == "table" and m.tools or {}) do
      table.insert(lines, ("- tool %s (%s): %s"):format(tostring(t.tool), tostring(t.status), one_line(t.title)))
    end
    if present(m.error) then
      table.insert(lines, "- error: " .. one_line(m.error))
    end
  end
  return lines
end

--- :SyntheticLog [ref]: the session's transcript (read from OpenCode) in a scratch buffer.
function M.log(ref)
  rpc.run(function()
    local client, root = client_or_warn()
    if not client then
      return
    end
    ref = M.target(client, root, ref, "Transcript of which agent?")
    if ref == nil then
      return
    end
    local err, result = rpc.call(client, "synthetic.session.log", { root = root, ref = ref })
    if err then
      return fail(err)
    end
    require("synthetic.scratch").show("synthetic://log/" .. result.construct, M.log_lines(result))
  end)
end

--- Completion of a construct ref: the ids of the constructs with a session.
function M.complete(arglead)
  local synthetic = require("synthetic")
  local root = synthetic.root_for(0)
  local client = root and synthetic.client_for_root(root)
  if not client then
    return {}
  end
  local params = { command = "synthetic.construct.list", arguments = { { root = root, inspect = false } } }
  local ok, response = pcall(function()
    if vim.fn.has("nvim-0.11") == 1 then
      return client:request_sync("workspace/executeCommand", params, 3000)
    end
    return client.request_sync("workspace/executeCommand", params, 3000)
  end)
  if not ok or response == nil or response.err or type(response.result) ~= "table" then
    return {}
  end
  local out = {}
  for _, c in ipairs(response.result.constructs or {}) do
    if present(c.opencode_session_id) and vim.startswith(c.id, arglead or "") then
      table.insert(out, c.id)
    end
  end
  table.sort(out)
  return out
end

return M

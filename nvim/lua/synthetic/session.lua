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

--- What a permission request asks, as the person must read it before answering:
--- the tool, then the command or patterns ("bash: echo hi > f.txt").
local function describe_permission(p)
  local patterns = type(p.patterns) == "table" and table.concat(p.patterns, ", ") or ""
  if patterns == "" then
    return tostring(p.permission)
  end
  return ("%s: %s"):format(tostring(p.permission), patterns)
end
M.describe_permission = describe_permission

-- The permission requests already told, by id: a `:SyntheticSend!` that ends on a
-- request and the server's synthetic/agentState both bring it, in either order,
-- and the person needs to read it once.
local told_permissions = {}

--- Tell the person that construct `who`'s agent (`name`: its name, what the person
--- reads; `who`, its id, is what they type) waits for `permissions` (those not
--- told yet), or, with none, for the answer to a question (OpenCode's `question`
--- tool, answered in its terminal UI).
local function tell_waiting(who, name, permissions)
  if #permissions == 0 then
    return notify(("%s waits for your answer — :SyntheticSession %s shows the question"):format(name, who), vim.log.levels.WARN)
  end
  local fresh = vim.tbl_filter(function(p)
    return not (present(p.id) and told_permissions[p.id])
  end, permissions)
  if #fresh == 0 then
    return
  end
  for _, p in ipairs(fresh) do
    if present(p.id) then
      told_permissions[p.id] = true
    end
  end
  local asks = vim.tbl_map(describe_permission, fresh)
  notify(
    ("%s waits for your permission: %s — :SyntheticApprove %s or :SyntheticDeny %s"):format(
      name,
      table.concat(asks, "; "),
      who,
      who
    ),
    vim.log.levels.WARN
  )
end

-- The questions already told, by id (the follower's catch-up after a reconnect
-- brings a pending one again).
local told_questions = {}

--- Tell the person what construct `who`'s agent asks (`question`: the server's
--- `{id, questions}`, its texts), once per question; it is answered in the
--- session's terminal UI.
local function tell_question(who, name, question)
  if present(question.id) then
    if told_questions[question.id] then
      return
    end
    told_questions[question.id] = true
  end
  local texts = type(question.questions) == "table" and question.questions or {}
  if #texts == 0 then
    return tell_waiting(who, name, {})
  end
  notify(
    ("%s asks: %s — :SyntheticSession %s to answer"):format(name, table.concat(texts, " / "), who),
    vim.log.levels.WARN
  )
end

--- Tell the person that construct `who`'s agent failed its turn (`error`: why, when known).
local function tell_failed(who, name, error)
  local why = present(error) and (": " .. tostring(error)) or ""
  notify(("%s: the agent's turn failed%s (:SyntheticLog %s shows it)"):format(name, why, who), vim.log.levels.ERROR)
end

--- What a `synthetic.session.send` result says, as a notification.
local function report_send(result, name)
  local who = result.construct
  name = name or who
  if not result.waited then
    return notify(("sent to %s; the agent is working (you will be told when it needs you or is done)"):format(who))
  end
  if result.state == "awaiting_input" then
    return tell_waiting(who, name, result.permissions or {})
  end
  if result.state == "error" then
    return tell_failed(who, name, result.error)
  end
  local reply = present(result.reply) and result.reply or "(no text)"
  notify(("%s replied:\n%s"):format(who, reply))
end

--- The server's `synthetic/agentState` notification: what an agent does, as the
--- server's follower of OpenCode's events tells it. The person is told when an
--- agent waits for them, fails, or ends a turn the server saw begin
--- (`turn_ended`); a busy agent is not news. Every construct of the
--- repositories this Neovim works in is told about, not only those prompted from
--- here: a permission blocks the agent whoever sent the prompt (the terminal UI of
--- :SyntheticSession, the CLI, another editor), and only the server saw the turn
--- begin, so the plugin keeps no list of its own.
function M.agent_state(params)
  if type(params) ~= "table" or not present(params.construct) then
    return
  end
  local who = params.construct
  local name = present(params.name) and params.name or who
  if present(params.host) then
    -- An agent on another machine (followed through a forward): :SyntheticApprove takes
    -- this machine's id as for a local one.
    name = ("%s (on host %s)"):format(name, params.host)
  end
  if params.state == "awaiting_input" then
    if type(params.permission) ~= "table" and type(params.question) == "table" then
      return tell_question(who, name, params.question)
    end
    return tell_waiting(who, name, type(params.permission) == "table" and { params.permission } or {})
  end
  if params.state == "error" then
    return tell_failed(who, name, params.error)
  end
  if params.state == "idle" and params.turn_ended then
    notify(("%s: the agent is done"):format(name))
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
      -- A paragraph, not a line: the multi-line editor (`:w` sends).
      text = rpc.await(function(resume)
        require("synthetic.editor").prompt("synthetic://prompt/" .. ref, ("Prompt for %s"):format(ref), resume)
      end)
    end
    if text == nil or vim.trim(text) == "" then
      return
    end
    local err, result = rpc.call(client, "synthetic.session.send", { root = root, ref = ref, text = text, wait = wait or false })
    if err then
      return fail(err)
    end
    local name
    for _, c in ipairs(constructs) do
      if c.id == result.construct then
        name = c.name
      end
    end
    report_send(result, name)
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
    -- Nothing approved blind: the picker shows what each request asks (the tool
    -- and its command), even when there is one; picking it is the answer.
    local p = rpc.select(pending, {
      prompt = ("%s%s which request of %s?"):format(verb, approve and always and " (always)" or "", listed.construct),
      kind = "synthetic.permission",
      format_item = describe_permission,
    })
    if p == nil then
      return
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
  local ok, response = pcall(require("synthetic.rpc").request_sync, client,
    "workspace/executeCommand", params, 3000)
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

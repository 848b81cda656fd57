--- The :Synthetic* user commands. Each one is a thin face over a server command
--- (`synthetic.construct.create`, `.list`, `.show`, `.delete`, `synthetic.doctor.run`, ...).
local rpc = require("synthetic.rpc")

local M = {}

local notify = rpc.notify
local fail = rpc.fail
local client_or_warn = rpc.client_or_warn

-- -- formatting -----------------------------------------------------------------

--- One line about a worktree: "clean", "dirty (3 changes)", "missing", "none", plus ahead/behind.
function M.worktree_state(c)
  local wt = c.worktree
  if wt == nil or wt == vim.NIL then
    if c.workspace_path ~= nil and c.workspace_path ~= vim.NIL then
      return "worktree ?"
    end
    return "no worktree"
  end
  if not wt.exists then
    return "worktree missing"
  end
  local parts = {}
  if wt.dirty then
    local n = type(wt.changes) == "table" and #wt.changes or 0
    table.insert(parts, ("dirty (%d change%s)"):format(n, n == 1 and "" or "s"))
  else
    table.insert(parts, "clean")
  end
  if type(wt.ahead) == "number" and wt.ahead > 0 then
    table.insert(parts, ("%d ahead"):format(wt.ahead))
  end
  if type(wt.behind) == "number" and wt.behind > 0 then
    table.insert(parts, ("%d behind"):format(wt.behind))
  end
  return table.concat(parts, ", ")
end

local str = rpc.str

--- What a construct's agent does ("busy", "awaiting_input (1 permission)", ...), or nil
--- when it has no session or the server did not say.
function M.agent_state(c)
  local agent = c.agent
  if type(agent) ~= "table" then
    return nil
  end
  local pending = type(agent.pending_permissions) == "table" and #agent.pending_permissions or 0
  if pending > 0 then
    return ("%s (%d permission%s)"):format(str(agent.state), pending, pending == 1 and "" or "s")
  end
  return str(agent.state)
end

--- A token count short enough for a line: "456", "12.3k", "4.5M" (as the CLI's `ls`).
function M.tokens_text(n)
  if n < 1000 then
    return tostring(n)
  elseif n < 1000000 then
    return ("%.1fk"):format(n / 1000)
  end
  return ("%.1fM"):format(n / 1000000)
end

--- What an agent (or all of them) cost: "1.6k/6 tokens $0.0016", or nil when not told.
function M.usage_text(u)
  -- Nothing spent yet (no answer): nothing to say.
  if type(u) ~= "table" or type(u.input) ~= "number" or (u.input + u.output + u.cost) == 0 then
    return nil
  end
  local cost = u.cost >= 1 and ("$%.2f"):format(u.cost) or ("$%.4f"):format(u.cost)
  return ("%s/%s tokens %s"):format(M.tokens_text(u.input), M.tokens_text(u.output), cost)
end

--- A construct as one line of a picker: its services when they were fetched, then
--- "[agent: STATE]" for one with a session, then what its agent cost.
function M.format_construct(c)
  local line = ("%s  [%s]  %s  %s  (%s)"):format(c.name, c.status, str(c.branch), M.worktree_state(c), c.id)
  if rpc.present(c.host) then
    -- A construct on another machine (`new --host`): where it lives, its id there.
    line = line .. ("  on host %s as %s"):format(c.host, str(c.remote_id))
  end
  if c.services_summary then
    line = line .. "  " .. c.services_summary
  end
  local agent = M.agent_state(c)
  if agent then
    line = line .. "  [agent: " .. agent .. "]"
  end
  local usage = type(c.agent) == "table" and M.usage_text(c.agent.usage) or nil
  if usage then
    line = line .. "  [" .. usage .. "]"
  end
  return line
end

--- A construct (the `show` result) as lines of text.
function M.describe(c)
  local lines = {
    "# " .. c.name,
    "",
    "id:          " .. c.id,
    "status:      " .. str(c.status),
    "host:        " .. (rpc.present(c.host) and c.host or "this machine"),
    "template:    " .. str(c.template_id),
    "branch:      " .. str(c.branch),
    "base:        " .. str(c.base_ref) .. (c.base_commit ~= vim.NIL and c.base_commit and (" @ " .. c.base_commit:sub(1, 12)) or ""),
    "worktree:    " .. str(c.workspace_path),
    "state:       " .. M.worktree_state(c),
    "session:     " .. str(c.opencode_session_id),
    "agent:       " .. (M.agent_state(c) or "-"),
    "created:     " .. str(c.created_at),
    "updated:     " .. str(c.updated_at),
    "record:      " .. str(c.file),
  }
  if c.isolation ~= nil and c.isolation ~= vim.NIL then
    -- Where its agent and services run (the server decides; shown as told).
    table.insert(lines, 11, "isolated:    " .. str(c.isolation))
  end
  if rpc.present(c.host) then
    -- Its id on that host (what to quote there); its worktree is a folder of that host.
    table.insert(lines, 6, "remote id:   " .. str(c.remote_id))
  end
  local u = type(c.agent) == "table" and c.agent.usage or nil
  if M.usage_text(u) then
    table.insert(lines, ("usage:       %d tokens in, %d out, %s"):format(
      u.input, u.output, u.cost >= 1 and ("$%.2f"):format(u.cost) or ("$%.4f"):format(u.cost)))
  end
  if c.operation ~= nil and c.operation ~= vim.NIL then
    table.insert(lines, ("operation:   %s (%s)"):format(str(c.operation.op), str(c.operation.state)))
  end
  if c.description ~= nil and c.description ~= vim.NIL and c.description ~= "" then
    table.insert(lines, "")
    for _, l in ipairs(vim.split(c.description, "\n", { plain = true })) do
      table.insert(lines, l)
    end
  end
  vim.list_extend(lines, require("synthetic.services").describe(c))
  local wt = c.worktree
  if type(wt) == "table" and type(wt.changes) == "table" and #wt.changes > 0 then
    table.insert(lines, "")
    table.insert(lines, "changes:")
    for _, change in ipairs(wt.changes) do
      table.insert(lines, "  " .. change)
    end
  end
  return lines
end

-- -- templates --------------------------------------------------------------------

--- The templates of the repository's config ({id, label, summary}), the
--- default one first, from the server's synthetic.config.templates. In a coroutine.
function M.templates(client, root)
  local err, result = rpc.call(client, "synthetic.config.templates", { root = root })
  if err then
    return nil, err
  end
  local out = {}
  for _, t in ipairs(result.templates or {}) do
    local item = {
      id = t.id,
      label = t.label ~= vim.NIL and t.label or nil,
      summary = t.summary ~= vim.NIL and t.summary or nil,
    }
    if t.id == result.default then
      table.insert(out, 1, item)
    else
      table.insert(out, item)
    end
  end
  return out
end

-- -- commands -----------------------------------------------------------------------

--- The "where" choices of :SyntheticNew: "This machine" then each host (`host` nil is
--- this machine); empty when the person has no hosts (then nothing is asked).
function M.where_items(hosts)
  if type(hosts) ~= "table" or #hosts == 0 then
    return {}
  end
  local items = { { label = "This machine", host = nil } }
  for _, h in ipairs(hosts) do
    table.insert(items, { label = ("host %s (%s)"):format(str(h.name), str(h.url)), host = h.name })
  end
  return items
end

--- In a coroutine: the host to make the construct on: false for this machine (also when
--- the person has no hosts, or they cannot be read), nil when the choice was dismissed.
local function pick_where(client, root)
  local err, listed = rpc.call(client, "synthetic.host.list", { root = root })
  if err then
    -- A broken hosts file must not stop a local creation.
    notify("hosts not read: " .. rpc.error_message(err), vim.log.levels.WARN)
    return false
  end
  local items = M.where_items(listed.hosts)
  if #items == 0 then
    return false
  end
  local choice = rpc.select(items, {
    prompt = "Where",
    kind = "synthetic.host",
    format_item = function(i)
      return i.label
    end,
  })
  if choice == nil then
    return nil
  end
  return choice.host or false
end

--- :SyntheticNew [name]: where (when the person has hosts), pick a template, type a
--- name, create the construct. `template_id` given (the code lens) skips the picker.
function M.new(opts)
  opts = opts or {}
  rpc.run(function()
    local client, root = client_or_warn()
    if not client then
      return
    end
    root = opts.root or root
    local host = pick_where(client, root)
    if host == nil then
      return
    end
    local template_id = opts.template_id
    if template_id == nil then
      local templates, err = M.templates(client, root)
      if templates == nil then
        return fail(err)
      end
      if #templates == 0 then
        return notify("the config defines no template", vim.log.levels.WARN)
      end
      local choice = rpc.select(templates, {
        prompt = "Template",
        kind = "synthetic.template",
        format_item = function(t)
          return t.label and (t.id .. " — " .. t.label) or t.id
        end,
      })
      if choice == nil then
        return
      end
      template_id = choice.id
    end
    local name = opts.name
    if name == nil or name == "" then
      name = rpc.input({ prompt = ("New construct (%s), name: "):format(template_id) })
    end
    if name == nil or vim.trim(name) == "" then
      return
    end
    if host then
      -- `new --host`: the server makes it there (consent asked as for a local one).
      local err, made = rpc.call(client, "synthetic.construct.createRemote", {
        root = root,
        name = name,
        host = host,
        template_id = template_id,
      })
      if err then
        return fail(err)
      end
      notify(("created %s on host %s (%s there)"):format(made.id, made.host, made.remote_id))
      if opts.on_done then
        opts.on_done(made)
      end
      return
    end
    local err, result = rpc.call(client, "synthetic.construct.create", {
      root = root,
      name = name,
      template_id = template_id,
    })
    if err then
      return fail(err)
    end
    local where = result.workspace_path ~= vim.NIL and result.workspace_path or nil
    notify(("created %s%s"):format(result.id, where and (" at " .. where) or ""))
    if opts.on_done then
      opts.on_done(result)
    end
  end)
end

--- Open a construct's worktree in a new tab, with :tcd there.
function M.open_worktree(c)
  local path = c.workspace_path
  if path == nil or path == vim.NIL then
    return notify(c.name .. " has no worktree", vim.log.levels.WARN)
  end
  if vim.fn.isdirectory(path) == 0 then
    return notify("the worktree " .. path .. " is missing", vim.log.levels.WARN)
  end
  vim.cmd("tabnew")
  vim.cmd("tcd " .. vim.fn.fnameescape(path))
  vim.cmd("edit " .. vim.fn.fnameescape(path))
end

--- Show a construct in a scratch buffer (`q` closes it). `refresh`: called on a
--- constructsChanged notification; a construct that is gone is marked so.
function M.show(client, root, ref, refresh)
  rpc.run(function()
    local err, c = rpc.call(client, "synthetic.construct.show", { root = root, ref = ref })
    if err and refresh and rpc.error_code(err) == "record-not-found" then
      local bufnr = vim.fn.bufnr("synthetic://construct/" .. ref)
      if bufnr ~= -1 then
        vim.bo[bufnr].modifiable = true
        vim.api.nvim_buf_set_lines(bufnr, 0, 1, false, { "# (removed) " .. ref })
        vim.bo[bufnr].modifiable = false
        vim.b[bufnr].synthetic = nil
      end
      return
    end
    if err then
      return fail(err)
    end
    local bufnr = require("synthetic.scratch").show("synthetic://construct/" .. c.id, M.describe(c))
    vim.b[bufnr].synthetic = { root = root, id = c.id }
  end)
end

--- The lines of a removal preview (`synthetic.construct.removalPreview`): what goes,
--- what is kept, and every item of the work that would be lost. `force`: the
--- removal is forced (the server said it must be), so the branch meets its
--- `with_force` fate.
function M.removal_lines(preview, force, host)
  local where = host and (" on host " .. host) or ""
  local lines = { ("# Remove %s (%s)%s"):format(preview.name, preview.construct, where), "" }
  if rpc.present(preview.worktree) then
    table.insert(lines, "deletes the worktree " .. preview.worktree)
  end
  local branch = preview.branch
  if type(branch) == "table" then
    local fate = force and branch.with_force or branch.without_force
    local why = rpc.present(branch.reason) and (" (" .. branch.reason .. ")") or ""
    table.insert(lines, ("%s the branch %s%s"):format(fate == "deleted" and "deletes" or "keeps", branch.name, why))
    if fate == "deleted" then
      for _, commit in ipairs(branch.unmerged or {}) do
        table.insert(lines, ("  %s %s (lost with it)"):format(commit.id:sub(1, 12), commit.subject))
      end
    end
  end
  if rpc.present(preview.session) then
    table.insert(lines, "deletes the agent session " .. preview.session)
  end
  if type(preview.services) == "table" and #preview.services > 0 then
    table.insert(lines, "stops the services " .. table.concat(preview.services, ", "))
  end
  if type(preview.ports) == "table" and #preview.ports > 0 then
    table.insert(lines, "releases the ports " .. table.concat(vim.tbl_map(tostring, preview.ports), ", "))
  end
  if rpc.present(preview.locked) then
    table.insert(lines, ("the worktree is locked (%s)"):format(preview.locked))
  end
  if type(preview.loses) == "table" and #preview.loses > 0 then
    table.insert(lines, "")
    table.insert(lines, "work that would be lost:")
    for _, work in ipairs(preview.loses) do
      table.insert(lines, "  " .. work.what .. ((#(work.items or {}) > 0) and ":" or ""))
      for _, item in ipairs(work.items or {}) do
        table.insert(lines, "    " .. item)
      end
    end
  end
  return lines
end

--- `items` for a one-line prompt: the first `max` joined by ", ", then "and N more"
--- (the scratch buffer beside the prompt lists them all).
function M.inline(items, max)
  max = max or 3
  local shown = vim.list_slice(items, 1, max)
  local text = table.concat(shown, ", ")
  if #items > max then
    text = text .. (" and %d more"):format(#items - max)
  end
  return text
end

--- In a coroutine: show `lines` in the scratch buffer `name`, ask `prompt` with
--- `choices` (the last one cancels), close the buffer; the choice (nil: cancelled).
function M.confirm_listed(name, lines, prompt, choices)
  local scratch = require("synthetic.scratch")
  scratch.show(name, lines)
  local answer = rpc.select(choices, { prompt = prompt, kind = "synthetic.confirm" })
  scratch.close(name)
  if answer == choices[#choices] then
    return nil
  end
  return answer
end

--- Remove a construct: the server's preview is shown and confirmed first; `force`
--- is what the server says it takes. In a coroutine.
local function remove(client, root, c)
  while true do
    local perr, preview = rpc.call(client, "synthetic.construct.removalPreview", { root = root, ref = c.id })
    if perr then
      return fail(perr)
    end
    local force = preview.force_required == true
    local name = "synthetic://remove/" .. preview.construct
    -- A construct on another machine: the preview and the removal are its host's.
    local host = rpc.present(c.host) and c.host or nil
    local label = host and (preview.name .. " on host " .. host) or preview.name
    local prompt, confirm
    if not force then
      prompt = ("Remove %s? (%s lists what goes and what is kept)"):format(label, name)
      confirm = "Remove"
    elseif type(preview.loses) == "table" and #preview.loses > 0 then
      local whats = vim.tbl_map(function(w)
        return #(w.items or {}) > 0 and (w.what .. ": " .. M.inline(w.items)) or w.what
      end, preview.loses)
      prompt = ("Remove %s? It would lose %s (%s lists it all)"):format(label, table.concat(whats, "; "), name)
      confirm = "Remove and lose that work"
    else
      prompt = ("Remove %s? Its worktree is locked (%s); %s lists what goes"):format(preview.name, tostring(preview.locked), name)
      confirm = "Remove though it is locked"
    end
    local answer = M.confirm_listed(name, M.removal_lines(preview, force, host), prompt, { confirm, "Cancel" })
    if answer == nil then
      return
    end
    -- By id: the name could have been reused since the preview.
    local err, result = rpc.call(client, "synthetic.construct.delete", { root = root, ref = preview.construct, force = force })
    if not (err and not force and rpc.error_code(err) == "unsaved-work") then
      if err then
        return fail(err)
      end
      local kept = vim.tbl_map(function(k)
        return ("%s %s (%s)"):format(k.what, k.name, k.reason)
      end, type(result.kept) == "table" and result.kept or {})
      require("synthetic.cleanup").construct_gone(
        preview.construct,
        rpc.present(preview.worktree) and preview.worktree or (rpc.present(c.workspace_path) and c.workspace_path or nil),
        root
      )
      local where = rpc.present(result.host) and (" on host " .. result.host) or ""
      return notify("removed " .. result.removed .. where .. (#kept > 0 and ("; kept " .. table.concat(kept, ", ")) or ""))
    end
    -- Work appeared after the preview: the removal refused; show what it is now, and ask again.
    notify(("%s now holds work the preview did not show; asking again"):format(c.name), vim.log.levels.WARN)
  end
end

--- In a coroutine: the constructs of the repository (the `ls` result), or nil.
local function list(client, root)
  local err, result = rpc.call(client, "synthetic.construct.list", { root = root })
  if err then
    fail(err)
    return nil
  end
  for _, broken in ipairs(result.broken or {}) do
    notify(("%s:%s: broken record: %s"):format(broken.file, str(broken.line), broken.error), vim.log.levels.WARN)
  end
  for _, h in ipairs(type(result.hosts) == "table" and result.hosts or {}) do
    if h.state ~= "ok" then
      -- Its constructs are still listed, marked `unreachable` by the server.
      notify(("host %s did not answer (%s): %s"):format(h.host, h.state, str(h.error)), vim.log.levels.WARN)
    end
  end
  return result.constructs or {}, result.usage
end

--- In a coroutine: the construct picked among `constructs`, or nil (none, or cancelled).
--- `none` is said when there is none to pick.
function M.pick(constructs, prompt, none)
  if #constructs == 0 then
    notify(none or "no constructs yet (:SyntheticNew makes one)")
    return nil
  end
  return rpc.select(constructs, {
    prompt = prompt,
    kind = "synthetic.construct",
    format_item = M.format_construct,
  })
end

--- :SyntheticList: pick a construct, then open its worktree, show it, or remove it.
function M.list()
  rpc.run(function()
    local client, root = client_or_warn()
    if not client then
      return
    end
    local constructs, usage = list(client, root)
    if constructs == nil then
      return
    end
    require("synthetic.services").annotate(client, root, constructs)
    -- What all the agents cost together, in the picker's title (when some told it).
    local total = M.usage_text(usage)
    local c = M.pick(constructs, total and ("Constructs (all agents: " .. total .. ")") or "Constructs")
    if c == nil then
      return
    end
    local remote = rpc.present(c.host)
    local actions = {
      { id = "open", label = "Open its worktree in a new tab (:tcd)" },
      { id = "show", label = "Show" },
      { id = "remove", label = "Remove" },
      { id = "start", label = "Start its services" },
      { id = "stop", label = "Stop its services" },
      { id = "restart", label = "Restart its services" },
    }
    if remote then
      -- On another machine: no folder here to open; its services run there (the server
      -- asks the host), and reach this machine through forwards ("Open a service").
      actions = {
        { id = "show", label = ("Show (from host %s)"):format(c.host) },
        { id = "open_service", label = ("Open a service here (forwarded from host %s)"):format(c.host) },
        { id = "start", label = ("Start its services (on host %s)"):format(c.host) },
        { id = "stop", label = ("Stop its services (on host %s)"):format(c.host) },
        { id = "restart", label = ("Restart its services (on host %s)"):format(c.host) },
        { id = "remove", label = ("Remove (on host %s)"):format(c.host) },
      }
    end
    -- The agent's and the branch's actions, for a construct that has them: the
    -- same commands as :SyntheticSession, :SyntheticSend, :SyntheticDiff, ...
    local session = require("synthetic.session")
    local review = require("synthetic.review")
    local more = {}
    if rpc.present(c.opencode_session_id) and not remote then
      vim.list_extend(more, {
        { id = "session", label = "Open its agent session (:SyntheticSession)", run = function() session.open(c.id) end },
        { id = "send", label = "Send a prompt to its agent (:SyntheticSend)", run = function() session.send(c.id, false) end },
      })
    elseif rpc.present(c.opencode_session_id) then
      -- The host's agent, reached through a forward: prompts and answers work as here.
      table.insert(more, { id = "send", label = "Send a prompt to its agent (:SyntheticSend)", run = function() session.send(c.id, false) end })
    end
    if rpc.present(c.branch) then
      vim.list_extend(more, {
        { id = "diff", label = "Diff its changes (:SyntheticDiff)", run = function() review.diff(c.id) end },
        { id = "commit", label = "Commit its uncommitted work (:SyntheticCommit)", run = function() review.commit(c.id) end },
        { id = "land", label = "Land its branch (:SyntheticLand)", run = function() review.land(c.id) end },
        { id = "discard", label = "Discard it with its branch (:SyntheticDiscard)", run = function() review.discard(c.id) end },
      })
    end
    for i, a in ipairs(more) do
      table.insert(actions, (remote and 1 or 2) + i, a)
    end
    local action = rpc.select(actions, {
      prompt = c.name,
      kind = "synthetic.action",
      format_item = function(a)
        return a.label
      end,
    })
    if action == nil then
      return
    end
    if action.run then
      action.run()
    elseif action.id == "open" then
      M.open_worktree(c)
    elseif action.id == "show" then
      M.show(client, root, c.id)
    elseif action.id == "remove" then
      remove(client, root, c)
    elseif action.id == "open_service" then
      M.open_remote_service(client, root, c)
    else
      notify(("%s the services of %s ..."):format(action.id, c.name))
      local err, result = rpc.call(client, "synthetic.services." .. action.id, { root = root, ref = c.id })
      if err then
        return fail(err)
      end
      local states = {}
      for _, s in ipairs(result.services or {}) do
        table.insert(states, s.name .. " " .. s.state)
      end
      notify(("services of %s: %s"):format(c.name, #states > 0 and table.concat(states, ", ") or "none"))
    end
  end)
end

--- A remote construct's service, reached here: the server forwards its ports over ssh
--- (synthetic.services.open) and answers this machine's URLs; the one picked is told
--- (and opened with vim.ui.open when the option `open_urls` is set).
function M.open_remote_service(client, root, c)
  local err, result = rpc.call(client, "synthetic.services.open", { root = root, ref = c.id })
  if err then
    return fail(err)
  end
  local forwards = result.forwards or {}
  if #forwards == 0 then
    return notify(("%s has no service port to open on host %s"):format(c.name, str(result.host)))
  end
  local f = forwards[1]
  if #forwards > 1 then
    f = rpc.select(forwards, {
      prompt = "Which service?",
      format_item = function(x)
        return ("%s  %s (%s)"):format(x.service, x.url, x.env)
      end,
    })
    if f == nil then
      return
    end
  end
  notify(("%s of %s (port %d on host %s) is at %s"):format(f.service, c.name, f.remote_port, str(result.host), f.url))
  if require("synthetic").options.open_urls and vim.ui.open then
    vim.ui.open(f.url)
  end
end

--- :SyntheticRemove [ref]: remove a construct (picked when no ref is given).
function M.remove(ref)
  rpc.run(function()
    local client, root = client_or_warn()
    if not client then
      return
    end
    local c
    if ref and ref ~= "" then
      local err, shown = rpc.call(client, "synthetic.construct.show", { root = root, ref = ref })
      if err then
        return fail(err)
      end
      c = shown
    else
      local constructs = list(client, root)
      if constructs == nil then
        return
      end
      c = M.pick(constructs, "Remove which construct?")
      if c == nil then
        return
      end
    end
    remove(client, root, c)
  end)
end

--- The quickfix items of doctor findings: each at the construct's record when
--- it is known, else at the repository's config.
function M.doctor_items(result, files, root)
  local items = {}
  for _, f in ipairs(result.findings or {}) do
    local subject = type(f.subject) == "table" and f.subject or {}
    local filename = files[subject.ref] or (root .. "/" .. require("synthetic").CONFIG_FILE)
    local state = f.fixed and "fixed" or (f.fixable and "fixable" or "needs you")
    local text = ("[%s] %s (%s)"):format(str(f.kind), str(f.message), state)
    if f.advice ~= nil and f.advice ~= vim.NIL and f.advice ~= "" then
      text = text .. " — " .. f.advice
    end
    table.insert(items, {
      filename = filename,
      lnum = 1,
      col = 1,
      text = text,
      type = f.fixed and "I" or "W",
      user_data = { finding_id = f.id, fixable = f.fixable },
    })
  end
  return items
end

--- :SyntheticDoctor[!]: the findings into the quickfix list (with !: fix what is safe first).
function M.doctor(fix)
  rpc.run(function()
    local client, root = client_or_warn()
    if not client then
      return
    end
    local err, result = rpc.call(client, "synthetic.doctor.run", { root = root, fix = fix or false })
    if err then
      return fail(err)
    end
    -- Point each finding at its construct's record when it has one.
    local files = {}
    local lerr, listing = rpc.call(client, "synthetic.construct.list", { root = root, inspect = false })
    if not lerr then
      for _, c in ipairs(listing.constructs or {}) do
        files[c.id] = c.file
      end
    end
    local items = M.doctor_items(result, files, root)
    vim.fn.setqflist({}, " ", { title = "Synthetic doctor: " .. root, items = items })
    if #items == 0 then
      notify("doctor: nothing to report")
    else
      notify(("doctor: %d finding(s), %s unresolved"):format(#items, str(result.unresolved)))
      vim.cmd("botright copen")
    end
  end)
end

--- :SyntheticFix: pick a fixable doctor finding and apply its fix.
function M.fix()
  rpc.run(function()
    local client, root = client_or_warn()
    if not client then
      return
    end
    local err, result = rpc.call(client, "synthetic.doctor.run", { root = root })
    if err then
      return fail(err)
    end
    local fixable = vim.tbl_filter(function(f)
      return f.fixable and not f.fixed
    end, result.findings or {})
    if #fixable == 0 then
      return notify("doctor: nothing to fix")
    end
    local f = rpc.select(fixable, {
      prompt = "Fix which finding?",
      kind = "synthetic.finding",
      format_item = function(item)
        return ("[%s] %s"):format(item.kind, item.message)
      end,
    })
    if f == nil then
      return
    end
    local ferr, fixed = rpc.call(client, "synthetic.doctor.fix", { root = root, finding_id = f.id })
    if ferr then
      return fail(ferr)
    end
    notify("fixed: " .. str(fixed.message) .. (type(fixed.fix_notes) == "table" and #fixed.fix_notes > 0 and (" (" .. table.concat(fixed.fix_notes, "; ") .. ")") or ""))
  end)
end

--- Client-side commands the server's code lenses run.
function M.register_lsp_commands()
  vim.lsp.commands["synthetic.newConstruct"] = function(command)
    local args = (command.arguments or {})[1] or {}
    M.new({ root = args.root ~= vim.NIL and args.root or nil, template_id = args.template_id })
  end
end

return M

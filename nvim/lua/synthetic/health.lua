--- :checkhealth synthetic — the server found, its version, the repository's state.
local M = {}

local health = vim.health

local function sync_command(client, command, args)
  local params = { command = command, arguments = { args } }
  local response = require("synthetic.rpc").request_sync(client, "workspace/executeCommand", params, 10000)
  if response == nil then
    return nil, "no answer within 10 s"
  end
  if response.err then
    return nil, require("synthetic.rpc").error_message(response.err)
  end
  return response.result
end

function M.check()
  local synthetic = require("synthetic")
  local options = synthetic.options

  health.start("synthetic: Neovim")
  if vim.fn.has("nvim-0.10") == 1 then
    health.ok("Neovim " .. tostring(vim.version()))
  else
    health.error("Neovim 0.10 or later is needed")
  end

  health.start("synthetic: server")
  local cmd = options.cmd
  if type(cmd) == "string" then
    cmd = { cmd }
  end
  local exe = cmd and cmd[1] and vim.fn.exepath(cmd[1]) or ""
  local server_ok = false
  if exe == "" then
    health.error(("server command not found: %s"):format(cmd and cmd[1] or "(none)"), {
      "install Synthetic (its setup puts synthetic-ls in .venv/bin) and put it on PATH",
      'or pass the command: require("synthetic").setup({ cmd = { "/path/to/synthetic-ls" } })',
    })
  else
    health.ok(("server command: %s (%s)"):format(table.concat(cmd, " "), exe))
    local argv = vim.list_extend(vim.deepcopy(cmd), { "--version" })
    local ok, proc = pcall(function()
      return vim.system(argv, { text = true }):wait(10000)
    end)
    if ok and proc.code == 0 then
      health.ok("version: " .. vim.trim(proc.stdout ~= "" and proc.stdout or proc.stderr))
      server_ok = true
    else
      health.error("`" .. table.concat(argv, " ") .. "` failed: " .. (ok and vim.trim((proc.stderr or "") .. (proc.stdout or "")) or tostring(proc)))
    end
  end
  if vim.fn.executable("git") == 1 then
    health.ok("git: " .. vim.fn.exepath("git"))
  else
    health.error("git not found on PATH")
  end

  health.start("synthetic: repository")
  local root = synthetic.root_for(0)
  if root == nil then
    health.info(("not in a repository with a %s (current folder %s)"):format(synthetic.CONFIG_FILE, vim.fn.getcwd()))
    return
  end
  health.ok("repository: " .. root)
  local client = synthetic.client_for_root(root)
  if client == nil then
    if not options.autostart then
      health.info("no server running for it (autostart is off; :SyntheticList starts one)")
    else
      health.warn("no server running for it yet; open a file of the repository, or run :SyntheticList")
    end
    if not server_ok then
      return
    end
    client = select(1, synthetic.get_client(0))
    if client == nil then
      health.error("the server could not be started")
      return
    end
  end
  health.ok(("server running (client id %d)"):format(client.id))
  local check, err = sync_command(client, "synthetic.config.check", { root = root })
  if check == nil then
    health.error("config check failed: " .. err)
  elseif (check.errors or 0) > 0 then
    health.warn(("%s: %d error(s), %d warning(s)"):format(check.file, check.errors, check.warnings or 0), {
      "open it to see the diagnostics and quick fixes",
    })
  elseif (check.warnings or 0) > 0 then
    health.warn(("%s: %d warning(s)"):format(check.file, check.warnings))
  else
    health.ok(check.file .. ": no problems")
  end
  local listing, lerr = sync_command(client, "synthetic.construct.list", { root = root, inspect = false })
  if listing == nil then
    health.error("cannot list constructs: " .. lerr)
  else
    local by_status = {}
    for _, c in ipairs(listing.constructs or {}) do
      by_status[c.status] = (by_status[c.status] or 0) + 1
    end
    local parts = {}
    for status, n in pairs(by_status) do
      table.insert(parts, ("%d %s"):format(n, status))
    end
    table.sort(parts)
    health.ok(("%d construct(s)%s"):format(#(listing.constructs or {}), #parts > 0 and (": " .. table.concat(parts, ", ")) or ""))
    -- The agents of the constructs with a session (asked of a running OpenCode server).
    local agents, waiting = {}, {}
    for _, c in ipairs(listing.constructs or {}) do
      if type(c.agent) == "table" then
        agents[c.agent.state] = (agents[c.agent.state] or 0) + 1
        if c.agent.state == "awaiting_input" then
          table.insert(waiting, c.name)
        end
      end
    end
    local agent_parts = {}
    for state, n in pairs(agents) do
      table.insert(agent_parts, ("%d %s"):format(n, state))
    end
    table.sort(agent_parts)
    if #agent_parts > 0 then
      health.ok("agents: " .. table.concat(agent_parts, ", "))
    end
    if #waiting > 0 then
      health.warn("waiting for your permission: " .. table.concat(waiting, ", "), {
        ":SyntheticApprove or :SyntheticDeny answers it",
      })
    end
    for _, broken in ipairs(listing.broken or {}) do
      health.error(("broken record %s:%s: %s"):format(broken.file, tostring(broken.line), broken.error))
    end
  end
  health.start("synthetic: OpenCode")
  local oc, oerr = sync_command(client, "synthetic.opencode.status", { root = root })
  if oc == nil then
    health.error("cannot ask about OpenCode: " .. oerr)
  else
    if oc.binary ~= nil and oc.binary ~= vim.NIL then
      health.ok(("opencode: %s (Synthetic is tested with %s)"):format(oc.binary, oc.pinned_version))
    elseif oc.state ~= "external" then
      health.error("opencode: " .. tostring(oc.binary_problem), {
        "scripts/setup.sh installs the pinned one; or set SYNTHETIC_OPENCODE_BIN",
      })
    end
    if oc.state == "running" or oc.state == "external" then
      local where = oc.url ~= vim.NIL and oc.url or "?"
      if oc.healthy == true then
        local version = oc.version ~= vim.NIL and oc.version or "?"
        local say = version == oc.pinned_version and health.ok or health.warn
        say(("server %s at %s answers, version %s"):format(oc.state, where, version))
      else
        health.warn(("server %s at %s does not answer"):format(oc.state, where),
          { "`synthetic opencode status` tells more" })
      end
      if oc.config_changed == true then
        health.warn("the OpenCode config changed since the server started", {
          "the next command that needs it starts a new one once no agent works",
        })
      end
    elseif oc.state == "stopped" then
      health.info("server not running: the first command that needs an agent starts it")
    else
      health.warn(("server %s"):format(tostring(oc.state)), { "`synthetic doctor` tells more" })
    end
  end

  local doctor, derr = sync_command(client, "synthetic.doctor.run", { root = root })
  if doctor == nil then
    health.error("doctor failed: " .. derr)
  elseif #(doctor.findings or {}) == 0 then
    health.ok("doctor: nothing to report")
  else
    health.warn(("doctor: %d finding(s)"):format(#doctor.findings), { ":SyntheticDoctor lists them in the quickfix list" })
    for i, f in ipairs(doctor.findings) do
      if i > 10 then
        health.info(("... and %d more"):format(#doctor.findings - 10))
        break
      end
      health.info(("[%s] %s"):format(tostring(f.kind), tostring(f.message)))
    end
  end
end

return M

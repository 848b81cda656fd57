--- Talking to synthetic-ls: requests and `workspace/executeCommand`, with the
--- call syntax of both Neovim 0.10 (`client.request`) and 0.11+ (`client:request`),
--- and a small coroutine helper so that the commands read top to bottom.
local M = {}

local new_api = vim.fn.has("nvim-0.11") == 1

--- Send a request; `callback(err, result)`.
function M.request(client, method, params, callback, bufnr)
  local handler = function(err, result)
    callback(err, result)
  end
  if new_api then
    return client:request(method, params, handler, bufnr)
  end
  return client.request(method, params, handler, bufnr)
end

--- Send a request and wait for its answer (at most `timeout_ms`); the response
--- table ({ err, result }), or nil when none came in time.
function M.request_sync(client, method, params, timeout_ms)
  if new_api then
    return client:request_sync(method, params, timeout_ms)
  end
  return client.request_sync(method, params, timeout_ms)
end

--- Run a server command with one JSON object argument; `callback(err, result)`.
function M.execute(client, command, args, callback)
  return M.request(client, "workspace/executeCommand", {
    command = command,
    arguments = { args or vim.empty_dict() },
  }, callback)
end

--- The message of an error answer: the core's message (`data.message`) when there is one.
function M.error_message(err)
  if type(err) ~= "table" then
    return tostring(err)
  end
  if type(err.data) == "table" and err.data.message then
    return err.data.message
  end
  return err.message or vim.inspect(err)
end

--- The core's error code (`data.code`, e.g. "unsaved-work"), or nil.
function M.error_code(err)
  if type(err) == "table" and type(err.data) == "table" then
    return err.data.code
  end
  return nil
end

-- Coroutines: `run(fn)` runs fn in a coroutine; inside it, `await(start)` calls
-- `start(resume)` and returns what `resume` is called with.

function M.run(fn)
  local co = coroutine.create(fn)
  local ok, err = coroutine.resume(co)
  if not ok then
    vim.notify("Synthetic: " .. tostring(err), vim.log.levels.ERROR)
  end
end

function M.await(start)
  local co = coroutine.running()
  assert(co, "await outside a coroutine")
  local done, results = false, nil
  start(function(...)
    results = vim.F.pack_len(...)
    if coroutine.status(co) == "suspended" and not done then
      done = true
      vim.schedule(function()
        local ok, err = coroutine.resume(co)
        if not ok then
          vim.notify("Synthetic: " .. tostring(err), vim.log.levels.ERROR)
        end
      end)
    else
      done = true -- answered synchronously, before we yielded
    end
  end)
  if not done then
    coroutine.yield()
  end
  return vim.F.unpack_len(results)
end

local CONSENT_KINDS = {
  setup = "setup command",
  service = "service",
  teardown = "teardown command",
  check = "check",
  ["opencode-code"] = "OpenCode code",
  ["opencode-config"] = "OpenCode config",
}

--- In a coroutine: list what the repository would run (as the server listed it)
--- beside a prompt, and ask; true means allow it.
function M.ask_consent(items)
  local lines = { "This repository asks to run code you have not allowed yet:", "" }
  for _, item in ipairs(items) do
    table.insert(lines, ("  %s (%s): %s"):format(
      CONSENT_KINDS[item.kind] or tostring(item.kind), tostring(item.where), tostring(item.text)))
  end
  vim.list_extend(lines, { "", "Once allowed, it is asked about again only when it changes." })
  local scratch = require("synthetic.scratch")
  scratch.show("synthetic://consent", lines)
  local choices = { "Allow and run", "Cancel" }
  local answer = M.select(choices, { prompt = "Run the repository's code listed?", kind = "synthetic.confirm" })
  scratch.close("synthetic://consent")
  return answer == choices[1]
end

--- The items of a `consent-required` refusal (nothing ran), or nil.
local function consent_items(err)
  if M.error_code(err) ~= "consent-required" or type(err.data.items) ~= "table" then
    return nil
  end
  return #err.data.items > 0 and err.data.items or nil
end

--- In a coroutine: run a server command and return err, result. When the server
--- refuses to run the repository's code the person has not allowed, the person is
--- asked; a yes allows exactly the items listed, and the command runs again.
function M.call(client, command, args)
  local err, result
  for _ = 1, 3 do
    err, result = M.await(function(resume)
      M.execute(client, command, args, resume)
    end)
    local items = consent_items(err)
    if items == nil or not M.ask_consent(items) then
      return err, result
    end
    local root = type(args) == "table" and args.root or nil
    local allow_err = M.await(function(resume)
      M.execute(client, "synthetic.trust.allow", { root = root, items = items }, resume)
    end)
    if allow_err then
      return allow_err, nil
    end
  end
  return err, result
end

--- In a coroutine: vim.ui.select, returning the chosen item (or nil) and its index.
function M.select(items, opts)
  return M.await(function(resume)
    vim.ui.select(items, opts, resume)
  end)
end

--- In a coroutine: vim.ui.input, returning the text (or nil when cancelled).
function M.input(opts)
  return M.await(function(resume)
    vim.ui.input(opts, resume)
  end)
end

--- A message to the user, prefixed "Synthetic: " (INFO unless `level` says otherwise).
function M.notify(msg, level)
  vim.notify("Synthetic: " .. msg, level or vim.log.levels.INFO)
end

--- The config's diagnostics (`synthetic.config.check`) into the quickfix list,
--- opened, with the cursor on the first: what "the config has errors" points at.
--- In a coroutine.
function M.config_errors_to_quickfix()
  local client, root = require("synthetic").get_client(0)
  if client == nil then
    return
  end
  local err, check = M.call(client, "synthetic.config.check", { root = root })
  if err or type(check) ~= "table" or type(check.diagnostics) ~= "table" then
    return
  end
  local items = {}
  for _, d in ipairs(check.diagnostics) do
    local start = type(d.range) == "table" and d.range.start or { line = 0, character = 0 }
    table.insert(items, {
      filename = check.file,
      lnum = start.line + 1,
      col = start.character + 1,
      text = (M.present(d.code) and ("[" .. tostring(d.code) .. "] ") or "") .. tostring(d.message),
      type = d.severity == 1 and "E" or (d.severity == 2 and "W" or "I"),
    })
  end
  if #items == 0 then
    return
  end
  vim.fn.setqflist({}, " ", { title = "Synthetic: " .. check.file, items = items })
  vim.cmd("botright copen")
  vim.cmd("cfirst")
end

--- A failed server command, as an error message (the core's text). When the
--- server says the config has errors (`config-has-errors`), they go to the
--- quickfix list, the cursor on the first.
function M.fail(err)
  if M.error_code(err) == "config-has-errors" then
    M.notify(M.error_message(err) .. " (listed in the quickfix list)", vim.log.levels.ERROR)
    return M.run(M.config_errors_to_quickfix)
  end
  M.notify(M.error_message(err), vim.log.levels.ERROR)
end

--- True for a JSON value that is set: not nil, not null, not "".
function M.present(v)
  return v ~= nil and v ~= vim.NIL and v ~= ""
end

--- A JSON value for a line of text: "-" for nil or null.
function M.str(v)
  if v == nil or v == vim.NIL then
    return "-"
  end
  return tostring(v)
end

--- The Synthetic client for the current buffer and its root, or nil (the user was told why).
function M.client_or_warn()
  local client, root = require("synthetic").get_client(0)
  if client == nil then
    M.notify(root, vim.log.levels.WARN)
  end
  return client, root
end

return M

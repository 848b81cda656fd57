-- Helpers for scenario scripts: wait with a deadline, record results, write
-- them as JSON to $SYNTHETIC_TEST_OUT and quit (also on error or timeout).
local T = { results = {}, notes = {} }

--- Wait until `cond()` is truthy; error with `what` after `ms` milliseconds.
function T.wait(cond, ms, what)
  local value
  local ok = vim.wait(ms or 10000, function()
    value = cond()
    return value
  end, 20)
  if not ok then
    error("timed out waiting for " .. (what or "a condition"), 2)
  end
  return value
end

--- The synthetic client attached to `bufnr`, waiting for it.
function T.client(bufnr)
  return T.wait(function()
    return vim.lsp.get_clients({ bufnr = bufnr or 0, name = "synthetic" })[1]
  end, 15000, "the synthetic client to attach")
end

--- Diagnostics of `bufnr` as plain tables (lnum is 0-based).
function T.diagnostics(bufnr)
  local out = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr or 0)) do
    table.insert(out, { lnum = d.lnum, col = d.col, code = d.code, message = d.message, severity = d.severity, source = d.source })
  end
  table.sort(out, function(a, b)
    return a.lnum < b.lnum or (a.lnum == b.lnum and a.col < b.col)
  end)
  return out
end

-- vim.notify messages, kept for the report.
local notify = vim.notify
vim.notify = function(msg, level, opts)
  table.insert(T.notes, { msg = tostring(msg), level = level })
  return notify(msg, level, opts)
end

--- The plugin's scratch buffers (synthetic://...) in a window now: what the
--- person sees beside a prompt, as { name = lines }.
function T.scratch_shown()
  local out = {}
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    local bufnr = vim.api.nvim_win_get_buf(win)
    local name = vim.api.nvim_buf_get_name(bufnr)
    if vim.startswith(name, "synthetic://") then
      out[name] = vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)
    end
  end
  return out
end

--- Script vim.ui.select / vim.ui.input: each call takes the next answer.
--- A select answer is a function(items, format) -> item, or a string matched
--- against the formatted items. Each prompt is recorded with the scratch
--- buffers shown while it was asked (`shown`).
function T.script_ui(selects, inputs)
  T.prompts = {}
  vim.ui.select = function(items, opts, on_choice)
    local format = opts.format_item or tostring
    local shown = vim.tbl_map(format, items)
    table.insert(T.prompts, { kind = "select", prompt = opts.prompt, items = shown, shown = T.scratch_shown() })
    local answer = table.remove(selects, 1)
    if answer == nil then
      return on_choice(nil, nil)
    end
    for i, item in ipairs(items) do
      if (type(answer) == "function" and answer(item, shown[i])) or (type(answer) == "string" and shown[i]:find(answer, 1, true)) then
        return on_choice(item, i)
      end
    end
    error("no item matches the scripted answer " .. tostring(answer) .. " among " .. vim.inspect(shown))
  end
  vim.ui.input = function(opts, on_confirm)
    table.insert(T.prompts, { kind = "input", prompt = opts.prompt })
    on_confirm(table.remove(inputs, 1))
  end
end

local function write(data)
  local path = assert(vim.env.SYNTHETIC_TEST_OUT, "SYNTHETIC_TEST_OUT not set")
  local f = assert(io.open(path, "w"))
  f:write(vim.json.encode(data))
  f:close()
end

--- Run the scenario `fn(T)`, write {ok, error, results, notes, prompts}, quit.
function T.run(fn)
  vim.schedule(function()
    local ok, err = xpcall(fn, debug.traceback, T)
    write({ ok = ok, error = ok and vim.NIL or tostring(err), results = T.results, notes = T.notes, prompts = T.prompts or {} })
    for _, client in ipairs(vim.lsp.get_clients()) do
      client:stop()
    end
    vim.wait(2000, function()
      return #vim.lsp.get_clients() == 0
    end, 20)
    vim.cmd("qall!")
  end)
end

return T

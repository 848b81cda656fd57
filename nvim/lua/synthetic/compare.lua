--- :SyntheticCompare [group]: a group's attempts side by side in a scratch buffer
--- (`synthetic.group.compare`), with actions on the attempt under the cursor:
--- `d` its diff, `D` its diff against another attempt (`synthetic.group.diffAttempts`),
--- `L` land it and discard the others (`synthetic.group.pickPreview`, then `.pick`),
--- `c` run every attempt's checks, `r` refresh, `q` close.
local rpc = require("synthetic.rpc")

local M = {}

local notify, fail, present = rpc.notify, rpc.fail, rpc.present

--- `12.3k`: a token count short enough for a column (as the CLI writes it).
local function tokens(n)
  if n < 1000 then
    return tostring(n)
  elseif n < 1000000 then
    return ("%.1fk"):format(n / 1000)
  end
  return ("%.1fM"):format(n / 1000000)
end

--- `12.3k in 456 out $0.0123`, or `-` when no server told it.
function M.usage_text(u)
  if type(u) ~= "table" then
    return "-"
  end
  local cost = u.cost >= 1 and ("$%.2f"):format(u.cost) or ("$%.4f"):format(u.cost)
  return ("%s in %s out %s"):format(tokens(u.input), tokens(u.output), cost)
end

local function duration(ms)
  if not present(ms) then
    return "-"
  end
  local s = ms / 1000
  if s < 60 then
    return ("%.1fs"):format(s)
  end
  return ("%dm%02ds"):format(math.floor(s / 60), math.floor(s % 60))
end

local function checks_cell(a)
  local runs = a.checks or {}
  if #runs == 0 then
    return #(a.checks_not_run or {}) > 0 and "not run" or "-"
  end
  local passed, stale = 0, false
  for _, r in ipairs(runs) do
    passed = passed + (r.passed and 1 or 0)
    stale = stale or r.stale
  end
  return ("%d/%d pass%s"):format(passed, #runs + #(a.checks_not_run or {}), stale and " (stale)" or "")
end

--- Columns (each a header then its cells) as aligned lines.
local function table_lines(columns)
  local lines = {}
  for row = 1, #columns[1] do
    local cells = {}
    for i, column in ipairs(columns) do
      local cell = column[row]
      if i < #columns then
        local widest = 0
        for _, c in ipairs(column) do
          widest = math.max(widest, vim.fn.strdisplaywidth(c))
        end
        cell = cell .. string.rep(" ", widest - vim.fn.strdisplaywidth(cell))
      end
      table.insert(cells, cell)
    end
    table.insert(lines, (table.concat(cells, "  "):gsub("%s+$", "")))
  end
  return lines
end

--- The buffer's lines for a `compare-result`, and which line shows which attempt.
function M.lines(result)
  local attempts = result.attempts or {}
  local lines = {
    ("# Compare %s: %s (template %s, from %s)"):format(
      result.group, result.name, result.template_id, present(result.start) and result.start:sub(1, 12) or "?"),
    "",
  }
  local col = function(header, f)
    local out = { header }
    for _, a in ipairs(attempts) do
      table.insert(out, f(a))
    end
    return out
  end
  local rows = table_lines({
    col("ATTEMPT", function(a) return a.id end),
    col("STATUS", function(a) return a.gone and "gone" or (a.status or "-") end),
    col("AGENT", function(a) return present(a.agent_state) and a.agent_state or "-" end),
    col("MODEL", function(a) return present(a.model) and a.model or "template's" end),
    col("TURNS", function(a) return present(a.turns) and tostring(a.turns) or "-" end),
    col("TIME", function(a) return duration(a.duration_ms) end),
    col("FILES", function(a) return tostring(a.stat.files) end),
    col("LINES", function(a) return ("+%d -%d"):format(a.stat.additions, a.stat.deletions) end),
    col("CHECKS", checks_cell),
    col("USAGE", function(a) return M.usage_text(a.usage) end),
  })
  local at = {}
  for i, line in ipairs(rows) do
    table.insert(lines, line)
    if i > 1 then
      at[#lines] = attempts[i - 1]
    end
  end
  table.insert(lines, "")
  table.insert(lines, "Group usage: " .. M.usage_text(result.usage))
  for _, a in ipairs(attempts) do
    for _, note in ipairs(a.notes or {}) do
      table.insert(lines, ("%s: %s"):format(a.id, note))
      at[#lines] = a
    end
  end
  for _, a in ipairs(attempts) do
    for _, r in ipairs(a.checks or {}) do
      if not r.passed then
        local why = r.timed_out and "timed out" or (present(r.exit_code) and ("exit " .. r.exit_code) or "no exit status")
        table.insert(lines, "")
        table.insert(lines, ("%s: check %s failed (%s)%s"):format(a.id, r.name, why, r.stale and " [stale]" or ""))
        local output = r.output or {}
        for i = math.max(1, #output - 4), #output do
          table.insert(lines, "  " .. output[i])
          at[#lines] = a
        end
      end
    end
  end
  local files = result.files or {}
  table.insert(lines, "")
  if #files == 0 then
    table.insert(lines, "No attempt changed a file yet.")
  else
    local here = 0
    for _, a in ipairs(attempts) do
      here = here + (a.gone and 0 or 1)
    end
    local widest = 0
    for _, f in ipairs(files) do
      widest = math.max(widest, vim.fn.strdisplaywidth(f.path))
    end
    table.insert(lines, "Files:")
    for _, f in ipairs(files) do
      local path = f.path .. string.rep(" ", widest - vim.fn.strdisplaywidth(f.path))
      table.insert(lines, ("  %s  %s  (%d/%d: %s)"):format(
        f.agree and "agree " or "DIFFER", path, #f.changed_by, here, table.concat(f.changed_by, ", ")))
    end
  end
  table.insert(lines, "")
  table.insert(lines, "d: diff  D: diff against another attempt  L: land, discard the others  c: run the checks  r: refresh  q: close")
  return lines, at
end

--- In a coroutine: the group named by `ref`, or one picked among the groups.
local function group_ref(client, root, ref)
  if present(ref) and ref ~= "" then
    return ref
  end
  local err, listed = rpc.call(client, "synthetic.group.list", { root = root })
  if err then
    return fail(err)
  end
  local groups = listed.groups or {}
  if #groups == 0 then
    return notify("no groups: make one with `synthetic new TASK --attempts N`")
  end
  if #groups == 1 then
    return groups[1].id
  end
  local g = rpc.select(groups, {
    prompt = "Compare which group?",
    kind = "synthetic.group",
    format_item = function(g)
      return ("%s  %s (%d attempts)"):format(g.id, g.name, #g.members)
    end,
  })
  return g and g.id or nil
end

local function buffer_name(group)
  return "synthetic://compare/" .. group
end

--- In a coroutine: (re)compare and (re)draw the group's buffer.
local function draw(client, root, group, run_checks)
  local err, result = rpc.call(client, "synthetic.group.compare", { root = root, ref = group, run_checks = run_checks })
  if err then
    return fail(err)
  end
  local lines, at = M.lines(result)
  local bufnr = require("synthetic.scratch").show(buffer_name(result.group), lines, "synthetic-compare")
  vim.b[bufnr].synthetic_compare = { root = root, group = result.group }
  M.attempt_at = M.attempt_at or {}
  M.attempt_at[bufnr] = at
  M.keys(bufnr, client, root, result)
  return bufnr
end

--- The attempt on the cursor's line in the compare buffer, or nil (with a message).
local function under_cursor(bufnr)
  local at = (M.attempt_at or {})[bufnr] or {}
  local a = at[vim.api.nvim_win_get_cursor(0)[1]]
  if a == nil then
    notify("put the cursor on an attempt's row")
  elseif a.gone then
    notify(a.id .. " is gone")
    return nil
  end
  return a
end

--- In a coroutine: `a`'s work against `b`'s in a diff scratch buffer.
function M.diff_between(client, root, a, b)
  local err, diff = rpc.call(client, "synthetic.group.diffAttempts", { root = root, a = a, b = b })
  if err then
    return fail(err)
  end
  local lines = vim.split(diff.patch or "", "\n", { plain = true })
  if lines[#lines] == "" then
    table.remove(lines)
  end
  if #lines == 0 then
    lines = { ("%s and %s have the same files"):format(diff.a, diff.b) }
  end
  return require("synthetic.scratch").show(("synthetic://compare/%s..%s"):format(diff.a, diff.b), lines, "diff")
end

--- In a coroutine: land `a` with `--discard-others` after the server's preview of what
--- the others lose was listed and confirmed.
function M.land(client, root, a, group)
  local perr, preview = rpc.call(client, "synthetic.group.pickPreview", { root = root, ref = a.id })
  if perr then
    return fail(perr)
  end
  local review = require("synthetic.review")
  local lines = { ("# Land %s, discard the other attempts of %s"):format(a.id, preview.group), "" }
  for _, other in ipairs(preview.others or {}) do
    vim.list_extend(lines, review.discard_lines(other, other.construct))
    table.insert(lines, "")
  end
  local name = "synthetic://pick/" .. a.id
  local prompt = ("Land %s and discard %d other attempt(s)? %s lists what is lost"):format(a.id, #(preview.others or {}), name)
  local answer = require("synthetic.commands").confirm_listed(name, lines, prompt, { "Land and discard the others", "Cancel" })
  if answer == nil then
    return notify("nothing was landed")
  end
  local err, result = rpc.call(client, "synthetic.group.pick", { root = root, ref = a.id })
  if err then
    return fail(err)
  end
  require("synthetic.scratch").close(buffer_name(group))
  local discarded = vim.tbl_map(function(d)
    return d.removed
  end, result.discarded or {})
  notify(("landed %s into %s; discarded %s"):format(a.id, tostring(result.landed.target), table.concat(discarded, ", ")))
end

--- The compare buffer's keys (set again on each draw: they close over the result).
function M.keys(bufnr, client, root, result)
  local function map(key, desc, fn)
    vim.keymap.set("n", key, function()
      rpc.run(function()
        fn()
      end)
    end, { buffer = bufnr, nowait = true, desc = "Synthetic compare: " .. desc })
  end
  map("d", "the attempt's diff", function()
    local a = under_cursor(bufnr)
    if a then
      require("synthetic.review").diff(a.id)
    end
  end)
  map("D", "the attempt against another", function()
    local a = under_cursor(bufnr)
    if not a then
      return
    end
    local others = vim.tbl_filter(function(o)
      return o.id ~= a.id and not o.gone
    end, result.attempts or {})
    local b = rpc.select(others, {
      prompt = ("Diff %s against which attempt?"):format(a.id),
      kind = "synthetic.attempt",
      format_item = function(o)
        return o.id
      end,
    })
    if b then
      M.diff_between(client, root, b.id, a.id)
    end
  end)
  map("L", "land it, discard the others", function()
    local a = under_cursor(bufnr)
    if a then
      M.land(client, root, a, result.group)
    end
  end)
  map("c", "run every attempt's checks", function()
    notify("running each attempt's checks ...")
    draw(client, root, result.group, true)
  end)
  map("r", "refresh", function()
    draw(client, root, result.group, false)
  end)
end

--- :SyntheticCompare [group]: the group (picked when not given) in its compare buffer.
function M.open(ref)
  rpc.run(function()
    local client, root = require("synthetic").get_client(0)
    if client == nil then
      return notify(root, vim.log.levels.WARN)
    end
    local group = group_ref(client, root, ref)
    if group then
      draw(client, root, group, false)
    end
  end)
end

return M

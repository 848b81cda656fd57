--- Review and land: :SyntheticDiff, :SyntheticLand, :SyntheticDiscard, :SyntheticReview.
--- Thin faces over `synthetic.construct.diff`, `.land`, `.discard` and `.review`.
local rpc = require("synthetic.rpc")

local M = {}

local notify = rpc.notify
local fail = rpc.fail

local present = rpc.present

--- In a coroutine: the client, the root and the construct named by `ref` (or picked).
local function target(ref, prompt)
  local client, root = require("synthetic").get_client(0)
  if client == nil then
    notify(root, vim.log.levels.WARN)
    return nil
  end
  if ref and ref ~= "" then
    local err, shown = rpc.call(client, "synthetic.construct.show", { root = root, ref = ref })
    if err then
      return fail(err)
    end
    return client, root, shown
  end
  local err, listed = rpc.call(client, "synthetic.construct.list", { root = root })
  if err then
    return fail(err)
  end
  local constructs = vim.tbl_filter(function(c)
    return present(c.branch)
  end, listed.constructs or {})
  local c = require("synthetic.commands").pick(constructs, prompt, "no construct with a branch to review")
  if c == nil then
    return nil
  end
  return client, root, c
end

-- -- diff ----------------------------------------------------------------------------

--- The quickfix items of a diff result: committed files, then uncommitted ones.
function M.diff_items(diff, root)
  local items = {}
  local base_dir = present(diff.worktree) and diff.worktree or root
  local function add(f, where)
    local counts = present(f.additions) and ("+%d -%d"):format(f.additions, f.deletions) or "binary"
    if f.status == "?" then
      counts = "untracked"
    end
    table.insert(items, {
      filename = base_dir .. "/" .. f.path,
      lnum = 1,
      col = 1,
      text = ("%s %s (%s)"):format(f.status, counts, where),
      user_data = {
        path = f.path,
        status = f.status,
        where = where,
        merge_base = diff.merge_base,
        head = diff.head,
        worktree = present(diff.worktree) and diff.worktree or nil,
        root = root,
        construct = diff.construct,
      },
    })
  end
  for _, f in ipairs(diff.files or {}) do
    add(f, "committed")
  end
  for _, f in ipairs(diff.uncommitted or {}) do
    add(f, "uncommitted")
  end
  return items
end

--- In a coroutine: the lines of the file at `at` ("base": the merge base; "head":
--- the branch tip), read by the server from git's objects (capped in size).
local function version_lines(client, data, at)
  local err, v = rpc.call(client, "synthetic.construct.file", {
    root = data.root,
    ref = data.construct,
    path = data.path,
    at = at,
  })
  if err then
    fail(err)
    return {}
  end
  if not present(v.text) then
    if not v.exists then
      return {}
    end
    local why = v.binary and "binary" or "too large to show"
    return { ("(%s: %d bytes, %s)"):format(data.path, v.size, why) }
  end
  local lines = vim.split(v.text, "\n", { plain = true })
  if lines[#lines] == "" then
    table.remove(lines)
  end
  return lines
end

--- In a coroutine: open a diff split for one changed file: the base (merge base, or
--- HEAD for an uncommitted change) on the left, the construct's file on the right.
function M.open_diff(client, data)
  local at = data.where == "uncommitted" and "head" or "base"
  local left = version_lines(client, data, at)
  local right_path = (data.worktree or data.root) .. "/" .. data.path
  local right = nil
  local stat = vim.uv.fs_lstat(right_path)
  if data.where == "committed" and data.worktree == nil then
    right = version_lines(client, data, "head") -- no worktree: the branch's version
  elseif stat and stat.type == "link" then
    -- As git stores it (the target's name): a branch's link never opens the file it names.
    right = version_lines(client, data, "head")
  end
  vim.cmd("tabnew")
  if right then
    vim.api.nvim_buf_set_lines(0, 0, -1, false, right)
    vim.bo.buftype, vim.bo.bufhidden = "nofile", "wipe"
    vim.api.nvim_buf_set_name(0, ("synthetic://%s/%s"):format(data.construct, data.path))
  elseif stat then
    vim.cmd("edit " .. vim.fn.fnameescape(right_path))
  else
    vim.bo.buftype, vim.bo.bufhidden = "nofile", "wipe" -- deleted on the branch
  end
  local ft = vim.filetype.match({ filename = data.path }) or ""
  vim.cmd("diffthis")
  vim.cmd("leftabove vnew")
  vim.api.nvim_buf_set_lines(0, 0, -1, false, left)
  vim.bo.buftype, vim.bo.bufhidden, vim.bo.swapfile = "nofile", "wipe", false
  vim.bo.filetype = ft
  local base = at == "head" and data.head or data.merge_base
  vim.api.nvim_buf_set_name(0, ("synthetic://%s/%s@%s"):format(data.construct, data.path, base:sub(1, 12)))
  vim.bo.modifiable = false
  vim.cmd("diffthis")
  return vim.api.nvim_get_current_tabpage()
end

--- :SyntheticDiff [ref]: the changed files into the quickfix list, then a diff split
--- of the one picked (`D` in the quickfix window opens another).
function M.diff(ref)
  rpc.run(function()
    local client, root, c = target(ref, "Diff which construct?")
    if not client then
      return
    end
    local err, diff = rpc.call(client, "synthetic.construct.diff", { root = root, ref = c.id })
    if err then
      return fail(err)
    end
    local items = M.diff_items(diff, root)
    local host = present(c.host) and c.host or nil
    if host then
      -- The files are on that host: listed by path (no file here to open or compare).
      for _, item in ipairs(items) do
        item.module = host .. ":" .. item.user_data.path
        item.filename = nil
      end
    end
    vim.fn.setqflist({}, " ", {
      title = ("Synthetic diff: %s (%d commit(s) on %s)%s"):format(
        diff.construct, #(diff.commits or {}), diff.branch, host and (" on host " .. host) or ""),
      items = items,
    })
    if #items == 0 then
      return notify(("%s has no changes"):format(diff.construct))
    end
    if host then
      vim.cmd("botright copen")
      return notify(("%d changed file(s) of %s on host %s (`synthetic diff %s` shows the patch)"):format(
        #items, diff.construct, host, diff.construct))
    end
    vim.cmd("botright copen")
    vim.keymap.set("n", "D", function()
      local entry = vim.fn.getqflist()[vim.fn.line(".")]
      if entry and entry.user_data then
        rpc.run(function()
          M.open_diff(client, entry.user_data)
        end)
      end
    end, { buffer = 0, desc = "Synthetic: diff split of this file" })
    local chosen = rpc.select(items, {
      prompt = "Open a diff of which file?",
      kind = "synthetic.file",
      format_item = function(item)
        return item.user_data.path .. "  " .. item.text
      end,
    })
    if chosen ~= nil then
      M.open_diff(client, chosen.user_data)
    end
  end)
end

-- -- land, discard, review ------------------------------------------------------------------

local STRATEGIES = {
  { id = "merge", label = "merge (a merge commit, or fast-forward)" },
  { id = "squash", label = "squash (one commit)" },
  { id = "rebase", label = "rebase (replay, then fast-forward)" },
  { id = "apply", label = "apply (staged, not committed)" },
}

--- The lines of a land confirmation: what lands where, each commit of the plan
--- (`synthetic.construct.landPlan`), and a squash's message as it will be.
function M.land_lines(plan, name, message)
  local lines = {
    ("# Land %s (%s)"):format(name, plan.construct),
    "",
    ("%s the branch %s into %s (%s)"):format(plan.strategy, plan.branch, plan.target, plan.checkout),
    "",
  }
  local commits = type(plan.commits) == "table" and plan.commits or {}
  table.insert(lines, ("%d commit(s):"):format(#commits))
  for _, commit in ipairs(commits) do
    table.insert(lines, ("  %s %s"):format(commit.id:sub(1, 12), commit.subject))
  end
  message = message or (present(plan.message) and plan.message or nil)
  if message then
    table.insert(lines, "")
    table.insert(lines, "message:")
    for _, l in ipairs(vim.split(message, "\n", { plain = true })) do
      table.insert(lines, "  " .. l)
    end
  end
  return lines
end

--- :SyntheticCommit [ref] [message]: commit the construct's uncommitted work in its
--- worktree (`synthetic.construct.commit`; the server decides what is committed,
--- include files never are); the message is asked when not given.
function M.commit(args)
  rpc.run(function()
    local words = vim.split(vim.trim(args or ""), "%s+", { trimempty = true })
    local ref = words[1]
    local message = #words > 1 and table.concat(words, " ", 2) or nil
    local client, root, c = target(ref, "Commit the work of which construct?")
    if not client then
      return
    end
    if message == nil then
      message = rpc.input({ prompt = ("Commit message for %s: "):format(c.name) })
    end
    if message == nil or vim.trim(message) == "" then
      return notify("no commit message; nothing was committed")
    end
    local err, result = rpc.call(client, "synthetic.construct.commit", { root = root, ref = c.id, message = message })
    if err then
      return fail(err)
    end
    local files = type(result.files) == "table" and result.files or {}
    notify(("committed %d file(s) in %s: %s %s"):format(#files, result.construct, tostring(result.commit):sub(1, 12), vim.trim(message)))
  end)
end

--- :SyntheticLand [ref]: pick the strategy, confirm, land; conflicts go to the quickfix list.
function M.land(ref)
  rpc.run(function()
    local client, root, c = target(ref, "Land which construct?")
    if not client then
      return
    end
    local strategy = rpc.select(STRATEGIES, {
      prompt = ("Land %s how?"):format(c.name),
      kind = "synthetic.strategy",
      format_item = function(s)
        return s.label
      end,
    })
    if strategy == nil then
      return
    end
    local args = { root = root, ref = c.id, strategy = strategy.id }
    local function refused(err)
      local data = type(err.data) == "table" and err.data or {}
      if rpc.error_code(err) == "merge-conflict" and type(data.files) == "table" then
        local items = vim.tbl_map(function(path)
          return { filename = root .. "/" .. path, lnum = 1, text = "conflicts with " .. tostring(data.target) }
        end, data.files)
        vim.fn.setqflist({}, " ", { title = "Synthetic: conflicts landing " .. c.id, items = items })
      end
      return fail(err)
    end
    -- Every check first: a conflict is said before the message is asked for.
    local perr, plan = rpc.call(client, "synthetic.construct.landPlan", args)
    if perr and rpc.error_code(perr) == "construct-dirty" then
      -- An agent that edited and never committed: offer to commit its work first.
      local files = type(perr.data) == "table" and perr.data.files or {}
      local answer = rpc.select({ "Commit them", "Cancel" }, {
        prompt = ("%s has %d uncommitted change(s) (%s); commit them first? (include files never are)"):format(
          c.name,
          #files,
          table.concat(vim.list_slice(files, 1, 10), ", ")
        ),
        kind = "synthetic.confirm",
      })
      if answer ~= "Commit them" then
        return
      end
      local text = rpc.input({ prompt = "Commit message: ", default = c.name .. ": the agent's uncommitted work" })
      if text == nil or vim.trim(text) == "" then
        return notify("no commit message; nothing was committed")
      end
      local cerr = rpc.call(client, "synthetic.construct.commit", { root = root, ref = c.id, message = text })
      if cerr then
        return fail(cerr)
      end
      perr, plan = rpc.call(client, "synthetic.construct.landPlan", args)
    end
    if perr then
      return refused(perr)
    end
    if strategy.id == "squash" and present(plan.message) then
      local lines = vim.split(plan.message, "\n", { plain = true })
      local subject = rpc.input({ prompt = "Commit message (first line; the drafted body is kept): ", default = lines[1] })
      if subject == nil or vim.trim(subject) == "" then
        return notify("no commit message; nothing was landed")
      end
      lines[1] = vim.trim(subject)
      args.message = table.concat(lines, "\n")
    end
    -- Nothing lands unseen: the commits (and a squash's message) are listed
    -- beside the confirmation, as VS Code's modal does.
    local name = "synthetic://land/" .. c.id
    local commits = type(plan.commits) == "table" and plan.commits or {}
    local prompt = ("Land %d commit(s) of %s into %s (%s)? %s lists them"):format(
      #commits,
      c.name,
      tostring(plan.target),
      strategy.id,
      name
    )
    local lines = M.land_lines(plan, c.name, args.message)
    local answer = require("synthetic.commands").confirm_listed(name, lines, prompt, { "Land", "Land and remove", "Cancel" })
    if answer == nil then
      return notify("nothing was landed")
    end
    -- The removal follows the server's usual rules (it may keep what it must).
    args.remove = answer == "Land and remove"
    local err, result = rpc.call(client, "synthetic.construct.land", args)
    if err then
      return refused(err)
    end
    local how = result.fast_forward and "fast-forward" or result.strategy
    local removal = type(result.removal) == "table" and result.removal or nil
    local removed = ""
    if removal and removal.removed then
      require("synthetic.cleanup").construct_gone(c.id, present(c.workspace_path) and c.workspace_path or nil, root)
      removed = "; removed it"
    end
    if type(result.removed) == "table" and #result.removed > 0 and not (removal and removal.removed) then
      removed = "; " .. table.concat(result.removed, "; ")
    end
    if result.strategy == "apply" then
      notify(("applied %s: %d file(s) staged in %s%s"):format(c.id, #(result.staged or {}), result.checkout, removed))
    else
      notify(("landed %s into %s (%s): %s -> %s%s"):format(
        c.id, result.target, how, result.before:sub(1, 12), result.after:sub(1, 12), removed))
    end
  end)
end

--- The lines of a discard preview (`synthetic.construct.discardPreview`): the
--- commits never landed and the uncommitted files that discarding deletes.
function M.discard_lines(preview, name)
  local lines = { ("# Discard %s (%s)"):format(name, preview.construct), "" }
  table.insert(lines, "deletes the worktree and the branch " .. tostring(preview.branch))
  local commits, files = preview.unmerged or {}, preview.uncommitted or {}
  if #commits > 0 then
    table.insert(lines, "")
    table.insert(lines, ("%d commit(s) never landed:"):format(#commits))
    for _, commit in ipairs(commits) do
      table.insert(lines, ("  %s %s"):format(commit.id:sub(1, 12), commit.subject))
    end
  end
  if #files > 0 then
    table.insert(lines, "")
    table.insert(lines, ("%d uncommitted file(s):"):format(#files))
    for _, f in ipairs(files) do
      table.insert(lines, ("  %s %s"):format(f.status, f.path))
    end
  end
  -- The other kinds of work the forced removal loses (its uncommitted files are above).
  for _, work in ipairs(preview.loses or {}) do
    if work.kind ~= "uncommitted" then
      table.insert(lines, "")
      table.insert(lines, "also lost: " .. work.what .. (#work.items > 0 and ":" or ""))
      for _, item in ipairs(work.items) do
        table.insert(lines, "  " .. item)
      end
    end
  end
  return lines
end

--- :SyntheticDiscard [ref]: list what is lost (the server's discard preview: the
--- commits never landed, the uncommitted files), confirm, then remove the construct
--- with its branch.
function M.discard(ref)
  rpc.run(function()
    local client, root, c = target(ref, "Discard which construct?")
    if not client then
      return
    end
    local derr, preview = rpc.call(client, "synthetic.construct.discardPreview", { root = root, ref = c.id })
    if derr then
      return fail(derr)
    end
    local commits, files = preview.unmerged or {}, preview.uncommitted or {}
    local name = "synthetic://discard/" .. preview.construct
    local commands = require("synthetic.commands")
    local lost = {}
    if #commits > 0 then
      table.insert(lost, ("%d commit(s) never landed (%s)"):format(#commits, commands.inline(vim.tbl_map(function(commit)
        return commit.id:sub(1, 12) .. " " .. commit.subject
      end, commits))))
    end
    if #files > 0 then
      table.insert(lost, ("%d uncommitted file(s) (%s)"):format(#files, commands.inline(vim.tbl_map(function(f)
        return f.status .. " " .. f.path
      end, files))))
    end
    local prompt = ("Discard %s and delete its branch %s?"):format(c.name, tostring(preview.branch))
    if #lost > 0 then
      prompt = prompt .. (" It loses %s; %s lists them all"):format(table.concat(lost, " and "), name)
    end
    local answer = commands.confirm_listed(name, M.discard_lines(preview, c.name), prompt, { "Discard", "Cancel" })
    if answer == nil then
      return
    end
    local err, result = rpc.call(client, "synthetic.construct.discard", { root = root, ref = preview.construct })
    if err then
      return fail(err)
    end
    require("synthetic.cleanup").construct_gone(preview.construct, present(c.workspace_path) and c.workspace_path or nil, root)
    local gone = {}
    if #(result.unmerged or {}) > 0 then
      table.insert(gone, ("%d commit(s)"):format(#result.unmerged))
    end
    if #(result.uncommitted or {}) > 0 then
      table.insert(gone, ("%d uncommitted file(s)"):format(#result.uncommitted))
    end
    notify(("discarded %s and its branch %s%s"):format(
      result.removed,
      tostring(result.branch),
      #gone > 0 and (" with " .. table.concat(gone, " and ")) or ""
    ))
  end)
end

--- :SyntheticReview [ref]: mark a construct as being reviewed.
function M.review(ref)
  rpc.run(function()
    local client, root, c = target(ref, "Review which construct?")
    if not client then
      return
    end
    local err, result = rpc.call(client, "synthetic.construct.review", { root = root, ref = c.id })
    if err then
      return fail(err)
    end
    notify(("%s is now %s"):format(result.id, result.status))
  end)
end

return M

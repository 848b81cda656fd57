--- What the plugin opened for a construct, closed once the construct is gone
--- (removed, discarded): its OpenCode terminal, the quickfix entries in its
--- worktree, the tabs whose `:tcd` is in the deleted folder (else `:pwd` gives
--- E187 there), the diff windows and buffers of its files. A buffer the person
--- modified is left open (their edits are theirs to save elsewhere).
local M = {}

--- Whether `path` is `dir` or inside it (both absolute).
local function inside(path, dir)
  if path == nil or path == "" or dir == nil then
    return false
  end
  path, dir = vim.fs.normalize(path), vim.fs.normalize(dir)
  return path == dir or vim.startswith(path, dir .. "/")
end

--- Whether buffer `bufnr` belongs to the construct `id` whose worktree was `worktree`:
--- a file in the worktree, a version shown by :SyntheticDiff (synthetic://ID/...),
--- or its agent's terminal.
local function belongs(bufnr, id, worktree)
  local name = vim.api.nvim_buf_get_name(bufnr)
  if inside(name, worktree) or vim.startswith(name, "synthetic://" .. id .. "/") then
    return true
  end
  local session = vim.b[bufnr].synthetic_session
  return type(session) == "table" and session.construct == id
end

--- Close what was opened for construct `id` (`worktree`: its deleted folder, or nil;
--- `root`: the repository, where a last tab in the worktree is moved).
function M.construct_gone(id, worktree, root)
  -- Tabs first: one whose working directory was in the worktree, or whose every
  -- window shows the construct's buffers (a diff split), is closed.
  for _, tab in ipairs(vim.api.nvim_list_tabpages()) do
    if not vim.api.nvim_tabpage_is_valid(tab) then
      goto continue
    end
    local tabnr = vim.api.nvim_tabpage_get_number(tab)
    local in_wt = worktree ~= nil and inside(vim.fn.getcwd(-1, tabnr), worktree)
    local all_ours = true
    for _, win in ipairs(vim.api.nvim_tabpage_list_wins(tab)) do
      if not belongs(vim.api.nvim_win_get_buf(win), id, worktree) then
        all_ours = false
      end
    end
    if in_wt or all_ours then
      if #vim.api.nvim_list_tabpages() > 1 then
        pcall(vim.cmd, "tabclose! " .. vim.api.nvim_tabpage_get_number(tab))
      elseif in_wt and root then
        vim.api.nvim_set_current_tabpage(tab)
        vim.cmd("tcd " .. vim.fn.fnameescape(root))
      end
    end
    ::continue::
  end
  -- Windows with a `:lcd` into the worktree move to the repository.
  for _, win in ipairs(vim.api.nvim_list_wins()) do
    local winnr = vim.api.nvim_win_get_number(win)
    local tabnr = vim.api.nvim_tabpage_get_number(vim.api.nvim_win_get_tabpage(win))
    if worktree and root and vim.fn.haslocaldir(winnr, tabnr) == 1 and inside(vim.fn.getcwd(winnr, tabnr), worktree) then
      vim.api.nvim_win_call(win, function()
        vim.cmd("lcd " .. vim.fn.fnameescape(root))
      end)
    end
  end
  -- The quickfix list keeps (before its buffers are wiped) its title and every entry outside the worktree.
  if worktree then
    local qf = vim.fn.getqflist({ items = 1, title = 1 })
    local kept = vim.tbl_filter(function(item)
      return not (item.bufnr > 0 and vim.api.nvim_buf_is_valid(item.bufnr)
        and inside(vim.api.nvim_buf_get_name(item.bufnr), worktree))
        and not (type(item.user_data) == "table" and item.user_data.construct == id)
    end, qf.items)
    if #kept ~= #qf.items then
      vim.fn.setqflist({}, "r", { title = qf.title, items = kept })
      if #kept == 0 then
        vim.cmd("cclose")
      end
    end
  end
  -- A server started for the worktree (a buffer of it was open) has nothing left to serve.
  if worktree and package.loaded["vim.lsp"] then
    for _, client in ipairs(vim.lsp.get_clients({ name = "synthetic" })) do
      if client.root_dir and inside(client.root_dir, worktree) then
        client:stop()
      end
    end
  end
  -- Its buffers: the terminal (its job stopped), the diff versions, its files.
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_valid(bufnr) and belongs(bufnr, id, worktree) then
      local terminal = vim.bo[bufnr].buftype == "terminal"
      if terminal or not vim.bo[bufnr].modified or vim.bo[bufnr].buftype == "nofile" then
        if terminal and vim.b[bufnr].terminal_job_id then
          pcall(vim.fn.jobstop, vim.b[bufnr].terminal_job_id)
        end
        pcall(vim.api.nvim_buf_delete, bufnr, { force = true })
      end
    end
  end
end

return M

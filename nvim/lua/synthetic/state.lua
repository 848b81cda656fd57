--- Live state: the server's `synthetic/constructsChanged` notification.
--- The plugin caches nothing; on a change it refreshes what it shows (open
--- construct buffers, code lenses) and fires `User SyntheticConstructsChanged`
--- (data: `{ root, stateDir }`) for statuslines and other views.
local M = {}

--- How many notifications arrived (for tests and :checkhealth).
M.count = 0
M.last = nil

function M.changed(params, client_id)
  M.count = M.count + 1
  M.last = params
  vim.schedule(function()
    -- Construct buffers opened by :SyntheticList → Show, for this repository.
    for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
      local info = vim.api.nvim_buf_is_valid(bufnr) and vim.b[bufnr].synthetic or nil
      if info and params and info.root == params.root and vim.fn.bufwinid(bufnr) ~= -1 then
        local client = vim.lsp.get_client_by_id(client_id)
        if client then
          local win = vim.api.nvim_get_current_win()
          require("synthetic.commands").show(client, info.root, info.id, true)
          pcall(vim.api.nvim_set_current_win, win)
        end
      end
    end
    -- The code lenses count the live constructs ("New construct (1 live)"): ask
    -- again in the configs this client serves, not at the next BufEnter.
    if require("synthetic").options.codelens then
      for _, bufnr in ipairs(vim.lsp.get_buffers_by_client_id(client_id)) do
        if vim.fs.basename(vim.api.nvim_buf_get_name(bufnr)) == require("synthetic").CONFIG_FILE then
          pcall(vim.lsp.codelens.refresh, { bufnr = bufnr })
        end
      end
    end
    vim.api.nvim_exec_autocmds("User", {
      pattern = "SyntheticConstructsChanged",
      modeline = false,
      data = params,
    })
  end)
end

return M

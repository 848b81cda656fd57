--- Read-only scratch buffers the plugin shows things in (a construct, a transcript,
--- a prompt bundle): one per name, reused, `q` closes it.
local M = {}

--- Show `lines` in the scratch buffer `name` (made on first use), in a split
--- unless a window shows it already. Returns the buffer number.
function M.show(name, lines, filetype)
  local bufnr = vim.fn.bufnr(name)
  if bufnr == -1 then
    bufnr = vim.api.nvim_create_buf(false, true)
    vim.api.nvim_buf_set_name(bufnr, name)
    vim.bo[bufnr].bufhidden = "wipe"
    vim.bo[bufnr].filetype = filetype or "markdown"
    vim.keymap.set("n", "q", "<cmd>close<cr>", { buffer = bufnr, nowait = true })
  end
  vim.bo[bufnr].modifiable = true
  vim.api.nvim_buf_set_lines(bufnr, 0, -1, false, lines)
  vim.bo[bufnr].modifiable = false
  if vim.fn.bufwinid(bufnr) == -1 then
    vim.cmd("botright split")
    vim.api.nvim_win_set_buf(0, bufnr)
  end
  return bufnr
end

--- Close the windows of the scratch buffer `name` (it is wiped with its last window).
function M.close(name)
  local bufnr = vim.fn.bufnr(name)
  if bufnr == -1 then
    return
  end
  for _, win in ipairs(vim.fn.win_findbuf(bufnr)) do
    if #vim.api.nvim_list_wins() > 1 then
      pcall(vim.api.nvim_win_close, win, true)
    end
  end
  if vim.api.nvim_buf_is_valid(bufnr) then
    pcall(vim.api.nvim_buf_delete, bufnr, { force = true })
  end
end

return M

--- A multi-line prompt editor: agents get paragraphs, which a one-line
--- vim.ui.input cannot hold. A scratch buffer in a split; `:w` (or <C-s>)
--- sends what it holds, closing it (`:q`) without writing cancels.
local M = {}

--- Open the editor `name` (e.g. synthetic://prompt/ID) titled `title`; `on_done(text)`
--- is called once: with the text on `:w` / <C-s>, with nil when it is closed unsent.
function M.prompt(name, title, on_done)
  local old = vim.fn.bufnr(name)
  if old ~= -1 then
    pcall(vim.api.nvim_buf_delete, old, { force = true })
  end
  local bufnr = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_name(bufnr, name)
  -- acwrite: `:w` runs our BufWriteCmd (the send) instead of writing a file.
  vim.bo[bufnr].buftype = "acwrite"
  vim.bo[bufnr].bufhidden = "wipe"
  vim.bo[bufnr].swapfile = false
  vim.bo[bufnr].filetype = "markdown"
  vim.cmd("botright 10split")
  local win = vim.api.nvim_get_current_win()
  vim.api.nvim_win_set_buf(win, bufnr)
  vim.wo[win].winbar = title .. " — :w or <C-s> sends, :q! cancels"
  local finished = false
  local function finish(text)
    if finished then
      return
    end
    finished = true
    on_done(text)
  end
  local function submit()
    local text = table.concat(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false), "\n")
    vim.bo[bufnr].modified = false
    finish(text)
    vim.schedule(function()
      if vim.api.nvim_buf_is_valid(bufnr) then
        pcall(vim.api.nvim_buf_delete, bufnr, { force = true })
      end
    end)
  end
  local group = vim.api.nvim_create_augroup("synthetic_prompt_" .. bufnr, { clear = true })
  vim.api.nvim_create_autocmd("BufWriteCmd", { group = group, buffer = bufnr, callback = submit })
  vim.api.nvim_create_autocmd("BufWipeout", {
    group = group,
    buffer = bufnr,
    callback = function()
      finish(nil)
    end,
  })
  vim.keymap.set({ "n", "i" }, "<C-s>", function()
    vim.cmd("stopinsert")
    submit()
  end, { buffer = bufnr, desc = "Synthetic: send the prompt" })
  if #vim.api.nvim_list_uis() > 0 then
    vim.cmd("startinsert")
  end
  return bufnr
end

return M

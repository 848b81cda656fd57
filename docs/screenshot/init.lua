-- Neovim setup for the README screenshot (docs/screenshot/make.sh): the plugin
-- as a user would set it up, diagnostics shown as virtual text and signs.
vim.opt.runtimepath:prepend(vim.env.SYNTHETIC_NVIM_PLUGIN)
vim.opt.termguicolors = true
vim.opt.number = true
vim.opt.signcolumn = "yes"
vim.opt.swapfile = false
vim.opt.shada = ""
vim.opt.laststatus = 2
vim.opt.wrap = false
vim.diagnostic.config({ virtual_text = { spacing = 2 }, severity_sort = true })
require("synthetic").setup({ cmd = vim.json.decode(vim.env.SYNTHETIC_LS_CMD) })
-- make.sh: scroll to the first template's services, show the mistake under the cursor.
vim.keymap.set("n", "<F2>", function()
  vim.cmd("normal! 41Gzt")
  vim.api.nvim_win_set_cursor(0, { 44, 10 })
  -- After the CursorMoved of the jump, which would close the float at once.
  vim.defer_fn(function()
    vim.diagnostic.open_float({ border = "rounded" })
  end, 200)
end)

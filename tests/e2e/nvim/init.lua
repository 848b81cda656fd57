-- The test init for a real headless Neovim (tests/e2e/test_nvim.py):
-- the plugin on the runtimepath, the server command from the environment.
-- SYNTHETIC_TEST_MODE=lsp-config starts the server the way the README shows
-- for Neovim 0.11 (vim.lsp.config + vim.lsp.enable, the plugin's autostart off).
local rtp = assert(vim.env.SYNTHETIC_NVIM_PLUGIN, "SYNTHETIC_NVIM_PLUGIN not set")
vim.opt.runtimepath:prepend(rtp)
vim.opt.swapfile = false
vim.opt.shada = ""
vim.opt.more = false

local cmd = vim.json.decode((assert(vim.env.SYNTHETIC_LS_CMD, "SYNTHETIC_LS_CMD not set")))

if vim.env.SYNTHETIC_TEST_MODE == "lsp-config" then
  require("synthetic").setup({ cmd = cmd, autostart = false })
  vim.lsp.config("synthetic", {
    cmd = cmd,
    filetypes = { "typescript" },
    root_markers = { "synthetic.config.ts" },
    handlers = require("synthetic").handlers,
  })
  vim.lsp.enable("synthetic")
else
  require("synthetic").setup({ cmd = cmd })
end

-- The test init for a real headless Neovim (tests/e2e/test_nvim.py):
-- the plugin on the runtimepath, the server command from the environment.
local rtp = assert(vim.env.SYNTHETIC_NVIM_PLUGIN, "SYNTHETIC_NVIM_PLUGIN not set")
vim.opt.runtimepath:prepend(rtp)
vim.opt.swapfile = false
vim.opt.shada = ""
vim.opt.more = false

require("synthetic").setup({
  cmd = vim.json.decode((assert(vim.env.SYNTHETIC_LS_CMD, "SYNTHETIC_LS_CMD not set"))),
})

-- Synthetic: user commands. The server starts once require("synthetic").setup() is called.
if vim.g.loaded_synthetic then
  return
end
vim.g.loaded_synthetic = true

if vim.fn.has("nvim-0.10") == 0 then
  vim.notify("synthetic.nvim needs Neovim 0.10 or later", vim.log.levels.WARN)
  return
end

require("synthetic.commands").create_user_commands()
require("synthetic.review").create_user_commands()

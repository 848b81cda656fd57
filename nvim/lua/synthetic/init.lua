--- Synthetic for Neovim: starts `synthetic-ls` for buffers of repositories
--- that have a `synthetic.config.ts`, and offers the :Synthetic* commands.
---
---   require("synthetic").setup({ cmd = { "synthetic-ls" } })
---
--- The plugin holds no logic of its own: diagnostics, quick fixes and every
--- operation come from the server (`workspace/executeCommand`).
local M = {}

M.CONFIG_FILE = "synthetic.config.ts"
M.CLIENT_NAME = "synthetic"

local defaults = {
  --- The server command (a list, as for vim.lsp.start).
  cmd = { "synthetic-ls" },
  --- Start the server automatically for buffers in a Synthetic repository.
  autostart = true,
  --- Show the "New construct" code lens above each template of the config.
  codelens = true,
  --- Echo the server's progress ("Creating the construct: [4/6] starting services") in the command line.
  progress = true,
  --- Open a remote construct's forwarded service URL with vim.ui.open (":SyntheticList",
  --- "Open a service here"); off: the URL is only told.
  open_urls = false,
  --- Extra fields merged into the vim.lsp.start config (on_attach, capabilities, ...).
  lsp = {},
}

---@type table
M.options = vim.deepcopy(defaults)
local augroup = nil

--- The root of the repository around `path` that holds a synthetic.config.ts
--- (the work tree root: the folder with both the config and `.git`), or nil.
---@param path string|nil a file or folder
---@return string|nil
function M.find_root(path)
  if path == nil or path == "" then
    path = vim.uv.cwd()
  end
  path = vim.fs.normalize(vim.fn.fnamemodify(path, ":p"))
  local start = path
  local stat = vim.uv.fs_stat(path)
  if not stat or stat.type ~= "directory" then
    start = vim.fs.dirname(path)
  end
  local function is_root(dir)
    return vim.uv.fs_stat(dir .. "/" .. M.CONFIG_FILE) ~= nil and vim.uv.fs_stat(dir .. "/.git") ~= nil
  end
  if is_root(start) then
    return start
  end
  for dir in vim.fs.parents(start) do
    if is_root(dir) then
      return dir
    end
  end
  return nil
end

--- The repository root for a buffer: its file's repository, else the current folder's.
---@param bufnr integer|nil
---@return string|nil
function M.root_for(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  local name = vim.api.nvim_buf_get_name(bufnr)
  local root = nil
  if name ~= "" and vim.bo[bufnr].buftype == "" then
    root = M.find_root(name)
  end
  return root or M.find_root(vim.fn.getcwd())
end

--- Handlers for the server's notifications; give them to vim.lsp.config or
--- nvim-lspconfig when you start the server yourself.
M.handlers = {
  ["synthetic/constructsChanged"] = function(_, params, ctx)
    require("synthetic.state").changed(params, ctx.client_id)
  end,
  -- An agent's state as the server follows it: told when it needs the person, fails or is done.
  ["synthetic/agentState"] = function(_, params)
    vim.schedule(function()
      require("synthetic.session").agent_state(params)
    end)
  end,
}

--- The vim.lsp.start config for a repository root.
---@param root string
function M.lsp_config(root)
  local cmd = M.options.cmd
  if type(cmd) == "string" then
    cmd = { cmd }
  end
  local config = vim.tbl_deep_extend("force", {
    name = M.CLIENT_NAME,
    cmd = cmd,
    root_dir = root,
    workspace_folders = { { uri = vim.uri_from_fname(root), name = root } },
    handlers = M.handlers,
  }, M.options.lsp or {})
  return config
end

--- Start (or reuse) the client for the repository of `bufnr` and attach the buffer.
---@param bufnr integer|nil
---@return integer|nil client id
function M.attach(bufnr)
  bufnr = (bufnr == nil or bufnr == 0) and vim.api.nvim_get_current_buf() or bufnr
  if vim.bo[bufnr].buftype ~= "" then
    return nil
  end
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == "" then
    return nil
  end
  if name:find("/.git/", 1, true) or name:match("^%a+://") then
    return nil -- commit messages and the like; URIs of other plugins
  end
  local root = M.find_root(name)
  if root == nil then
    return nil
  end
  return vim.lsp.start(M.lsp_config(root), { bufnr = bufnr })
end

--- The running client for `root`, or nil.
---@param root string
function M.client_for_root(root)
  for _, client in ipairs(vim.lsp.get_clients({ name = M.CLIENT_NAME })) do
    if client.root_dir ~= nil and vim.fs.normalize(client.root_dir) == root and not client:is_stopped() then
      return client
    end
  end
  return nil
end

--- The client for the repository of the current buffer (or folder), started if needed.
--- Returns client, root; or nil and a message.
function M.get_client(bufnr)
  local root = M.root_for(bufnr)
  if root == nil then
    return nil, "not in a repository with a " .. M.CONFIG_FILE
  end
  local client = M.client_for_root(root)
  if client then
    return client, root
  end
  local config = M.lsp_config(root)
  local id
  if vim.fn.has("nvim-0.11") == 1 then
    id = vim.lsp.start(config, { attach = false })
  else
    -- 0.10: start without attaching a buffer (the config buffer attaches on open).
    id = vim.lsp.start_client(config)
  end
  client = id and vim.lsp.get_client_by_id(id) or nil
  if client == nil then
    return nil, "could not start " .. table.concat(config.cmd, " ")
  end
  return client, root
end

local function attach_codelens(bufnr)
  if not M.options.codelens then
    return
  end
  if vim.fs.basename(vim.api.nvim_buf_get_name(bufnr)) ~= M.CONFIG_FILE then
    return
  end
  local group = vim.api.nvim_create_augroup("synthetic_codelens_" .. bufnr, { clear = true })
  vim.api.nvim_create_autocmd({ "BufEnter", "InsertLeave", "BufWritePost" }, {
    group = group,
    buffer = bufnr,
    callback = function()
      vim.lsp.codelens.refresh({ bufnr = bufnr })
    end,
  })
  vim.lsp.codelens.refresh({ bufnr = bufnr })
end

--- Configure the plugin: `cmd` (the server command), `autostart`, `codelens`, `lsp`.
---@param opts table|nil
--- On the way out: for each repository with a server, say when its managed
--- OpenCode server keeps running (on stderr: it is read once Neovim is gone).
function M.tell_running_opencode()
  if package.loaded["vim.lsp"] == nil then
    return -- no server was ever started
  end
  for _, client in ipairs(vim.lsp.get_clients({ name = M.CLIENT_NAME })) do
    local root = client.root_dir or (client.config and client.config.root_dir)
    local params = { command = "synthetic.opencode.status", arguments = { { root = root } } }
    local ok, response = pcall(require("synthetic.rpc").request_sync, client,
      "workspace/executeCommand", params, 2000)
    local status = ok and response and response.result or nil
    if type(status) == "table" and status.state == "running" then
      io.stderr:write(("Synthetic: the OpenCode server of %s keeps running (pid %s); "
        .. "`synthetic opencode stop` ends it.\n"):format(root, tostring(status.pid)))
    end
  end
end

function M.setup(opts)
  M.options = vim.tbl_deep_extend("force", vim.deepcopy(defaults), opts or {})
  if type(M.options.cmd) == "string" then
    M.options.cmd = { M.options.cmd }
  end
  augroup = vim.api.nvim_create_augroup("synthetic", { clear = true })
  if M.options.autostart then
    vim.api.nvim_create_autocmd({ "BufReadPost", "BufNewFile" }, {
      group = augroup,
      callback = function(args)
        M.attach(args.buf)
      end,
    })
    -- Buffers already open when setup() runs (lazy loading).
    for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
      if vim.api.nvim_buf_is_loaded(bufnr) then
        M.attach(bufnr)
      end
    end
  end
  if M.options.progress then
    -- The title of each progress (by token): a step's report ("[4/6] starting
    -- services") is shown under it, as VS Code's progress notification does.
    local titles = {}
    vim.api.nvim_create_autocmd("LspProgress", {
      group = augroup,
      pattern = { "begin", "report", "end" },
      callback = function(args)
        local client = vim.lsp.get_client_by_id(args.data.client_id)
        if not (client and client.name == M.CLIENT_NAME) then
          return
        end
        local params = args.data.params or {}
        local value = params.value or {}
        local token = tostring(params.token)
        if value.kind == "begin" then
          titles[token] = value.title or "working"
          vim.api.nvim_echo({ { "Synthetic: " .. titles[token] .. " ..." } }, false, {})
        elseif value.kind == "report" then
          local step = type(value.message) == "string" and value.message or "..."
          vim.api.nvim_echo({ { ("Synthetic: %s: %s"):format(titles[token] or "working", step) } }, false, {})
        else
          titles[token] = nil
          vim.api.nvim_echo({ { "" } }, false, {})
        end
      end,
    })
  end
  -- The repository's managed `opencode serve` (hundreds of MB) outlives Neovim
  -- on purpose (the CLI and other editors share it): say so once, on the way out.
  vim.api.nvim_create_autocmd("VimLeavePre", {
    group = augroup,
    callback = function()
      M.tell_running_opencode()
    end,
  })
  vim.api.nvim_create_autocmd("LspAttach", {
    group = augroup,
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if client and client.name == M.CLIENT_NAME then
        -- Here, not in setup(): vim.lsp is loaded only once a server runs.
        require("synthetic.commands").register_lsp_commands()
        attach_codelens(args.buf)
      end
    end,
  })
end

return M

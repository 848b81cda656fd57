--- Prompt bundles: :SyntheticPrompts [template] previews what a new construct of a
--- template would get; :SyntheticPromptsBuild [ref] remakes a construct's bundle.
--- Both show the bundle in a scratch buffer, each fragment with its source and
--- tokens first (thin faces over synthetic.prompts.preview / .build).
local rpc = require("synthetic.rpc")

local M = {}

local notify = rpc.notify
local present = rpc.present

--- The lines of the buffer: a header per fragment, then the bundle's text.
function M.lines(result, title)
  local lines = { "<!-- " .. title .. " -->" }
  for _, f in ipairs(result.fragments or {}) do
    local order = present(f.order) and (" (order " .. tostring(f.order) .. ")") or ""
    table.insert(lines, ("<!-- %s%s: ~%d tokens, from %s -->"):format(f.path, order, f.tokens, f.origin))
  end
  for _, path in ipairs(result.dropped or {}) do
    table.insert(lines, ("<!-- %s: dropped (empty or a repeat) -->"):format(path))
  end
  table.insert(lines, ("<!-- total: ~%d tokens (%s) -->"):format(result.token_count, result.token_method))
  table.insert(lines, "")
  vim.list_extend(lines, vim.split(result.content or "", "\n", { plain = true }))
  return lines
end

local function run(command, args, name, title)
  rpc.run(function()
    local client, root = require("synthetic").get_client(0)
    if client == nil then
      return notify(root, vim.log.levels.WARN)
    end
    args.root = root
    local err, result = rpc.call(client, command, args)
    if err then
      return notify(rpc.error_message(err), vim.log.levels.ERROR)
    end
    require("synthetic.scratch").show(name(result), M.lines(result, title(result)))
  end)
end

--- :SyntheticPrompts [template]
function M.preview(template)
  run("synthetic.prompts.preview", { template_id = present(template) and template or nil },
    function(r) return "synthetic://prompts/" .. r.template_id end,
    function(r) return "what a new construct of template " .. r.template_id .. " would get" end)
end

--- :SyntheticPromptsBuild ref
function M.build(ref)
  if not present(ref) then
    return notify("name the construct: :SyntheticPromptsBuild REF", vim.log.levels.WARN)
  end
  run("synthetic.prompts.build", { ref = ref },
    function(r) return "synthetic://prompts/" .. r.construct end,
    function(r)
      return "bundle " .. r.bundle_id .. " of " .. r.construct
        .. (r.delivered and " (sent to its agent)" or "")
    end)
end

return M
